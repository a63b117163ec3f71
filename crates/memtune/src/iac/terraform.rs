//! Terraform: `aws_lambda_function` resources (and modules that take a `function_name`), their
//! `memory_size` and `reserved_concurrent_executions`, and the
//! `aws_lambda_provisioned_concurrency_config` resources that refer to them; parsed with
//! hcl-edit for byte spans.

use hcl_edit::expr::Expression;
use hcl_edit::structure::{Block, Body};
use hcl_edit::Span;

use super::template::{
    indentation_at, line_of, line_start, newline, AliasName, Concurrency, EntryStyle, Insertion,
    Memory, Naming, NewConfig, QualifierConfig, Setting, Template, TemplateFunction, Value,
};

/// Lambda's default when `memory_size` is not set.
pub const PLATFORM_DEFAULT_MB: u32 = 128;

/// Where an HCL file does not parse.
#[derive(Debug, Clone, PartialEq)]
pub struct SyntaxError {
    pub line: usize,
    pub message: String,
}

pub fn read(mut template: Template) -> Result<Template, SyntaxError> {
    let body: Body = hcl_edit::parser::parse_body(&template.text).map_err(|e| SyntaxError {
        line: e.location().line(),
        message: e.message().to_string(),
    })?;
    let text = template.text.as_str();
    let others = Others::of(text, &body);
    template.functions = body
        .blocks()
        .filter_map(|block| function(text, block, &others))
        .collect();
    Ok(template)
}

const PROVISIONED_CONFIG: &str = "aws_lambda_provisioned_concurrency_config";

/// The aliases and provisioned concurrency configs of a file, as written.
struct Others {
    /// Label -> (name, function_name), each as written.
    aliases: Vec<(String, String, String)>,
    /// (label, function_name, qualifier as written, level).
    configs: Vec<(String, String, String, Option<Setting>)>,
}

impl Others {
    fn of(text: &str, body: &Body) -> Others {
        let written = |block: &Block, key: &str| {
            block
                .body
                .get_attribute(key)
                .and_then(|a| a.value.span())
                .map(|span| text[span].trim().to_string())
                .unwrap_or_default()
        };
        let mut others = Others {
            aliases: Vec::new(),
            configs: Vec::new(),
        };
        for block in body.blocks() {
            let labels: Vec<&str> = block.labels.iter().map(|l| l.as_str()).collect();
            match (block.ident.as_str(), labels.as_slice()) {
                ("resource", ["aws_lambda_alias", label]) => others.aliases.push((
                    label.to_string(),
                    written(block, "name"),
                    written(block, "function_name"),
                )),
                ("resource", [PROVISIONED_CONFIG, label]) => others.configs.push((
                    label.to_string(),
                    written(block, "function_name"),
                    written(block, "qualifier"),
                    block
                        .body
                        .get_attribute("provisioned_concurrent_executions")
                        .and_then(|a| setting(text, &a.value)),
                )),
                _ => {}
            }
        }
        others
    }

    /// Whether `function_name` as written refers to the function `label` (named `name`).
    fn refers(&self, written: &str, label: &str, name: Option<&str>) -> bool {
        let own = [
            format!("aws_lambda_function.{label}.function_name"),
            format!("aws_lambda_function.{label}.arn"),
        ];
        if own.iter().any(|o| o == written) || name.is_some_and(|n| written == format!("\"{n}\"")) {
            return true;
        }
        written
            .strip_prefix("aws_lambda_alias.")
            .and_then(|rest| rest.strip_suffix(".function_name"))
            .and_then(|alias| self.aliases.iter().find(|a| a.0 == alias))
            .is_some_and(|a| a.2 != written && self.refers(&a.2, label, name))
    }

    /// A qualifier as written: a literal, or an alias resource's literal name.
    fn qualifier(&self, written: &str) -> AliasName {
        let literal = |w: &str| {
            w.strip_prefix('"')
                .and_then(|w| w.strip_suffix('"'))
                .filter(|w| !w.contains("${"))
                .map(str::to_string)
        };
        let via_alias = written
            .strip_prefix("aws_lambda_alias.")
            .and_then(|rest| rest.strip_suffix(".name"))
            .and_then(|alias| self.aliases.iter().find(|a| a.0 == alias))
            .and_then(|a| literal(&a.1));
        literal(written).or(via_alias).map_or(
            AliasName::Expression(written.to_string()),
            AliasName::Literal,
        )
    }

    fn provisioned(&self, text: &str, label: &str, name: Option<&str>, end: usize) -> Concurrency {
        let configs = self
            .configs
            .iter()
            .filter(|c| self.refers(&c.1, label, name))
            .filter_map(|(config, _, qualifier, setting)| {
                Some(QualifierConfig {
                    resource: format!("{PROVISIONED_CONFIG}.{config}"),
                    qualifier: self.qualifier(qualifier),
                    setting: Some(setting.clone()?),
                    insertion: None,
                })
            })
            .collect();
        // A new config goes after the function's block, on the line after its closing brace.
        let offset = text[end..].find('\n').map_or(text.len(), |i| end + i + 1);
        let add = text[end..offset].trim().is_empty().then(|| NewConfig {
            offset,
            line: line_of(text, offset) + 1,
            label: label.to_string(),
            taken: self.configs.iter().map(|c| c.0.clone()).collect(),
            newline: newline(text).into(),
        });
        Concurrency::PerQualifier {
            holder: PROVISIONED_CONFIG,
            configs,
            add,
        }
    }
}

fn function(text: &str, block: &Block, others: &Others) -> Option<TemplateFunction> {
    let labels: Vec<&str> = block.labels.iter().map(|l| l.as_str()).collect();
    let resource = match (block.ident.as_str(), labels.as_slice()) {
        ("resource", ["aws_lambda_function", name]) => format!("aws_lambda_function.{name}"),
        ("module", [name]) if block.body.has_attribute("function_name") => format!("module.{name}"),
        _ => return None,
    };
    let key = labels.last()?.to_string();
    let span = block.span()?;
    let memory = match block.body.get_attribute("memory_size") {
        Some(attr) => Memory::Own(setting(text, &attr.value)?),
        None => Memory::PlatformDefault(PLATFORM_DEFAULT_MB),
    };
    let naming = match block.body.get_attribute("function_name").map(|a| &a.value) {
        Some(Expression::String(s)) => Naming::Explicit(s.value().to_string()),
        _ => Naming::Unknown,
    };
    Some(TemplateFunction {
        provisioned: if block.labels.len() == 2 {
            let name = match &naming {
                Naming::Explicit(n) => Some(n.as_str()),
                _ => None,
            };
            others.provisioned(text, &key, name, span.end)
        } else {
            Concurrency::Elsewhere(
                "a module's provisioned concurrency is set through its inputs".into(),
            )
        },
        resource,
        key,
        line: line_of(text, span.start),
        naming,
        memory,
        insertion: insertion(text, block, span.end),
        reserved: match block.body.get_attribute("reserved_concurrent_executions") {
            Some(attr) => Concurrency::OnFunction(Some(setting(text, &attr.value)?)),
            None => Concurrency::OnFunction(None),
        },
        alias: None,
    })
}

fn setting(text: &str, value: &Expression) -> Option<Setting> {
    let span = value.span()?;
    let written = text[span.clone()].trim();
    let literal = match value {
        Expression::Number(_) => Value::from_scalar(text, span.clone(), written),
        // Terraform converts "512" to a number.
        Expression::String(s) => Value::from_scalar(text, span.clone(), s.value()),
        _ => None,
    };
    Some(Setting {
        line: line_of(text, span.start),
        value: literal.unwrap_or_else(|| Value::Expression(written.to_string())),
    })
}

/// `key = value` on a line of its own before the block's closing brace, at the indentation
/// of the block's first attribute.
fn insertion(text: &str, block: &Block, end: usize) -> Option<Insertion> {
    let close = text[..end].rfind('}')?;
    let at = line_start(text, close);
    if !text[at..close].trim().is_empty() {
        return None;
    }
    let indent = match block.body.attributes().next().and_then(|a| a.key.span()) {
        Some(key) => indentation_at(text, key.start).to_string(),
        None => format!("{}  ", indentation_at(text, close)),
    };
    Some(Insertion {
        offset: at,
        line: line_of(text, at),
        style: EntryStyle::Hcl {
            indent,
            newline: newline(text).into(),
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::iac::template::{AliasName, Format};

    const TF: &str = r#"variable "mem" { default = 512 }

resource "aws_lambda_function" "orders" {
  function_name = "orders-api"
  memory_size   = 256 # tuned
  runtime       = "python3.12"
}

resource "aws_lambda_function" "resize" {
  function_name = "image-${var.env}"
  memory_size   = var.mem
}

resource "aws_lambda_function" "bare" {
  function_name = "bare"
}

resource "aws_s3_bucket" "b" {}
"#;

    fn read_tf(text: &str) -> Template {
        read(Template {
            path: "main.tf".into(),
            text: text.into(),
            format: Format::Terraform,
            functions: vec![],
            defaults: vec![],
        })
        .unwrap()
    }

    #[test]
    fn finds_lambda_resources_and_memory() {
        let t = read_tf(TF);
        assert_eq!(t.functions.len(), 3);
        let Memory::Own(Setting {
            value:
                Value::Literal {
                    number: 256,
                    digits,
                },
            line: 5,
        }) = &t.functions[0].memory
        else {
            panic!("{:?}", t.functions[0].memory)
        };
        assert_eq!(&TF[digits.clone()], "256");
        assert_eq!(t.functions[0].naming, Naming::Explicit("orders-api".into()));
        assert_eq!(t.functions[1].naming, Naming::Unknown);
        assert_eq!(
            t.functions[1].memory,
            Memory::Own(Setting {
                line: 11,
                value: Value::Expression("var.mem".into())
            })
        );
        assert_eq!(t.functions[2].memory, Memory::PlatformDefault(128));
    }

    #[test]
    fn insertion_adds_a_line_before_the_closing_brace() {
        let t = read_tf(TF);
        let ins = t.functions[2].insertion.as_ref().unwrap();
        let mut out = TF.to_string();
        out.insert_str(ins.offset, &ins.entry("memory_size", "1024"));
        assert!(out.contains("  function_name = \"bare\"\n  memory_size = 1024\n}\n"));
        assert!(hcl_edit::parser::parse_body(&out).is_ok());
    }

    #[test]
    fn syntax_errors_have_a_line() {
        let err = read(Template {
            path: "x.tf".into(),
            text: "resource \"a\" \"b\" {\n  x = \n".into(),
            format: Format::Terraform,
            functions: vec![],
            defaults: vec![],
        })
        .unwrap_err();
        assert!(err.line >= 2, "{err:?}");
    }

    #[test]
    fn provisioned_configs_are_found_through_aliases_and_names() {
        let text = r#"resource "aws_lambda_function" "f" {
  function_name = "f-name"
}
resource "aws_lambda_alias" "a" {
  name          = "live"
  function_name = aws_lambda_function.f.arn
}
resource "aws_lambda_provisioned_concurrency_config" "via_alias" {
  function_name                     = aws_lambda_alias.a.function_name
  qualifier                         = aws_lambda_alias.a.name
  provisioned_concurrent_executions = 4
}
resource "aws_lambda_provisioned_concurrency_config" "by_name" {
  function_name                     = "f-name"
  qualifier                         = "blue"
  provisioned_concurrent_executions = 1
}
resource "aws_lambda_provisioned_concurrency_config" "other" {
  function_name                     = "g"
  qualifier                         = "live"
  provisioned_concurrent_executions = 9
}
"#;
        let t = read_tf(text);
        let Concurrency::PerQualifier { configs, add, .. } = &t.functions[0].provisioned else {
            panic!("{:?}", t.functions[0].provisioned)
        };
        let found: Vec<(&str, &AliasName)> = configs
            .iter()
            .map(|c| (c.resource.as_str(), &c.qualifier))
            .collect();
        assert_eq!(
            found,
            [
                (
                    "aws_lambda_provisioned_concurrency_config.via_alias",
                    &AliasName::Literal("live".into())
                ),
                (
                    "aws_lambda_provisioned_concurrency_config.by_name",
                    &AliasName::Literal("blue".into())
                ),
            ]
        );
        let new = add.as_ref().unwrap();
        let mut out = text.to_string();
        let mut taken = new.clone();
        taken.taken.push("f_prod".into());
        assert!(taken.text("prod", 3).contains("\"f_prod_2\""));
        out.insert_str(new.offset, &new.text("prod", 3));
        assert!(out.starts_with("resource \"aws_lambda_function\" \"f\" {\n  function_name = \"f-name\"\n}\n\nresource \"aws_lambda_provisioned_concurrency_config\" \"f_prod\" {\n"), "{out}");
        assert!(hcl_edit::parser::parse_body(&out).is_ok());
    }
}
