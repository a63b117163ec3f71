//! The state directory: it must hold the journals (written before every change) and the
//! history, or a run would fail per function after it started, or lose what it found.

use std::fs::{self, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

use crate::history::History;
use crate::sweep::journal;

/// Every way the state directory can be unusable, each as one line with the fix.
#[derive(Debug, thiserror::Error)]
pub enum StateError {
    #[error("{path} is a file, not a directory: move it away, or point MEMTUNE_STATE_DIR at a directory")]
    NotADirectory { path: PathBuf },
    #[error("cannot write in {path} ({source}): make it writable, or point MEMTUNE_STATE_DIR at a writable directory")]
    NotWritable {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("the history {path} cannot be used ({reason}): move it aside (memtune then starts a new one) or put back a good copy")]
    History { path: PathBuf, reason: String },
}

/// Creates `dir` (and its parents) unless it exists; one line naming the path in the way.
pub fn ensure_dir(dir: &Path) -> Result<(), StateError> {
    // The deepest part of the path that exists is where a problem lies.
    let existing = dir.ancestors().find(|p| p.exists()).unwrap_or(dir);
    if !existing.is_dir() {
        return Err(StateError::NotADirectory {
            path: existing.to_path_buf(),
        });
    }
    fs::create_dir_all(dir).map_err(|source| StateError::NotWritable {
        path: existing.to_path_buf(),
        source,
    })
}

/// The journal directory exists and a file can be written and synced in it.
pub fn check_journals(state_dir: &Path) -> Result<(), StateError> {
    let dir = journal::journal_dir(state_dir);
    ensure_dir(&dir)?;
    let probe = dir.join(format!(
        ".write-check-{}-{:08x}",
        std::process::id(),
        rand::random::<u32>()
    ));
    let written = OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&probe)
        .and_then(|mut f| {
            f.write_all(b"memtune\n")?;
            f.sync_data()
        });
    let _ = fs::remove_file(&probe);
    written.map_err(|source| StateError::NotWritable { path: dir, source })
}

/// The history opens, is memtune's, and can be written.
pub fn check_history(state_dir: &Path) -> Result<(), StateError> {
    ensure_dir(state_dir)?;
    let unusable = |e: crate::history::HistoryError| StateError::History {
        path: crate::history::path_in(state_dir),
        reason: e.reason().to_string(),
    };
    History::open(state_dir)
        .and_then(|h| h.check_writable())
        .map_err(unusable)
}

/// Opens the history for a command that reads or writes it; a history that cannot be used is
/// one line with the fix.
pub fn open_history(state_dir: &Path) -> Result<History, StateError> {
    ensure_dir(state_dir)?;
    History::open(state_dir).map_err(|e| StateError::History {
        path: crate::history::path_in(state_dir),
        reason: e.reason().to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_in_place_of_the_directory_is_named() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("state");
        fs::write(&file, "x").unwrap();
        for (checked, result) in [
            ("journals", check_journals(&file)),
            ("history", check_history(&file)),
            ("journals below", check_journals(&file.join("deeper"))),
        ] {
            let e = result.unwrap_err();
            assert!(
                matches!(&e, StateError::NotADirectory { path } if *path == file),
                "{checked}: {e}"
            );
            assert!(e.to_string().contains("is a file, not a directory"), "{e}");
        }
    }

    #[test]
    fn a_corrupt_history_is_one_line_naming_it() {
        let dir = tempfile::tempdir().unwrap();
        let path = crate::history::path_in(dir.path());
        fs::write(
            &path,
            "this is not a database, it is a shopping list ".repeat(100),
        )
        .unwrap();
        let e = check_history(dir.path()).unwrap_err();
        let line = e.to_string();
        assert!(
            line.starts_with(&format!("the history {} cannot be used", path.display())),
            "{line}"
        );
        assert!(!line.contains('\n'));
    }

    #[test]
    fn a_usable_state_directory_passes_and_keeps_no_check_file() {
        let dir = tempfile::tempdir().unwrap();
        check_journals(dir.path()).unwrap();
        check_history(dir.path()).unwrap();
        let left: Vec<_> = fs::read_dir(journal::journal_dir(dir.path()))
            .unwrap()
            .collect();
        assert!(left.is_empty(), "{left:?}");
    }
}
