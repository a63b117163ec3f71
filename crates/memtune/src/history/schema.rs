//! The history database's schema, as numbered migrations. `PRAGMA user_version` holds how
//! many have run; each runs once, in its own transaction. Append new migrations; never edit
//! one that has shipped.

use rusqlite::Connection;

const MIGRATIONS: &[&str] = &[
    // 1: runs, functions per run, per-size samples, recommendations, applied changes.
    "
    CREATE TABLE runs (
        id TEXT PRIMARY KEY,
        started_at TEXT NOT NULL,
        finished_at TEXT,
        -- running | finished | interrupted | failed
        status TEXT NOT NULL,
        pid INTEGER NOT NULL,
        region TEXT NOT NULL,
        config_path TEXT NOT NULL,
        config_sha256 TEXT NOT NULL,
        functions INTEGER NOT NULL DEFAULT 0,
        recommended INTEGER NOT NULL DEFAULT 0,
        skipped INTEGER NOT NULL DEFAULT 0,
        failed INTEGER NOT NULL DEFAULT 0,
        invocations INTEGER NOT NULL DEFAULT 0,
        gb_seconds REAL NOT NULL DEFAULT 0,
        usd REAL NOT NULL DEFAULT 0,
        wall_s REAL NOT NULL DEFAULT 0
    );
    CREATE TABLE functions (
        run_id TEXT NOT NULL REFERENCES runs(id),
        name TEXT NOT NULL,
        arn TEXT NOT NULL,
        code_sha256 TEXT NOT NULL,
        memory_mb INTEGER NOT NULL,
        architecture TEXT NOT NULL,
        runtime TEXT,
        payload_sha256 TEXT,
        -- the configuration as discovered (FunctionConfig)
        config_json TEXT NOT NULL,
        -- recommended | skipped | failed
        status TEXT NOT NULL,
        reason TEXT,
        PRIMARY KEY (run_id, name)
    );
    CREATE INDEX functions_by_name ON functions(name);
    CREATE TABLE samples (
        run_id TEXT NOT NULL REFERENCES runs(id),
        function TEXT NOT NULL,
        memory_mb INTEGER NOT NULL,
        invocations INTEGER NOT NULL,
        successes INTEGER NOT NULL,
        cold_starts INTEGER NOT NULL,
        p50_ms REAL,
        p90_ms REAL,
        p99_ms REAL,
        trimmed_mean_ms REAL,
        cv REAL,
        mean_billed_ms REAL,
        max_memory_used_mb INTEGER,
        cost_per_invocation_usd REAL,
        cost_ci95_low_usd REAL,
        cost_ci95_high_usd REAL,
        feasible INTEGER NOT NULL,
        PRIMARY KEY (run_id, function, memory_mb)
    );
    CREATE TABLE recommendations (
        run_id TEXT NOT NULL REFERENCES runs(id),
        function TEXT NOT NULL,
        current_memory_mb INTEGER NOT NULL,
        memory_mb INTEGER NOT NULL,
        cost_per_million_usd REAL NOT NULL,
        p99_ms REAL,
        confidence REAL,
        monthly_savings_usd REAL,
        -- the FunctionDocument, as `recommend --format json` prints it
        document_json TEXT NOT NULL,
        PRIMARY KEY (run_id, function)
    );
    CREATE INDEX recommendations_by_function ON recommendations(function);
    CREATE TABLE applied_changes (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        run_id TEXT NOT NULL REFERENCES runs(id),
        function TEXT NOT NULL,
        -- update | alias
        method TEXT NOT NULL,
        alias TEXT,
        previous_version TEXT,
        published_version TEXT,
        before_memory_mb INTEGER NOT NULL,
        before_revision_id TEXT NOT NULL,
        after_memory_mb INTEGER NOT NULL,
        after_revision_id TEXT NOT NULL,
        applied_at TEXT NOT NULL,
        rolled_back_at TEXT
    );
    CREATE INDEX applied_by_run ON applied_changes(run_id);
    ",
    // 2: the finished run's fleet JSON, so `memtune report --run ID` renders it again.
    "ALTER TABLE runs ADD COLUMN report_json TEXT;",
    // 3: provisioned concurrency changes (method 'provisioned'): the alias's level before and
    // after, NULL for none.
    "ALTER TABLE applied_changes ADD COLUMN provisioned_before INTEGER;
     ALTER TABLE applied_changes ADD COLUMN provisioned_after INTEGER;",
    // 4: results stream here as each function finishes and the report is rendered from them:
    // a function's place in the run's order and its result as the fleet JSON has it (its
    // document, apply outcome, account and region); the run's report_json is then the run
    // without its functions. The role a `[[target]]` run acted as, for `rollback`.
    "ALTER TABLE functions ADD COLUMN position INTEGER;
     ALTER TABLE functions ADD COLUMN result_json TEXT;
     ALTER TABLE runs ADD COLUMN role_json TEXT;",
];

/// The schema version this memtune writes.
pub const VERSION: usize = MIGRATIONS.len();

#[derive(Debug, thiserror::Error)]
pub enum MigrateError {
    #[error(transparent)]
    Sqlite(#[from] rusqlite::Error),
    #[error(
        "schema version {found} is newer than this memtune knows ({VERSION}): upgrade memtune"
    )]
    Newer { found: usize },
}

/// Brings the database up to [`VERSION`].
pub fn migrate(conn: &mut Connection) -> Result<(), MigrateError> {
    let found = conn.pragma_query_value(None, "user_version", |r| r.get::<_, i64>(0))? as usize;
    if found > VERSION {
        return Err(MigrateError::Newer { found });
    }
    for (i, sql) in MIGRATIONS.iter().enumerate().skip(found) {
        let tx = conn.transaction()?;
        tx.execute_batch(sql)?;
        tx.pragma_update(None, "user_version", (i + 1) as i64)?;
        tx.commit()?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn version(conn: &Connection) -> usize {
        conn.pragma_query_value(None, "user_version", |r| r.get::<_, i64>(0))
            .unwrap() as usize
    }

    #[test]
    fn migrations_run_once_and_set_the_version() {
        let mut conn = Connection::open_in_memory().unwrap();
        assert_eq!(version(&conn), 0);
        migrate(&mut conn).unwrap();
        assert_eq!(version(&conn), VERSION);
        conn.execute(
            "INSERT INTO runs (id, started_at, status, pid, region, config_path, config_sha256)
             VALUES ('r1', 't', 'running', 1, 'us-east-1', 'f.toml', 'x')",
            [],
        )
        .unwrap();
        // A second open migrates nothing and keeps the data.
        migrate(&mut conn).unwrap();
        let n: i64 = conn
            .query_row("SELECT COUNT(*) FROM runs", [], |r| r.get(0))
            .unwrap();
        assert_eq!(n, 1);
    }

    #[test]
    fn a_newer_schema_is_refused() {
        let mut conn = Connection::open_in_memory().unwrap();
        conn.pragma_update(None, "user_version", VERSION as i64 + 1)
            .unwrap();
        let err = migrate(&mut conn).unwrap_err();
        assert!(err.to_string().contains("upgrade memtune"), "{err}");
    }
}
