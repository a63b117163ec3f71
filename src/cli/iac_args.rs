//! What `patch` and `check` share: the run JSON, the template paths and a mapping file.

use std::path::{Path, PathBuf};

use clap::Args;

use super::CliError;
use memtune::iac::matching::{assign, Assignment, Mapping};
use memtune::iac::template::Template;
use memtune::iac::{load, run, LoadError};

#[derive(Debug, Args)]
pub struct IacArgs {
    /// Templates, or directories to search for them (template.yaml, *.json, serverless.yml, *.tf).
    #[arg(required = true, value_name = "PATH")]
    paths: Vec<PathBuf>,
    /// TOML: "deployed-name" = "path/to/template:ResourceKey", for names no rule matches.
    #[arg(long, value_name = "FILE")]
    mapping: Option<PathBuf>,
}

/// The templates and where each recommendation lands.
pub struct Matched {
    pub templates: Vec<Template>,
    /// The run's memory recommendations (none without a run).
    pub assignment: Assignment,
    pub mapping: Mapping,
    /// Files found in directories that are not templates.
    pub skipped: Vec<LoadError>,
    pub without_recommendation: usize,
}

impl IacArgs {
    /// The templates, the run `from` (a `memtune fleet --format json` run or a `memtune
    /// recommend --format json` document) when given, and the mapping.
    pub fn read(&self, from: Option<&Path>) -> Result<Matched, CliError> {
        let run = match from {
            None => run::RunRecommendations::default(),
            Some(path) => {
                let from = path.display();
                let text = std::fs::read_to_string(path)
                    .map_err(|e| CliError::usage(format!("--from {from}: cannot read: {e}")))?;
                run::read(&text).map_err(|e| CliError::usage(format!("--from {from}: {e}")))?
            }
        };
        let mapping = match &self.mapping {
            None => Mapping::default(),
            Some(path) => {
                let text = std::fs::read_to_string(path).map_err(|e| {
                    CliError::usage(format!("--mapping {}: cannot read: {e}", path.display()))
                })?;
                Mapping::parse(&text)
                    .map_err(|e| CliError::usage(format!("--mapping {}: {e}", path.display())))?
            }
        };
        let loaded = load(&self.paths).map_err(|e| CliError::usage(e.to_string()))?;
        let assignment = assign(&loaded.templates, &run.recommendations, &mapping);
        Ok(Matched {
            templates: loaded.templates,
            assignment,
            mapping,
            skipped: loaded.skipped,
            without_recommendation: run.without_recommendation,
        })
    }
}
