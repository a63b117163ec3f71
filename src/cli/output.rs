//! The one output vocabulary: `--format FORMAT` says how, `-o, --output FILE` says where
//! (stdout without it), `--out-dir DIR` names a directory. A value in the wrong place (a
//! format given as a file, a file given as a format) is an error, not a file named `json`.

use std::path::{Path, PathBuf};

use clap::{Args, ValueEnum};

use super::CliError;

/// Words people write for a format; as a bare `-o` value they are a mistake.
const FORMAT_WORDS: [&str; 8] = [
    "table", "json", "markdown", "md", "html", "csv", "text", "txt",
];

/// `-o, --output FILE`.
#[derive(Debug, Clone, Default, Args)]
pub struct OutputFile {
    /// Write to FILE instead of stdout.
    #[arg(short = 'o', long = "output", value_name = "FILE")]
    pub path: Option<PathBuf>,
}

impl OutputFile {
    /// `-o json` and the like: a format where a file is expected.
    pub fn check(&self) -> Result<(), CliError> {
        self.path.as_deref().map_or(Ok(()), check_file)
    }

    /// Writes `text` to the file, or prints it.
    pub fn write(&self, text: &str) -> Result<(), CliError> {
        match &self.path {
            Some(path) => write_file(path, text),
            None => {
                print!("{text}");
                Ok(())
            }
        }
    }
}

/// A file argument that is a format's name (`json`) is a mistake for `--format`.
pub fn check_file(path: &Path) -> Result<(), CliError> {
    let text = path.to_string_lossy();
    if FORMAT_WORDS.contains(&text.to_ascii_lowercase().as_str()) {
        return Err(CliError::usage(format!(
            "-o {text} looks like a format: write --format {text} (-o takes a file, \
             e.g. -o report.{ext}; -o ./{text} for a file of that name)",
            ext = if text == "markdown" { "md" } else { &text },
        )));
    }
    Ok(())
}

fn write_file(path: &Path, text: &str) -> Result<(), CliError> {
    std::fs::write(path, text)
        .map_err(|e| CliError::usage(format!("-o: cannot write {}: {e}", path.display())))
}

/// The `--format` value parser: a format's name; a file name gets a hint to use `-o`.
pub fn format<F: ValueEnum + Clone + Send + Sync + 'static>(value: &str) -> Result<F, String> {
    if let Ok(found) = F::from_str(value, true) {
        return Ok(found);
    }
    let names: Vec<String> = F::value_variants()
        .iter()
        .filter_map(|v| v.to_possible_value().map(|p| p.get_name().to_string()))
        .collect();
    if value.contains(['.', '/', '\\']) {
        Err(format!(
            "{value} looks like a file: write -o {value} (--format takes {})",
            names.join(", ")
        ))
    } else {
        Err(format!("unknown format: one of {}", names.join(", ")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, Clone, Copy, PartialEq, ValueEnum)]
    enum Two {
        Table,
        Json,
    }

    fn file(path: &str) -> OutputFile {
        OutputFile {
            path: Some(path.into()),
        }
    }

    #[test]
    fn a_format_word_as_a_file_is_refused_and_a_path_is_not() {
        let e = file("json").check().unwrap_err();
        assert_eq!(e.code, 2);
        assert!(e.message.contains("write --format json"), "{}", e.message);
        assert!(file("Markdown").check().is_err());
        for ok in ["run.json", "./json", "out/json", "report"] {
            assert!(file(ok).check().is_ok(), "{ok}");
        }
        assert!(OutputFile::default().check().is_ok());
    }

    #[test]
    fn a_file_as_a_format_says_to_use_dash_o() {
        assert_eq!(format::<Two>("JSON"), Ok(Two::Json));
        let e = format::<Two>("run.json").unwrap_err();
        assert_eq!(
            e,
            "run.json looks like a file: write -o run.json (--format takes table, json)"
        );
        assert_eq!(
            format::<Two>("xml").unwrap_err(),
            "unknown format: one of table, json"
        );
    }
}
