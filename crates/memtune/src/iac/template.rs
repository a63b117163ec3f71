//! What every template format reduces to: the functions a file defines, where each one's
//! memory is set (its own setting, a shared default it inherits, or the platform default),
//! where its provisioned and reserved concurrency are set, and where a per-function setting
//! could be added.

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
        self.key(Kind::Memory)
    }

    /// The key that holds a setting's number in this format.
    pub fn key(self, kind: Kind) -> &'static str {
        use Format::*;
        match (kind, self) {
            (Kind::Memory, CloudFormationYaml | CloudFormationJson) => "MemorySize",
            (Kind::Memory, Serverless) => "memorySize",
            (Kind::Memory, Terraform) => "memory_size",
            (Kind::Provisioned, CloudFormationYaml | CloudFormationJson) => {
                "ProvisionedConcurrentExecutions"
            }
            (Kind::Provisioned, Serverless) => "provisionedConcurrency",
            (Kind::Provisioned, Terraform) => "provisioned_concurrent_executions",
            (Kind::Reserved, CloudFormationYaml | CloudFormationJson) => {
                "ReservedConcurrentExecutions"
            }
            (Kind::Reserved, Serverless) => "reservedConcurrency",
            (Kind::Reserved, Terraform) => "reserved_concurrent_executions",
        }
    }
}

/// A per-function setting `memtune patch` writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Kind {
    Memory,
    Provisioned,
    Reserved,
}

impl Kind {
    /// `n` as a report writes it: `512 MB`, `provisioned concurrency 5`.
    pub fn amount(self, n: u32) -> String {
        match self {
            Kind::Memory => format!("{n} MB"),
            Kind::Provisioned => format!("provisioned concurrency {n}"),
            Kind::Reserved => format!("reserved concurrency {n}"),
        }
    }

    /// A change as a report writes it: `256 -> 1024 MB`, `provisioned concurrency 2 -> 5`.
    pub fn change(self, old: u32, new: u32) -> String {
        match self {
            Kind::Memory => format!("{old} -> {new} MB"),
            Kind::Provisioned => format!("provisioned concurrency {old} -> {new}"),
            Kind::Reserved => format!("reserved concurrency {old} -> {new}"),
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
    /// Where a per-function line goes (memory, concurrency) when it has none of its own.
    pub insertion: Option<Insertion>,
    pub provisioned: Concurrency,
    pub reserved: Concurrency,
    /// The alias a deploy points at the new version (SAM `AutoPublishAlias`, the Serverless
    /// Framework's `provisioned` alias), which provisioned concurrency applies to.
    pub alias: Option<AliasName>,
}

/// Where a function's concurrency setting is written.
#[derive(Debug, Clone, PartialEq)]
pub enum Concurrency {
    /// On the function itself; `None` when not set.
    OnFunction(Option<Setting>),
    /// In resources of their own, one per qualifier: Terraform
    /// `aws_lambda_provisioned_concurrency_config`s (and where a new one goes), CloudFormation
    /// `AWS::Lambda::Alias`es.
    PerQualifier {
        /// What holds it: `aws_lambda_provisioned_concurrency_config`, `AWS::Lambda::Alias`.
        holder: &'static str,
        configs: Vec<QualifierConfig>,
        add: Option<NewConfig>,
    },
    /// Not where `memtune patch` can write it; why.
    Elsewhere(String),
}

#[derive(Debug, Clone, PartialEq)]
pub struct QualifierConfig {
    /// `aws_lambda_provisioned_concurrency_config.orders_live`, `OrdersLiveAlias`.
    pub resource: String,
    pub qualifier: AliasName,
    /// `None`: an alias without provisioned concurrency, which can be added at `insertion`.
    pub setting: Option<Setting>,
    pub insertion: Option<Insertion>,
}

/// A new Terraform config resource after the function's block.
#[derive(Debug, Clone, PartialEq)]
pub struct NewConfig {
    pub offset: usize,
    /// The line its `resource` line will have.
    pub line: usize,
    /// The function's resource label.
    pub label: String,
    /// Labels config resources already have in the file.
    pub taken: Vec<String>,
    pub newline: String,
}

impl NewConfig {
    pub fn text(&self, alias: &str, level: u32) -> String {
        let nl = &self.newline;
        let base = format!("{}_{}", self.label, alias.replace('-', "_"));
        let label = (1..)
            .map(|n| match n {
                1 => base.clone(),
                n => format!("{base}_{n}"),
            })
            .find(|l| !self.taken.contains(l))
            .unwrap_or(base);
        format!(
            "{nl}resource \"aws_lambda_provisioned_concurrency_config\" \"{label}\" {{{nl}  function_name                     = aws_lambda_function.{}.function_name{nl}  qualifier                         = \"{alias}\"{nl}  provisioned_concurrent_executions = {level}{nl}}}{nl}",
            self.label
        )
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum AliasName {
    Literal(String),
    /// A parameter or expression, as written.
    Expression(String),
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

/// A setting's value as written.
#[derive(Debug, Clone, PartialEq)]
pub struct Setting {
    pub line: usize,
    pub value: Value,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// A number; `digits` is the byte range of just the digits (no quotes, tags or anchors).
    Literal { number: u32, digits: Range<usize> },
    /// A parameter, variable, alias or expression, as written (`!Ref MemoryParam`).
    Expression(String),
}

/// Where and how a per-function entry is inserted, in the surrounding map's style.
#[derive(Debug, Clone, PartialEq)]
pub struct Insertion {
    pub offset: usize,
    /// The line the inserted text will have.
    pub line: usize,
    pub style: EntryStyle,
}

#[derive(Debug, Clone, PartialEq)]
pub enum EntryStyle {
    /// A YAML block map: `<indent>key: value<newline>`.
    Block { indent: String, newline: String },
    /// A YAML flow map or a JSON object: `key: value` then `separator` (`, ` or a comma,
    /// newline and the next entry's indentation).
    Flow { json: bool, separator: String },
    /// An HCL body: `<indent>key = value<newline>`.
    Hcl { indent: String, newline: String },
}

impl Insertion {
    /// `key: value` (or `key = value`) as an entry of its own.
    pub fn entry(&self, key: &str, value: &str) -> String {
        match &self.style {
            EntryStyle::Block { indent, newline } => format!("{indent}{key}: {value}{newline}"),
            EntryStyle::Flow { json, separator } => {
                format!("{}: {value}{separator}", quoted(key, *json))
            }
            EntryStyle::Hcl { indent, newline } => format!("{indent}{key} = {value}{newline}"),
        }
    }

    /// `key` holding a map of one `inner: value` entry.
    pub fn nested(&self, key: &str, inner: &str, value: &str) -> String {
        match &self.style {
            EntryStyle::Block { indent, newline } => {
                format!("{indent}{key}:{newline}{indent}  {inner}: {value}{newline}")
            }
            EntryStyle::Flow { json, separator } => format!(
                "{}: {{{}: {value}}}{separator}",
                quoted(key, *json),
                quoted(inner, *json)
            ),
            EntryStyle::Hcl { indent, newline } => {
                format!("{indent}{key} {{{newline}{indent}  {inner} = {value}{newline}{indent}}}{newline}")
            }
        }
    }
}

fn quoted(key: &str, json: bool) -> String {
    if json {
        format!("\"{key}\"")
    } else {
        key.to_string()
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
            Value::Literal { number, .. } => Some(*number),
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
            number: mb,
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
        let Value::Literal { number: mb, digits } = v else {
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
