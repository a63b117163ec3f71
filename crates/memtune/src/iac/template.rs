//! What every template format reduces to: the functions a file defines, where each one's
//! memory is set (its own setting, a shared default it inherits, or the platform default), and
//! where a per-function setting could be added.

use std::ops::Range;
use std::path::PathBuf;

/// One parsed template file.
#[derive(Debug, Clone, PartialEq)]
pub struct Template {
    pub path: PathBuf,
    pub text: String,
    pub format: Format,
    pub functions: Vec<TemplateFunction>,
    /// Defaults functions inherit (`Globals.Function.MemorySize`, `provider.memorySize`).
    pub defaults: Vec<SharedDefault>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    CloudFormationYaml,
    CloudFormationJson,
    Serverless,
    Terraform,
}

impl Format {
    /// The memory key as written in this format.
    pub fn memory_key(self) -> &'static str {
        match self {
            Format::CloudFormationYaml | Format::CloudFormationJson => "MemorySize",
            Format::Serverless => "memorySize",
            Format::Terraform => "memory_size",
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct TemplateFunction {
    /// How a reader finds it: `OrdersFunction`, `functions.orders`, `aws_lambda_function.orders`.
    pub resource: String,
    /// What a mapping file names it by: the logical id, serverless function key or Terraform
    /// resource label.
    pub key: String,
    pub line: usize,
    pub naming: Naming,
    pub memory: Memory,
    /// Where a per-function memory line goes when it has none of its own.
    pub insertion: Option<Insertion>,
}

/// How the deployed function's name follows from the template.
#[derive(Debug, Clone, PartialEq)]
pub enum Naming {
    /// `FunctionName`, `function_name` or serverless `name` as a literal.
    Explicit(String),
    /// CloudFormation generates `<stack>-<LogicalId>-<suffix>`.
    CloudFormation,
    /// Serverless Framework deploys `<service>-<stage>-<key>`.
    Serverless { service: Option<String> },
    /// `!Sub "${AWS::StackName}-orders"`: the deployed name once the stack is known (from the
    /// deployed function's `aws:cloudformation:stack-name` tag, in the run).
    StackName(String),
    /// Named by an expression memtune cannot evaluate: only the key or a mapping matches.
    Unknown,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Memory {
    Own(Setting),
    /// Index into [`Template::defaults`].
    Inherited(usize),
    /// Nothing set: the platform's default applies.
    PlatformDefault(u32),
}

#[derive(Debug, Clone, PartialEq)]
pub struct SharedDefault {
    /// `Globals.Function.MemorySize`, `provider.memorySize`.
    pub name: String,
    pub setting: Setting,
}

/// A memory value as written.
#[derive(Debug, Clone, PartialEq)]
pub struct Setting {
    pub line: usize,
    pub value: Value,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// A number; `digits` is the byte range of just the digits (no quotes, tags or anchors).
    Literal { mb: u32, digits: Range<usize> },
    /// A parameter, variable, alias or expression, as written (`!Ref MemoryParam`).
    Expression(String),
}

/// Text to insert at `offset` for a per-function setting: `before` + MB + `after`.
#[derive(Debug, Clone, PartialEq)]
pub struct Insertion {
    pub offset: usize,
    /// The line the inserted text will have.
    pub line: usize,
    pub before: String,
    pub after: String,
}

impl Insertion {
    pub fn text(&self, mb: u32) -> String {
        format!("{}{mb}{}", self.before, self.after)
    }
}

impl Template {
    /// The memory a function runs with according to the file, with the line that sets it.
    pub fn effective<'a>(
        &'a self,
        function: &'a TemplateFunction,
    ) -> (Option<&'a Setting>, Option<u32>) {
        match &function.memory {
            Memory::Own(s) => (Some(s), s.value.literal()),
            Memory::Inherited(i) => {
                let s = &self.defaults[*i].setting;
                (Some(s), s.value.literal())
            }
            Memory::PlatformDefault(mb) => (None, Some(*mb)),
        }
    }
}

impl Value {
    pub fn literal(&self) -> Option<u32> {
        match self {
            Value::Literal { mb, .. } => Some(*mb),
            Value::Expression(_) => None,
        }
    }

    /// A number from the text of a scalar: the digits' range within `range`, when the text is
    /// (possibly quoted) decimal digits.
    pub fn from_scalar(text: &str, range: Range<usize>, value: &str) -> Option<Value> {
        let mb: u32 = value
            .parse()
            .ok()
            .filter(|_| value.bytes().all(|b| b.is_ascii_digit()))?;
        // The range may start with an anchor (`&m 512`) or a quote: the digits come last.
        let at = text[range.clone()].rfind(value)?;
        let start = range.start + at;
        Some(Value::Literal {
            mb,
            digits: start..start + value.len(),
        })
    }
}

/// The indentation (spaces and tabs) that starts the line containing `offset`.
pub fn indentation_at(text: &str, offset: usize) -> &str {
    let line_start = text[..offset].rfind('\n').map_or(0, |i| i + 1);
    let line = &text[line_start..];
    let width = line.len() - line.trim_start_matches([' ', '\t']).len();
    &line[..width]
}

/// The byte offset where the line containing `offset` starts.
pub fn line_start(text: &str, offset: usize) -> usize {
    text[..offset].rfind('\n').map_or(0, |i| i + 1)
}

/// The file's line ending, for inserted lines.
pub fn newline(text: &str) -> &'static str {
    if text.contains("\r\n") {
        "\r\n"
    } else {
        "\n"
    }
}

/// 1-based line number of a byte offset.
pub fn line_of(text: &str, offset: usize) -> usize {
    text[..offset].bytes().filter(|&b| b == b'\n').count() + 1
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digits_are_found_inside_quotes_and_after_anchors() {
        let text = "a: &m1 \"512\"";
        let v = Value::from_scalar(text, 3..text.len(), "512").unwrap();
        let Value::Literal { mb, digits } = v else {
            panic!()
        };
        assert_eq!(mb, 512);
        assert_eq!(&text[digits], "512");
        assert_eq!(Value::from_scalar("a: 1e3", 3..6, "1e3"), None);
        assert_eq!(Value::from_scalar("a: -5", 3..5, "-5"), None);
    }

    #[test]
    fn indentation_and_lines() {
        let text = "a:\n    b: 1\n";
        assert_eq!(indentation_at(text, 9), "    ");
        assert_eq!(line_start(text, 9), 3);
        assert_eq!(line_of(text, 9), 2);
    }
}
