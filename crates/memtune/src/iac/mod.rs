//! Infrastructure-as-code templates: find where each deployed function's memory is set (SAM,
//! CloudFormation YAML/JSON, Serverless Framework, Terraform), patch it to a run's
//! recommendation with surgical byte-range edits, or check it against the recommendation.
//!
//! Stages: [`load`] files into [`template::Template`]s, read the run ([`run`]), match deployed
//! functions to template functions ([`matching`]), then [`plan`] the edits or [`check`] them.

pub mod check;
pub mod cloudformation;
pub mod edit;
pub mod levels;
pub mod matching;
pub mod plan;
pub mod run;
pub mod serverless;
pub mod template;
pub mod terraform;
pub mod yaml_tree;

use std::fmt;
use std::path::{Path, PathBuf};

use template::{Format, Template};

/// A file that cannot be read or parsed, with the line when known.
#[derive(Debug, Clone, PartialEq)]
pub struct LoadError {
    pub path: PathBuf,
    pub line: Option<usize>,
    pub message: String,
}

impl fmt::Display for LoadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.line {
            Some(line) => write!(f, "{}:{line}: {}", self.path.display(), self.message),
            None => write!(f, "{}: {}", self.path.display(), self.message),
        }
    }
}

/// The templates under the given paths. A file given by name must be a template; files found
/// by walking a directory that are not templates (or do not parse) are skipped and listed.
pub fn load(paths: &[PathBuf]) -> Result<Loaded, LoadError> {
    let mut loaded = Loaded::default();
    for path in paths {
        if path.is_dir() {
            for file in walk(path).map_err(|e| io_error(path, e))? {
                match load_file(&file) {
                    Ok(t) => loaded.templates.push(t),
                    Err(e) => loaded.skipped.push(e),
                }
            }
        } else {
            loaded.templates.push(load_file(path)?);
        }
    }
    Ok(loaded)
}

#[derive(Debug, Default)]
pub struct Loaded {
    pub templates: Vec<Template>,
    /// Files found in directories that are not templates.
    pub skipped: Vec<LoadError>,
}

/// One template file, its format told by its name and content.
pub fn load_file(path: &Path) -> Result<Template, LoadError> {
    let text = std::fs::read_to_string(path).map_err(|e| io_error(path, e))?;
    parse(path, text)
}

/// A template from its text; `path` tells Terraform files apart and names it in messages.
pub fn parse(path: &Path, text: String) -> Result<Template, LoadError> {
    let empty = |format| Template {
        path: path.to_path_buf(),
        text: String::new(),
        format,
        functions: Vec::new(),
        defaults: Vec::new(),
    };
    if path.extension().is_some_and(|e| e == "tf") {
        return terraform::read(Template {
            text,
            ..empty(Format::Terraform)
        })
        .map_err(|e| LoadError {
            path: path.to_path_buf(),
            line: Some(e.line),
            message: format!("not valid HCL: {}", e.message),
        });
    }
    let root = yaml_tree::parse(&text).map_err(|e| LoadError {
        path: path.to_path_buf(),
        line: Some(e.line),
        message: format!("not valid YAML/JSON: {}", e.message),
    })?;
    let json = text.trim_start().starts_with('{');
    if cloudformation::is_template(&root) {
        let format = if json {
            Format::CloudFormationJson
        } else {
            Format::CloudFormationYaml
        };
        Ok(cloudformation::read(
            Template {
                text,
                ..empty(format)
            },
            &root,
        ))
    } else if serverless::is_service(&root) {
        Ok(serverless::read(
            Template {
                text,
                ..empty(Format::Serverless)
            },
            &root,
        ))
    } else {
        Err(LoadError {
            path: path.to_path_buf(),
            line: None,
            message: "not a SAM/CloudFormation template (no Resources), a serverless.yml (no service and functions) or a Terraform .tf file".into(),
        })
    }
}

fn io_error(path: &Path, e: std::io::Error) -> LoadError {
    LoadError {
        path: path.to_path_buf(),
        line: None,
        message: format!("cannot read: {e}"),
    }
}

/// Template-looking files under `dir`, sorted, skipping hidden directories, `node_modules`
/// and build output.
fn walk(dir: &Path) -> std::io::Result<Vec<PathBuf>> {
    let mut files = Vec::new();
    let mut entries: Vec<_> = std::fs::read_dir(dir)?.collect::<Result<_, _>>()?;
    entries.sort_by_key(|e| e.path());
    for entry in entries {
        let path = entry.path();
        let name = entry.file_name().to_string_lossy().into_owned();
        if entry.file_type()?.is_dir() {
            if !name.starts_with('.') && name != "node_modules" && name != "cdk.out" {
                files.extend(walk(&path)?);
            }
        } else if [".tf", ".yml", ".yaml", ".json", ".template"]
            .iter()
            .any(|ext| name.ends_with(ext))
        {
            files.push(path);
        }
    }
    Ok(files)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tells_formats_apart_and_rejects_other_files() {
        let t = |name: &str, text: &str| parse(Path::new(name), text.to_string());
        let sam = "Resources:\n  F:\n    Type: AWS::Serverless::Function\n";
        assert_eq!(
            t("template.yaml", sam).unwrap().format,
            Format::CloudFormationYaml
        );
        let json = r#"{"Resources": {}}"#;
        assert_eq!(
            t("serverless.template", json).unwrap().format,
            Format::CloudFormationJson
        );
        let sls = "service: s\nfunctions:\n  a:\n    handler: h\n";
        assert_eq!(t("serverless.yml", sls).unwrap().format, Format::Serverless);
        assert_eq!(t("main.tf", "").unwrap().format, Format::Terraform);
        let err = t("package.json", r#"{"name": "x"}"#).unwrap_err();
        assert!(err.message.contains("not a SAM"), "{err}");
        let err = t("bad.yaml", "a: [1,\n").unwrap_err();
        assert!(err.to_string().starts_with("bad.yaml:"), "{err}");
    }
}
