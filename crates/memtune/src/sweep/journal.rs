//! The write-ahead journal of every change memtune makes to a function.
//!
//! Each (run, function) gets one JSON-lines file in the state directory. An intent line is
//! written and synced BEFORE each mutation, so after any crash (kill -9, power loss)
//! `memtune restore` knows what may have changed and can put it back.

use std::fs::{self, File, OpenOptions};
use std::io::{BufRead, BufReader, ErrorKind, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::platform::assume::AssumedRole;
use crate::platform::{AliasInfo, BehaviourSettings, FunctionConfig, VersionWeights};

/// Everything in a configuration that changes how the function behaves, as memtune read it
/// before changing anything. While it samples, memtune stops at any difference (someone else
/// is changing the function); restoring looks at memory alone and names the rest as kept.
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
    /// None in journals written before memtune read these settings.
    #[serde(default)]
    pub settings: Option<Settings>,
}

/// The settings beyond memory, timeout, code and runtime that change behaviour.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Settings {
    #[serde(flatten)]
    pub behaviour: BehaviourSettings,
    pub system_log_level: Option<String>,
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
            settings: Some(Settings {
                behaviour: c.settings.clone(),
                system_log_level: c.system_log_level.clone(),
            }),
        }
    }

    /// The settings (by their Lambda names) in which `c` differs from this, memory and
    /// RevisionId aside.
    pub fn differences(&self, c: &FunctionConfig) -> Vec<&'static str> {
        let now = Fingerprint::of(c);
        let mut changed = Vec::new();
        let mut check = |name: &'static str, differs: bool| {
            if differs && !changed.contains(&name) {
                changed.push(name);
            }
        };
        check("Code", self.code_sha256 != now.code_sha256);
        check("Timeout", self.timeout_s != now.timeout_s);
        check("Architectures", self.architecture != now.architecture);
        check("Runtime", self.runtime != now.runtime);
        check("Description", self.description != now.description);
        check("LoggingConfig", self.log_format != now.log_format);
        if let (Some(was_all), Some(is_all)) = (&self.settings, &now.settings) {
            let (was, is) = (&was_all.behaviour, &is_all.behaviour);
            check("Handler", was.handler != is.handler);
            check("Role", was.role != is.role);
            check(
                "Environment",
                was.environment_sha256 != is.environment_sha256,
            );
            check("Layers", was.layers != is.layers);
            check("VpcConfig", was.vpc != is.vpc);
            check(
                "EphemeralStorage",
                was.ephemeral_storage_mb != is.ephemeral_storage_mb,
            );
            check("SnapStart", was.snap_start != is.snap_start);
            check("ImageConfig", was.image_config != is.image_config);
            check("TracingConfig", was.tracing_mode != is.tracing_mode);
            check("FileSystemConfigs", was.file_systems != is.file_systems);
            check(
                "LoggingConfig",
                was_all.system_log_level != is_all.system_log_level
                    || was.application_log_level != is.application_log_level,
            );
        }
        changed
    }

    /// Everything but memory and revision is as it was.
    pub fn same_apart_from_memory(&self, c: &FunctionConfig) -> bool {
        self.differences(c).is_empty()
    }
}

/// Where an alias sends its invocations: the version it points at and the additional
/// version weights of its routing configuration (empty: none).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AliasRoute {
    pub version: String,
    #[serde(default)]
    pub weights: VersionWeights,
}

impl AliasRoute {
    pub fn of(alias: &AliasInfo) -> AliasRoute {
        AliasRoute {
            version: alias.function_version.clone(),
            weights: alias.routing.clone(),
        }
    }
}

/// One journal line.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum Entry {
    Begin {
        run_id: String,
        function: String,
        /// The function's ARN (its account and region); absent in older journals.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        arn: Option<String>,
        /// The role the run acted as (a `[[target]]`); restore assumes it too.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        role: Option<AssumedRole>,
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
    /// About to set an alias's provisioned concurrency (`to` None: remove it); `from` is
    /// what the alias had just before.
    IntendProvisioned {
        alias: String,
        from: Option<u32>,
        to: Option<u32>,
    },
    /// About to change an alias's routing (a canary's share of its traffic); `from` is what
    /// the alias had just before.
    IntendRouting {
        alias: String,
        from: AliasRoute,
        to: AliasRoute,
    },
    /// $LATEST has its original memory again.
    Restored,
    /// memtune left the function as someone else changed it.
    LeftAlone {
        reason: String,
    },
    /// About to create this journal's function as a temporary copy of `source`; restoring
    /// deletes the whole function and `log_group`.
    IntendClone {
        source: String,
        log_group: String,
    },
    /// The copy and its log group are gone.
    CloneDeleted,
    /// About to put the copy's package in S3 (it is too large for CreateFunction inline);
    /// restoring deletes the object.
    IntendStage {
        bucket: String,
        key: String,
    },
    /// The staged package is gone.
    StageDeleted,
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
    /// None in journals written before memtune recorded it.
    pub arn: Option<String>,
    pub role: Option<AssumedRole>,
    pub region: Option<String>,
    pub endpoint_url: Option<String>,
    pub pid: u32,
    pub original: Fingerprint,
    /// Memory sizes memtune may have set on $LATEST.
    pub intended_memory: Vec<u32>,
    /// Versions memtune created and has not deleted yet.
    pub created_versions: Vec<String>,
    /// The run put the original memory back after its last change of memory.
    pub memory_restored: bool,
    /// The provisioned concurrency the run set on an alias, if it set any.
    pub provisioned: Option<ProvisionedIntents>,
    /// The function is this run's temporary copy of another, with this log group: restoring
    /// deletes both.
    pub clone: Option<CloneOf>,
    /// The routing the run set on an alias, if it set any.
    pub routing: Option<RoutingIntents>,
    /// The S3 object the run staged the copy's package in, if it staged one.
    pub staged: Option<StagedPackage>,
    pub done: bool,
}

/// A package staged in S3 for a copy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StagedPackage {
    pub bucket: String,
    pub key: String,
    pub deleted: bool,
}

impl StagedPackage {
    pub fn url(&self) -> String {
        format!("s3://{}/{}", self.bucket, self.key)
    }
}

/// What a run did to one alias's routing.
#[derive(Debug, Clone, PartialEq)]
pub struct RoutingIntents {
    pub alias: String,
    /// The routing as the run found it.
    pub original: AliasRoute,
    /// The original and every routing the run may have set.
    pub ours: Vec<AliasRoute>,
}

/// What a run did to one alias's provisioned concurrency.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProvisionedIntents {
    pub alias: String,
    /// What the alias had before the run (None: no provisioned concurrency).
    pub original: Option<u32>,
    /// The original and every level the run may have set.
    pub ours: Vec<Option<u32>>,
}

/// What a journal of a temporary copy says about it.
#[derive(Debug, Clone, PartialEq)]
pub struct CloneOf {
    pub source: String,
    pub log_group: String,
    pub deleted: bool,
}

impl JournalState {
    /// Whether the run may have changed $LATEST's memory or published versions (a run that
    /// set provisioned concurrency alone did neither).
    pub fn touches_memory(&self) -> bool {
        self.intended_memory
            .iter()
            .any(|m| *m != self.original.memory_mb)
            || !self.created_versions.is_empty()
    }

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

pub fn journal_dir(state: &Path) -> PathBuf {
    state.join("journal")
}

/// Between the run id and the function in a journal's file name (`RUN--FUNCTION.jsonl`); run
/// ids never contain it.
const NAME_SEPARATOR: &str = "--";

/// A function name as it appears in a journal's file name.
fn file_safe(function: &str) -> String {
    function
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect()
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
        Journal::create_as(state, run_id, original, region, endpoint_url, None)
    }

    /// [`Journal::create`] for a run that acts as `role`.
    pub fn create_as(
        state: &Path,
        run_id: &str,
        original: &FunctionConfig,
        region: Option<String>,
        endpoint_url: Option<String>,
        role: Option<AssumedRole>,
    ) -> std::io::Result<Journal> {
        let dir = journal_dir(state);
        fs::create_dir_all(&dir)?;
        let path = dir.join(format!(
            "{run_id}{NAME_SEPARATOR}{}.jsonl",
            file_safe(&original.name)
        ));
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
            arn: Some(original.arn.clone()).filter(|a| !a.is_empty()),
            role,
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

/// Reads a journal back. A torn last line (crash mid-write) is ignored; a first line that is
/// not a begin line makes the whole journal unreadable (InvalidData): without it memtune
/// cannot tell which function it was nor how it was.
pub fn read(path: &Path) -> std::io::Result<JournalState> {
    let file = File::open(path)?;
    let mut state: Option<JournalState> = None;
    for (i, line) in BufReader::new(file).lines().enumerate() {
        let line = line?;
        let parsed = serde_json::from_str::<Entry>(&line);
        if i == 0 && !matches!(parsed, Ok(Entry::Begin { .. })) {
            let why = match parsed {
                Ok(_) => "it is not a begin line".to_string(),
                Err(e) => e.to_string(),
            };
            return Err(std::io::Error::new(
                ErrorKind::InvalidData,
                format!("its first line is not memtune's begin line: {why}"),
            ));
        }
        let Ok(entry) = parsed else {
            continue;
        };
        match (entry, state.as_mut()) {
            (
                Entry::Begin {
                    run_id,
                    function,
                    arn,
                    role,
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
                    arn,
                    role,
                    region,
                    endpoint_url,
                    pid,
                    intended_memory: vec![original.memory_mb],
                    original: *original,
                    created_versions: Vec::new(),
                    memory_restored: false,
                    provisioned: None,
                    clone: None,
                    routing: None,
                    staged: None,
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
                if memory_mb != s.original.memory_mb {
                    s.memory_restored = false;
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
            (Entry::IntendProvisioned { alias, from, to }, Some(s)) => {
                let intents = s.provisioned.get_or_insert_with(|| ProvisionedIntents {
                    alias,
                    original: from,
                    ours: vec![from],
                });
                for level in [from, to] {
                    if !intents.ours.contains(&level) {
                        intents.ours.push(level);
                    }
                }
            }
            (Entry::IntendRouting { alias, from, to }, Some(s)) => {
                let intents = s.routing.get_or_insert_with(|| RoutingIntents {
                    alias,
                    original: from.clone(),
                    ours: vec![from.clone()],
                });
                for route in [from, to] {
                    if !intents.ours.contains(&route) {
                        intents.ours.push(route);
                    }
                }
            }
            (Entry::Done, Some(s)) => s.done = true,
            (Entry::Restored, Some(s)) => s.memory_restored = true,
            (Entry::LeftAlone { .. }, Some(_)) => {}
            (Entry::IntendClone { source, log_group }, Some(s)) => {
                s.clone = Some(CloneOf {
                    source,
                    log_group,
                    deleted: false,
                })
            }
            (Entry::CloneDeleted, Some(s)) => {
                if let Some(c) = s.clone.as_mut() {
                    c.deleted = true;
                }
            }
            (Entry::IntendStage { bucket, key }, Some(s)) => {
                s.staged = Some(StagedPackage {
                    bucket,
                    key,
                    deleted: false,
                })
            }
            (Entry::StageDeleted, Some(s)) => {
                if let Some(p) = s.staged.as_mut() {
                    p.deleted = true;
                }
            }
        }
    }
    state.ok_or_else(|| {
        std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            format!("{} has no begin line", path.display()),
        )
    })
}

/// A journal memtune cannot read back, so it cannot tell what that run changed.
#[derive(Debug, Clone, PartialEq)]
pub struct Unreadable {
    pub path: PathBuf,
    /// The run and the function (file-safe) as the file's name gives them, when it does.
    pub run_id: Option<String>,
    function: Option<String>,
    pub reason: String,
}

impl Unreadable {
    fn of(path: PathBuf, reason: String) -> Unreadable {
        let stem = path.file_stem().and_then(|s| s.to_str()).unwrap_or("");
        let (run_id, function) = match stem.split_once(NAME_SEPARATOR) {
            Some((run, function)) if !run.is_empty() && !function.is_empty() => {
                (Some(run.to_string()), Some(function.to_string()))
            }
            _ => (None, None),
        };
        Unreadable {
            path,
            run_id,
            function,
            reason,
        }
    }

    /// Whether it may be a journal of `function`: its file name says so, or says nothing.
    pub fn may_be_of(&self, function: &str) -> bool {
        self.function
            .as_deref()
            .is_none_or(|f| f == file_safe(function))
    }

    /// One line: what is wrong and what to do.
    pub fn describe(&self) -> String {
        let function = self.function.as_deref().unwrap_or("its function");
        let versions = match &self.run_id {
            Some(run) => format!(" and no version described {}*", description_prefix(run)),
            None => String::new(),
        };
        format!(
            "journal {} cannot be read ({}): memtune cannot tell what that run changed; check {function} by hand (the memory you want{versions}), then delete the file",
            self.path.display(),
            self.reason
        )
    }
}

/// The journals in the state directory that are not done: those read back, and those that
/// cannot be.
#[derive(Debug, Default)]
pub struct Journals {
    pub unfinished: Vec<JournalState>,
    pub unreadable: Vec<Unreadable>,
}

/// Reads every journal in the state directory that is not done. An empty file is one another
/// sweep is creating (its begin line comes before any change), not a journal yet.
pub fn scan(state: &Path) -> std::io::Result<Journals> {
    let dir = journal_dir(state);
    let mut out = Journals::default();
    if !dir.exists() {
        return Ok(out);
    }
    for entry in fs::read_dir(dir)? {
        let path = entry?.path();
        if path.extension().is_none_or(|e| e != "jsonl") {
            continue;
        }
        let empty = fs::metadata(&path).is_ok_and(|m| m.is_file() && m.len() == 0);
        match read(&path) {
            Ok(s) if !s.done => out.unfinished.push(s),
            Ok(_) => {}
            // Just archived by the run that wrote it.
            Err(e) if e.kind() == ErrorKind::NotFound => {}
            Err(_) if empty => {}
            Err(e) => out.unreadable.push(Unreadable::of(path, e.to_string())),
        }
    }
    out.unfinished.sort_by(|a, b| a.path.cmp(&b.path));
    out.unreadable.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(out)
}

/// All journals in the state directory that are not done and can be read.
pub fn unfinished(state: &Path) -> std::io::Result<Vec<JournalState>> {
    scan(state).map(|j| j.unfinished)
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
    use crate::platform::ImageSettings;

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
    fn replays_provisioned_concurrency_intents() {
        let dir = tempfile::tempdir().unwrap();
        let mut j = Journal::create(dir.path(), "run5", &config(), None, None).unwrap();
        assert!(j.state().unwrap().provisioned.is_none());
        j.write(&Entry::IntendProvisioned {
            alias: "live".into(),
            from: None,
            to: Some(5),
        })
        .unwrap();
        j.write(&Entry::IntendProvisioned {
            alias: "live".into(),
            from: Some(5),
            to: None,
        })
        .unwrap();
        let s = j.state().unwrap();
        let p = s.provisioned.as_ref().unwrap();
        assert_eq!((p.alias.as_str(), p.original), ("live", None));
        assert_eq!(p.ours, [None, Some(5)]);
        assert!(!s.touches_memory());
    }

    #[test]
    fn replays_routing_intents_from_the_first_routing_found() {
        let dir = tempfile::tempdir().unwrap();
        let mut j = Journal::create(dir.path(), "run6", &config(), None, None).unwrap();
        let route = |version: &str, weights: &[(&str, f64)]| AliasRoute {
            version: version.into(),
            weights: weights.iter().map(|(v, w)| (v.to_string(), *w)).collect(),
        };
        let found = route("7", &[]);
        let canary = route("7", &[("9", 0.05)]);
        for (from, to) in [(&found, &canary), (&canary, &found)] {
            j.write(&Entry::IntendRouting {
                alias: "live".into(),
                from: from.clone(),
                to: to.clone(),
            })
            .unwrap();
        }
        j.write(&Entry::Published {
            version: "9".into(),
            memory_mb: 1024,
            created: true,
        })
        .unwrap();
        let s = j.state().unwrap();
        let r = s.routing.as_ref().unwrap();
        assert_eq!((r.alias.as_str(), &r.original), ("live", &found));
        assert_eq!(r.ours, [found, canary]);
        // A canary's version stays this run's to delete.
        assert_eq!(s.created_versions, ["9"]);
    }

    #[test]
    fn memory_counts_as_restored_only_after_the_last_change() {
        let dir = tempfile::tempdir().unwrap();
        let mut j = Journal::create(dir.path(), "run4", &config(), None, None).unwrap();
        j.write(&Entry::IntendUpdate { memory_mb: 1024 }).unwrap();
        assert!(!j.state().unwrap().memory_restored);
        // The intent to put the original back is not yet the restoring.
        j.write(&Entry::IntendUpdate { memory_mb: 512 }).unwrap();
        assert!(!j.state().unwrap().memory_restored);
        j.write(&Entry::Restored).unwrap();
        assert!(j.state().unwrap().memory_restored);
        j.write(&Entry::IntendUpdate { memory_mb: 2048 }).unwrap();
        assert!(!j.state().unwrap().memory_restored);
    }

    #[test]
    fn a_journal_still_being_created_is_not_unfinished() {
        let dir = tempfile::tempdir().unwrap();
        fs::create_dir_all(journal_dir(dir.path())).unwrap();
        File::create(journal_dir(dir.path()).join("run3--orders.jsonl")).unwrap();
        assert!(unfinished(dir.path()).unwrap().is_empty());
    }

    #[test]
    fn a_journal_whose_first_line_is_unreadable_is_listed_as_such() {
        let dir = tempfile::tempdir().unwrap();
        let j = Journal::create(dir.path(), "run4", &config(), None, None).unwrap();
        let path = j.path().to_path_buf();
        drop(j);
        let text = fs::read_to_string(&path).unwrap();
        fs::write(&path, format!("#garbage\n{text}")).unwrap();
        let found = scan(dir.path()).unwrap();
        assert!(found.unfinished.is_empty());
        let [bad] = found.unreadable.as_slice() else {
            panic!("{:?}", found.unreadable)
        };
        assert_eq!(bad.path, path);
        assert_eq!(bad.run_id.as_deref(), Some("run4"));
        assert!(bad.may_be_of("orders"));
        assert!(!bad.may_be_of("billing"));
        let line = bad.describe();
        assert!(line.contains(&path.display().to_string()), "{line}");
        assert!(line.contains("memtune:run4:*"), "{line}");
    }

    #[test]
    fn an_unreadable_journal_with_a_foreign_name_may_be_of_any_function() {
        let dir = tempfile::tempdir().unwrap();
        fs::create_dir_all(journal_dir(dir.path())).unwrap();
        fs::write(journal_dir(dir.path()).join("odd.jsonl"), "{").unwrap();
        let found = scan(dir.path()).unwrap();
        assert!(found.unreadable[0].may_be_of("anything"));
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

    #[test]
    fn fingerprint_names_every_behaviour_setting_that_changed() {
        let original = Fingerprint::of(&config());
        type Edit = fn(&mut FunctionConfig);
        let edits: [(&str, Edit); 12] = [
            ("Handler", |c| {
                c.settings.handler = Some("other.handler".into())
            }),
            ("Role", |c| {
                c.settings.role = "arn:aws:iam::123456789012:role/other".into()
            }),
            ("Environment", |c| {
                c.settings.environment_sha256 = crate::platform::environment_digest([("A", "1")])
            }),
            ("Layers", |c| c.settings.layers = vec!["arn:layer:1".into()]),
            ("VpcConfig", |c| {
                c.settings.vpc.subnet_ids = vec!["subnet-1".into()]
            }),
            ("EphemeralStorage", |c| {
                c.settings.ephemeral_storage_mb = 1024
            }),
            ("SnapStart", |c| {
                c.settings.snap_start = "PublishedVersions".into()
            }),
            ("ImageConfig", |c| {
                c.settings.image_config = Some(ImageSettings {
                    command: vec!["app.handler".into()],
                    ..ImageSettings::default()
                })
            }),
            ("TracingConfig", |c| {
                c.settings.tracing_mode = "Active".into()
            }),
            ("FileSystemConfigs", |c| {
                c.settings.file_systems = vec!["arn:efs=/mnt/efs".into()]
            }),
            ("LoggingConfig", |c| {
                c.system_log_level = Some("WARN".into())
            }),
            ("Timeout", |c| c.timeout_s = 99),
        ];
        for (name, edit) in edits {
            let mut c = config();
            edit(&mut c);
            assert_eq!(original.differences(&c), [name]);
        }
    }

    #[test]
    fn a_journal_from_before_the_settings_were_read_compares_what_it_has() {
        let mut line = serde_json::to_value(Fingerprint::of(&config())).unwrap();
        line.as_object_mut().unwrap().remove("settings");
        let old: Fingerprint = serde_json::from_value(line).unwrap();
        let mut c = config();
        c.settings.layers = vec!["arn:layer:1".into()];
        assert!(old.differences(&c).is_empty());
        c.timeout_s = 99;
        assert_eq!(old.differences(&c), ["Timeout"]);
    }
}
