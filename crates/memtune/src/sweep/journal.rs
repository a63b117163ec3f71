//! The write-ahead journal of every change memtune makes to a function.
//!
//! Each (run, function) gets one JSON-lines file in the state directory. An intent line is
//! written and synced BEFORE each mutation, so after any crash (kill -9, power loss)
//! `memtune restore` knows what may have changed and can put it back.

use std::fs::{self, File, OpenOptions};
use std::io::{BufRead, BufReader, ErrorKind, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::platform::FunctionConfig;

/// The parts of a configuration memtune must find unchanged before it restores memory: if any
/// differ, someone else changed the function and memtune leaves it alone.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Fingerprint {
    pub memory_mb: u32,
    pub timeout_s: u32,
    pub code_sha256: String,
    pub architecture: String,
    pub runtime: Option<String>,
    pub description: String,
    pub log_format: String,
    pub revision_id: String,
}

impl Fingerprint {
    pub fn of(c: &FunctionConfig) -> Fingerprint {
        Fingerprint {
            memory_mb: c.memory_mb,
            timeout_s: c.timeout_s,
            code_sha256: c.code_sha256.clone(),
            architecture: c.architecture.clone(),
            runtime: c.runtime.clone(),
            description: c.description.clone(),
            log_format: c.log_format.clone(),
            revision_id: c.revision_id.clone(),
        }
    }

    /// Everything but memory and revision is as it was.
    pub fn same_apart_from_memory(&self, c: &FunctionConfig) -> bool {
        let now = Fingerprint::of(c);
        Fingerprint {
            memory_mb: self.memory_mb,
            revision_id: self.revision_id.clone(),
            ..now
        } == *self
    }
}

/// One journal line.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum Entry {
    Begin {
        run_id: String,
        function: String,
        region: Option<String>,
        endpoint_url: Option<String>,
        pid: u32,
        original: Box<Fingerprint>,
        at: String,
    },
    /// About to set $LATEST's memory.
    IntendUpdate {
        memory_mb: u32,
    },
    /// About to publish a version with this description.
    IntendPublish {
        memory_mb: u32,
        description: String,
    },
    /// A version exists; `created` is false when Lambda handed back an existing version
    /// (one memtune must never delete).
    Published {
        version: String,
        memory_mb: u32,
        created: bool,
    },
    Deleted {
        version: String,
    },
    /// About to point an alias at a version this run published: from then on the version
    /// serves the alias and is no longer this run's to delete.
    IntendAlias {
        alias: String,
        from_version: String,
        to_version: String,
    },
    /// $LATEST has its original memory again.
    Restored,
    /// memtune left the function as someone else changed it.
    LeftAlone {
        reason: String,
    },
    /// Nothing of this run remains on the function.
    Done,
}

/// A journal being written.
#[derive(Debug)]
pub struct Journal {
    path: PathBuf,
    file: File,
    pub run_id: String,
    pub function: String,
}

/// A journal as read back.
#[derive(Debug, Clone, PartialEq)]
pub struct JournalState {
    pub path: PathBuf,
    pub run_id: String,
    pub function: String,
    pub region: Option<String>,
    pub endpoint_url: Option<String>,
    pub pid: u32,
    pub original: Fingerprint,
    /// Memory sizes memtune may have set on $LATEST.
    pub intended_memory: Vec<u32>,
    /// Versions memtune created and has not deleted yet.
    pub created_versions: Vec<String>,
    pub done: bool,
}

impl JournalState {
    /// Every version this run publishes carries this description prefix.
    pub fn description_prefix(&self) -> String {
        description_prefix(&self.run_id)
    }
}

pub fn description_prefix(run_id: &str) -> String {
    format!("memtune:{run_id}:")
}

/// `MEMTUNE_STATE_DIR`, else the platform state directory (`~/.local/state/memtune`).
/// The journal id under which a run's apply step (auto-apply) journals its changes; its
/// sweeps use the run id itself.
pub fn apply_run_id(run_id: &str) -> String {
    format!("{run_id}-apply")
}

/// A new run id: the UTC start time and a random suffix (`20261127-031500-3fa2`), sortable.
pub fn new_run_id() -> String {
    format!(
        "{}-{:04x}",
        chrono::Utc::now().format("%Y%m%d-%H%M%S"),
        rand::random::<u16>()
    )
}

pub fn state_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("MEMTUNE_STATE_DIR").filter(|d| !d.is_empty()) {
        return PathBuf::from(dir);
    }
    dirs::state_dir()
        .or_else(dirs::data_local_dir)
        .unwrap_or_else(std::env::temp_dir)
        .join("memtune")
}

fn journal_dir(state: &Path) -> PathBuf {
    state.join("journal")
}

impl Journal {
    /// Creates the journal of one function in one run and writes its `Begin` line.
    pub fn create(
        state: &Path,
        run_id: &str,
        original: &FunctionConfig,
        region: Option<String>,
        endpoint_url: Option<String>,
    ) -> std::io::Result<Journal> {
        let dir = journal_dir(state);
        fs::create_dir_all(&dir)?;
        let safe_name: String = original
            .name
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                    c
                } else {
                    '_'
                }
            })
            .collect();
        let path = dir.join(format!("{run_id}--{safe_name}.jsonl"));
        let file = OpenOptions::new()
            .create_new(true)
            .append(true)
            .open(&path)?;
        let mut journal = Journal {
            path,
            file,
            run_id: run_id.to_string(),
            function: original.name.clone(),
        };
        journal.write(&Entry::Begin {
            run_id: run_id.to_string(),
            function: original.name.clone(),
            region,
            endpoint_url,
            pid: std::process::id(),
            original: Box::new(Fingerprint::of(original)),
            at: chrono::Utc::now().to_rfc3339(),
        })?;
        Ok(journal)
    }

    /// Opens an existing journal to append to it (restore after a crash).
    pub fn reopen(path: &Path) -> std::io::Result<Journal> {
        let state = read(path)?;
        let file = OpenOptions::new().append(true).open(path)?;
        Ok(Journal {
            path: path.to_path_buf(),
            file,
            run_id: state.run_id,
            function: state.function,
        })
    }

    /// Appends a line and syncs it to disk before returning.
    pub fn write(&mut self, entry: &Entry) -> std::io::Result<()> {
        let mut line = serde_json::to_string(entry).map_err(std::io::Error::other)?;
        line.push('\n');
        let file = &mut self.file;
        off_the_executor(|| {
            file.write_all(line.as_bytes())?;
            file.sync_data()
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn state(&self) -> std::io::Result<JournalState> {
        read(&self.path)
    }
}

/// Runs blocking file work (an fsync takes milliseconds) so that, on a multi-threaded tokio
/// runtime, the worker's other tasks move to another thread meanwhile: a fleet run keeps its
/// other sweeps going, and their fsyncs overlap.
fn off_the_executor<T>(f: impl FnOnce() -> T) -> T {
    use tokio::runtime::{Handle, RuntimeFlavor};
    match Handle::try_current() {
        Ok(h) if h.runtime_flavor() == RuntimeFlavor::MultiThread => tokio::task::block_in_place(f),
        _ => f(),
    }
}

/// Reads a journal back. A torn last line (crash mid-write) is ignored.
pub fn read(path: &Path) -> std::io::Result<JournalState> {
    let file = File::open(path)?;
    let mut state: Option<JournalState> = None;
    for line in BufReader::new(file).lines() {
        let line = line?;
        let Ok(entry) = serde_json::from_str::<Entry>(&line) else {
            continue;
        };
        match (entry, state.as_mut()) {
            (
                Entry::Begin {
                    run_id,
                    function,
                    region,
                    endpoint_url,
                    pid,
                    original,
                    ..
                },
                None,
            ) => {
                state = Some(JournalState {
                    path: path.to_path_buf(),
                    run_id,
                    function,
                    region,
                    endpoint_url,
                    pid,
                    intended_memory: vec![original.memory_mb],
                    original: *original,
                    created_versions: Vec::new(),
                    done: false,
                })
            }
            (_, None) => {}
            (Entry::Begin { .. }, Some(_)) => {}
            (Entry::IntendUpdate { memory_mb }, Some(s))
            | (Entry::IntendPublish { memory_mb, .. }, Some(s)) => {
                if !s.intended_memory.contains(&memory_mb) {
                    s.intended_memory.push(memory_mb);
                }
            }
            (
                Entry::Published {
                    version, created, ..
                },
                Some(s),
            ) => {
                if created && !s.created_versions.contains(&version) {
                    s.created_versions.push(version);
                }
            }
            (Entry::Deleted { version }, Some(s))
            | (
                Entry::IntendAlias {
                    to_version: version,
                    ..
                },
                Some(s),
            ) => s.created_versions.retain(|v| *v != version),
            (Entry::Done, Some(s)) => s.done = true,
            (Entry::Restored | Entry::LeftAlone { .. }, Some(_)) => {}
        }
    }
    state.ok_or_else(|| {
        std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            format!("{} has no begin line", path.display()),
        )
    })
}

/// All journals in the state directory that are not done.
pub fn unfinished(state: &Path) -> std::io::Result<Vec<JournalState>> {
    let dir = journal_dir(state);
    if !dir.exists() {
        return Ok(Vec::new());
    }
    let mut out = Vec::new();
    for entry in fs::read_dir(dir)? {
        let path = entry?.path();
        if path.extension().is_some_and(|e| e == "jsonl") {
            match read(&path) {
                Ok(s) if !s.done => out.push(s),
                Ok(_) => {}
                // Another sweep is creating it (no begin line yet, so nothing was changed)
                // or has just archived it.
                Err(e) if matches!(e.kind(), ErrorKind::InvalidData | ErrorKind::NotFound) => {}
                Err(e) => return Err(e),
            }
        }
    }
    out.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(out)
}

/// Moves a finished journal into `journal/done/`, where it stays as an audit trail.
pub fn archive(state: &JournalState) -> std::io::Result<()> {
    let Some(parent) = state.path.parent() else {
        return Ok(());
    };
    let done = parent.join("done");
    fs::create_dir_all(&done)?;
    let name = state.path.file_name().unwrap_or_default();
    fs::rename(&state.path, done.join(name))
}

/// Whether a process with this pid is alive (another memtune still working).
pub fn process_alive(pid: u32) -> bool {
    if pid == std::process::id() {
        return true;
    }
    Path::new(&format!("/proc/{pid}")).exists()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config() -> FunctionConfig {
        FunctionConfig {
            arn: "arn".into(),
            code_sha256: "sha".into(),
            ..FunctionConfig::sample("orders", 512)
        }
    }

    #[test]
    fn replays_intents_versions_and_deletions() {
        let dir = tempfile::tempdir().unwrap();
        let mut j = Journal::create(dir.path(), "run1", &config(), None, None).unwrap();
        j.write(&Entry::IntendUpdate { memory_mb: 1024 }).unwrap();
        j.write(&Entry::Published {
            version: "3".into(),
            memory_mb: 1024,
            created: true,
        })
        .unwrap();
        j.write(&Entry::Published {
            version: "1".into(),
            memory_mb: 512,
            created: false,
        })
        .unwrap();
        j.write(&Entry::IntendUpdate { memory_mb: 2048 }).unwrap();
        j.write(&Entry::Published {
            version: "4".into(),
            memory_mb: 2048,
            created: true,
        })
        .unwrap();
        j.write(&Entry::Deleted {
            version: "3".into(),
        })
        .unwrap();
        let s = j.state().unwrap();
        assert_eq!(s.intended_memory, [512, 1024, 2048]);
        assert_eq!(s.created_versions, ["4"]);
        assert!(!s.done);
        assert_eq!(unfinished(dir.path()).unwrap().len(), 1);
        j.write(&Entry::Done).unwrap();
        assert!(unfinished(dir.path()).unwrap().is_empty());
    }

    #[test]
    fn a_journal_still_being_created_is_not_unfinished() {
        let dir = tempfile::tempdir().unwrap();
        fs::create_dir_all(journal_dir(dir.path())).unwrap();
        File::create(journal_dir(dir.path()).join("run3--orders.jsonl")).unwrap();
        assert!(unfinished(dir.path()).unwrap().is_empty());
    }

    #[test]
    fn a_torn_last_line_is_ignored() {
        let dir = tempfile::tempdir().unwrap();
        let j = Journal::create(dir.path(), "run2", &config(), None, None).unwrap();
        let path = j.path().to_path_buf();
        drop(j);
        let mut f = OpenOptions::new().append(true).open(&path).unwrap();
        f.write_all(b"{\"event\":\"intend_upd").unwrap();
        assert_eq!(read(&path).unwrap().intended_memory, [512]);
    }

    #[test]
    fn fingerprint_ignores_memory_and_revision_only() {
        let original = Fingerprint::of(&config());
        let mut c = config();
        c.memory_mb = 2048;
        c.revision_id = "r9".into();
        assert!(original.same_apart_from_memory(&c));
        c.code_sha256 = "new code".into();
        assert!(!original.same_apart_from_memory(&c));
    }
}
