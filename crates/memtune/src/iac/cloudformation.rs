//! AWS SAM and CloudFormation templates, YAML or JSON: `AWS::Serverless::Function` and
//! `AWS::Lambda::Function` resources, their `Properties.MemorySize`, and SAM's
//! `Globals.Function.MemorySize` that serverless functions inherit; `ReservedConcurrentExecutions`,
//! and a SAM function's `ProvisionedConcurrencyConfig` with the `AutoPublishAlias` it applies to.

use super::template::{
    indentation_at, line_start, newline, AliasName, Concurrency, EntryStyle, Format, Insertion,
    Memory, Naming, QualifierConfig, Setting, SharedDefault, Template, TemplateFunction, Value,
};
use super::yaml_tree::{Map, Node};

/// Lambda's default when a template sets no memory.
pub const PLATFORM_DEFAULT_MB: u32 = 128;
const SERVERLESS_FUNCTION: &str = "AWS::Serverless::Function";
const LAMBDA_FUNCTION: &str = "AWS::Lambda::Function";

/// Whether a parsed document is a CloudFormation or SAM template.
pub fn is_template(root: &Node) -> bool {
    root.as_map()
        .and_then(|m| m.get("Resources"))
        .is_some_and(|r| r.as_map().is_some())
}

/// The functions of a CloudFormation/SAM template (`root` parsed from `template.text`).
pub fn read(mut template: Template, root: &Node) -> Template {
    let text = template.text.as_str();
    let root = root.as_map();
    let global_function = root
        .and_then(|m| m.get("Globals"))
        .and_then(Node::as_map)
        .and_then(|g| g.get("Function"))
        .and_then(Node::as_map);
    let globals = global_function
        .and_then(|f| f.get("MemorySize"))
        .map(|node| SharedDefault {
            name: "Globals.Function.MemorySize".into(),
            setting: setting(text, node),
        });
    let resources = root.and_then(|m| m.get("Resources")).and_then(Node::as_map);
    let aliases = aliases(text, resources, template.format);
    let mut functions = Vec::new();
    for (key, resource) in resources.map(|r| r.entries.as_slice()).unwrap_or_default() {
        let (Some(logical_id), Some(resource)) = (key.as_str(), resource.as_map()) else {
            continue;
        };
        let kind = resource.get("Type").and_then(Node::as_str);
        if kind != Some(SERVERLESS_FUNCTION) && kind != Some(LAMBDA_FUNCTION) {
            continue;
        }
        let properties = resource.get("Properties").and_then(Node::as_map);
        let own = properties.and_then(|p| p.get("MemorySize").or_else(|| p.get("<<")));
        let memory = match (own, &globals) {
            (Some(node), _) => Memory::Own(setting(text, node)),
            (None, Some(_)) if kind == Some(SERVERLESS_FUNCTION) => Memory::Inherited(0),
            (None, _) => Memory::PlatformDefault(PLATFORM_DEFAULT_MB),
        };
        let naming = match properties.and_then(|p| p.get("FunctionName")) {
            None => Naming::CloudFormation,
            Some(name) => naming(name),
        };
        let sam = kind == Some(SERVERLESS_FUNCTION);
        let own = |key: &str| properties.and_then(|p| p.get(key));
        let global = |key: &str| global_function.filter(|_| sam).and_then(|g| g.get(key));
        let provisioned = if sam {
            provisioned(text, own(PROVISIONED_CONFIG), global(PROVISIONED_CONFIG))
        } else {
            Concurrency::PerQualifier {
                holder: LAMBDA_ALIAS,
                configs: aliases
                    .iter()
                    .filter(|(target, _)| target == logical_id)
                    .map(|(_, config)| config.clone())
                    .collect(),
                add: None,
            }
        };
        let reserved = match (own(RESERVED), global(RESERVED)) {
            (Some(node), _) => Concurrency::OnFunction(Some(setting(text, node))),
            (None, Some(node)) => Concurrency::OnFunction(Some(inherited(text, node, RESERVED))),
            (None, None) => Concurrency::OnFunction(None),
        };
        let alias = own(AUTO_PUBLISH_ALIAS)
            .or_else(|| global(AUTO_PUBLISH_ALIAS))
            .map(|node| match node.as_str() {
                Some(name) => AliasName::Literal(name.to_string()),
                None => AliasName::Expression(as_written(&text[node.pos().bytes.clone()])),
            });
        functions.push(TemplateFunction {
            resource: logical_id.to_string(),
            key: logical_id.to_string(),
            line: key.pos().line,
            naming,
            memory,
            insertion: properties.and_then(|p| insertion(text, p, template.format)),
            provisioned,
            reserved,
            alias,
        });
    }
    template.functions = functions;
    template.defaults = globals.into_iter().collect();
    template
}

/// What a `FunctionName` value names: a literal; `!Sub` (or `Fn::Sub`) of a literal, or of
/// a text whose only variable is `${AWS::StackName}`; anything else is an expression.
fn naming(name: &Node) -> Naming {
    if let Some(literal) = name.as_str() {
        return Naming::Explicit(literal.to_string());
    }
    let sub = match name {
        Node::Scalar(s) if s.tag.as_deref() == Some("!Sub") => Some(s.value.as_str()),
        Node::Map(m) if m.entries.len() == 1 => m.get("Fn::Sub").and_then(Node::as_str),
        _ => None,
    };
    let Some(text) = sub else {
        return Naming::Unknown;
    };
    let without_stack = text.replace(STACK_NAME, "");
    if without_stack.contains("${") {
        Naming::Unknown
    } else if text.contains(STACK_NAME) {
        Naming::StackName(text.to_string())
    } else {
        Naming::Explicit(text.to_string())
    }
}

pub const STACK_NAME: &str = "${AWS::StackName}";
const LAMBDA_ALIAS: &str = "AWS::Lambda::Alias";

/// `AWS::Lambda::Alias` resources with the logical id of the function they alias
/// (`FunctionName: !Ref F`, `!GetAtt F.Arn`, or their long forms).
fn aliases(text: &str, resources: Option<&Map>, format: Format) -> Vec<(String, QualifierConfig)> {
    let mut found = Vec::new();
    for (key, resource) in resources.map(|r| r.entries.as_slice()).unwrap_or_default() {
        let (Some(logical_id), Some(resource)) = (key.as_str(), resource.as_map()) else {
            continue;
        };
        if resource.get("Type").and_then(Node::as_str) != Some(LAMBDA_ALIAS) {
            continue;
        }
        let Some(properties) = resource.get("Properties").and_then(Node::as_map) else {
            continue;
        };
        let Some(target) = properties.get("FunctionName").and_then(referenced) else {
            continue;
        };
        let qualifier = match properties.get("Name") {
            Some(node) => match node.as_str() {
                Some(name) => AliasName::Literal(name.to_string()),
                None => AliasName::Expression(as_written(&text[node.pos().bytes.clone()])),
            },
            None => continue,
        };
        let setting = properties.get(PROVISIONED_CONFIG).map(|config| {
            match config
                .as_map()
                .and_then(|m| m.get("ProvisionedConcurrentExecutions"))
            {
                Some(node) => setting(text, node),
                None => Setting {
                    line: config.pos().line,
                    value: Value::Expression(as_written(&text[config.pos().bytes.clone()])),
                },
            }
        });
        found.push((
            target,
            QualifierConfig {
                resource: logical_id.to_string(),
                qualifier,
                setting,
                insertion: insertion(text, properties, format),
            },
        ));
    }
    found
}

/// The logical id a `!Ref F`, `!GetAtt F.Arn`, `{"Ref": "F"}` or `{"Fn::GetAtt": ["F", "Arn"]}`
/// names.
fn referenced(node: &Node) -> Option<String> {
    match node {
        Node::Scalar(s) if s.tag.as_deref() == Some("!Ref") => Some(s.value.clone()),
        Node::Scalar(s) if s.tag.as_deref() == Some("!GetAtt") => {
            s.value.strip_suffix(".Arn").map(str::to_string)
        }
        Node::Map(m) if m.entries.len() == 1 => {
            if let Some(r) = m.get("Ref").and_then(Node::as_str) {
                return Some(r.to_string());
            }
            match m.get("Fn::GetAtt")? {
                Node::Seq(parts) if parts.items.len() == 2 => {
                    let [function, attribute] = [&parts.items[0], &parts.items[1]];
                    (attribute.as_str()? == "Arn").then(|| function.as_str().map(str::to_string))?
                }
                Node::Scalar(s) => s.value.strip_suffix(".Arn").map(str::to_string),
                _ => None,
            }
        }
        _ => None,
    }
}
pub const PROVISIONED_CONFIG: &str = "ProvisionedConcurrencyConfig";
pub const AUTO_PUBLISH_ALIAS: &str = "AutoPublishAlias";
const RESERVED: &str = "ReservedConcurrentExecutions";

/// A SAM function's `ProvisionedConcurrencyConfig.ProvisionedConcurrentExecutions`, its own or
/// from Globals (reported, not patched: other functions share it).
fn provisioned(text: &str, own: Option<&Node>, global: Option<&Node>) -> Concurrency {
    let executions = |config: &Node| {
        let value = config
            .as_map()
            .and_then(|m| m.get("ProvisionedConcurrentExecutions"));
        match value {
            Some(node) => setting(text, node),
            None => Setting {
                line: config.pos().line,
                value: Value::Expression(as_written(&text[config.pos().bytes.clone()])),
            },
        }
    };
    match (own, global) {
        (Some(config), _) => Concurrency::OnFunction(Some(executions(config))),
        (None, Some(config)) => {
            let s = executions(config);
            let written = match &s.value {
                Value::Literal { number, .. } => number.to_string(),
                Value::Expression(e) => e.clone(),
            };
            Concurrency::OnFunction(Some(Setting {
                line: s.line,
                value: Value::Expression(format!(
                    "Globals.Function.{PROVISIONED_CONFIG} = {written}"
                )),
            }))
        }
        (None, None) => Concurrency::OnFunction(None),
    }
}

/// A value from `Globals.Function`, reported rather than patched.
fn inherited(text: &str, node: &Node, key: &str) -> Setting {
    let written = as_written(&text[node.pos().bytes.clone()]);
    Setting {
        line: node.pos().line,
        value: Value::Expression(format!("Globals.Function.{key} = {written}")),
    }
}

/// A memory value node: a literal number, or anything else as written. The value of a merge
/// key (`<<: *defaults`) counts as an expression: the memory may come from the anchor.
pub fn setting(text: &str, node: &Node) -> Setting {
    let pos = node.pos();
    if let Node::Alias(_) | Node::Map(_) = node {
        if is_merge_value(text, node) {
            let written = as_written(&text[pos.bytes.clone()]);
            return Setting {
                line: pos.line,
                value: Value::Expression(format!("a merge key (<<: {written})")),
            };
        }
    }
    let written = &text[pos.bytes.clone()];
    let literal = match node {
        // An anchored number (`&mem 512`) may be shared through aliases: not one function's.
        Node::Scalar(s) if s.tag.is_none() && !written.starts_with('&') => {
            Value::from_scalar(text, pos.bytes.clone(), &s.value)
        }
        _ => None,
    };
    let expression = if written.starts_with('&') {
        format!("{}, an anchor aliases may share", as_written(written))
    } else {
        as_written(written)
    };
    Setting {
        line: pos.line,
        value: literal.unwrap_or(Value::Expression(expression)),
    }
}

fn is_merge_value(text: &str, node: &Node) -> bool {
    let before = text[..node.pos().bytes.start].trim_end();
    before.ends_with("<<:")
}

/// An expression on one line, shortened for a report.
fn as_written(source: &str) -> String {
    let one_line = source.split_whitespace().collect::<Vec<_>>().join(" ");
    match one_line.char_indices().nth(60) {
        Some((cut, _)) => format!("{}...", &one_line[..cut]),
        None => one_line,
    }
}

/// Where entries are added: before the first entry of `map`, in the map's own style.
pub fn insertion(text: &str, map: &Map, format: Format) -> Option<Insertion> {
    let (first_key, _) = map.entries.first()?;
    let key_pos = first_key.pos();
    let at = key_pos.bytes.start;
    let own_line = text[line_start(text, at)..at].trim().is_empty();
    let nl = newline(text);
    let json = format == Format::CloudFormationJson;
    let style = match (json || map.flow, own_line) {
        (true, true) => EntryStyle::Flow {
            json,
            separator: format!(",{nl}{}", indentation_at(text, at)),
        },
        (true, false) => EntryStyle::Flow {
            json,
            separator: ", ".into(),
        },
        // A block map: a line of its own at the entries' indentation.
        (false, true) => EntryStyle::Block {
            indent: indentation_at(text, at).to_string(),
            newline: nl.into(),
        },
        (false, false) => return None,
    };
    let offset = if json || map.flow {
        at
    } else {
        line_start(text, at)
    };
    Some(Insertion {
        offset,
        line: key_pos.line,
        style,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::iac::yaml_tree::parse;

    fn read_text(text: &str, format: Format) -> Template {
        let root = parse(text).unwrap();
        assert!(is_template(&root));
        read(
            Template {
                path: "t".into(),
                text: text.into(),
                format,
                functions: vec![],
                defaults: vec![],
            },
            &root,
        )
    }

    const SAM: &str = "\
Globals:
  Function:
    MemorySize: 512 # shared
Parameters:
  Mem: {Type: Number}
Resources:
  Orders:
    Type: AWS::Serverless::Function
    Properties:
      Handler: app.handler
  Resize:
    Type: AWS::Serverless::Function
    Properties:
      FunctionName: image-resize
      MemorySize: !Ref Mem
  Raw:
    Type: AWS::Lambda::Function
    Properties:
      FunctionName: !Sub '${AWS::StackName}-raw'
      MemorySize: \"256\"
  Bucket:
    Type: AWS::S3::Bucket
";

    #[test]
    fn finds_functions_and_where_their_memory_comes_from() {
        let t = read_text(SAM, Format::CloudFormationYaml);
        assert_eq!(t.defaults.len(), 1);
        assert_eq!(t.defaults[0].setting.line, 3);
        let names: Vec<&str> = t.functions.iter().map(|f| f.key.as_str()).collect();
        assert_eq!(names, ["Orders", "Resize", "Raw"]);
        assert_eq!(t.functions[0].memory, Memory::Inherited(0));
        assert_eq!(t.functions[0].naming, Naming::CloudFormation);
        assert_eq!(
            t.functions[1].memory,
            Memory::Own(Setting {
                line: 15,
                value: Value::Expression("!Ref Mem".into())
            })
        );
        assert_eq!(
            t.functions[1].naming,
            Naming::Explicit("image-resize".into())
        );
        assert_eq!(
            t.functions[2].naming,
            Naming::StackName("${AWS::StackName}-raw".into())
        );
        let Memory::Own(Setting {
            value:
                Value::Literal {
                    number: 256,
                    digits,
                },
            ..
        }) = &t.functions[2].memory
        else {
            panic!("{:?}", t.functions[2].memory)
        };
        assert_eq!(&SAM[digits.clone()], "256");
    }

    #[test]
    fn insertion_goes_before_the_first_property_at_its_indentation() {
        let t = read_text(SAM, Format::CloudFormationYaml);
        let ins = t.functions[0].insertion.as_ref().unwrap();
        assert_eq!(ins.line, 10);
        let mut out = SAM.to_string();
        out.insert_str(ins.offset, &ins.entry("MemorySize", "1024"));
        assert!(
            out.contains("    Properties:\n      MemorySize: 1024\n      Handler: app.handler\n")
        );
    }

    #[test]
    fn json_templates_insert_in_json_style() {
        let text = "{\"Resources\": {\"F\": {\"Type\": \"AWS::Lambda::Function\",\n  \"Properties\": {\n    \"Handler\": \"x\"\n  }}}}";
        let t = read_text(text, Format::CloudFormationJson);
        assert_eq!(t.functions[0].memory, Memory::PlatformDefault(128));
        let ins = t.functions[0].insertion.as_ref().unwrap();
        let mut out = text.to_string();
        out.insert_str(ins.offset, &ins.entry("MemorySize", "1024"));
        assert!(
            out.contains("\"Properties\": {\n    \"MemorySize\": 1024,\n    \"Handler\": \"x\"")
        );
        assert!(parse(&out).is_ok());
    }

    #[test]
    fn json_intrinsics_are_expressions() {
        let text = r#"{"Resources": {"F": {"Type": "AWS::Lambda::Function", "Properties": {"MemorySize": {"Ref": "Mem"}}}}}"#;
        let t = read_text(text, Format::CloudFormationJson);
        assert_eq!(
            t.functions[0].memory,
            Memory::Own(Setting {
                line: 1,
                value: Value::Expression(r#"{"Ref": "Mem"}"#.into())
            })
        );
    }

    #[test]
    fn merge_keys_are_not_guessed_and_crlf_is_kept() {
        let text = "x: &base\r\n  MemorySize: 256\r\nResources:\r\n  M:\r\n    Type: AWS::Lambda::Function\r\n    Properties:\r\n      <<: *base\r\n      Handler: h\r\n  N:\r\n    Type: AWS::Lambda::Function\r\n    Properties:\r\n      Handler: h\r\n";
        let t = read_text(text, Format::CloudFormationYaml);
        assert_eq!(
            t.functions[0].memory,
            Memory::Own(Setting {
                line: 7,
                value: Value::Expression("a merge key (<<: *base)".into())
            })
        );
        let ins = t.functions[1].insertion.as_ref().unwrap();
        assert_eq!(ins.entry("MemorySize", "512"), "      MemorySize: 512\r\n");
    }

    #[test]
    fn aliases_are_tied_to_functions_by_ref_or_getatt() {
        let text = "Resources:\n  F:\n    Type: AWS::Lambda::Function\n    Properties:\n      Handler: h\n  A:\n    Type: AWS::Lambda::Alias\n    Properties:\n      FunctionName: !GetAtt F.Arn\n      Name: live\n  B:\n    Type: AWS::Lambda::Alias\n    Properties: {FunctionName: {\"Fn::GetAtt\": [F, Arn]}, Name: blue, ProvisionedConcurrencyConfig: {ProvisionedConcurrentExecutions: 3}}\n  C:\n    Type: AWS::Lambda::Alias\n    Properties: {FunctionName: other, Name: x}\n";
        let t = read_text(text, Format::CloudFormationYaml);
        let Concurrency::PerQualifier { configs, .. } = &t.functions[0].provisioned else {
            panic!("{:?}", t.functions[0].provisioned)
        };
        let names: Vec<(&str, Option<u32>)> = configs
            .iter()
            .map(|c| {
                (
                    c.resource.as_str(),
                    c.setting.as_ref().and_then(|s| s.value.literal()),
                )
            })
            .collect();
        assert_eq!(names, [("A", None), ("B", Some(3))]);
        let ins = configs[0].insertion.as_ref().unwrap();
        assert_eq!(
            ins.nested(
                "ProvisionedConcurrencyConfig",
                "ProvisionedConcurrentExecutions",
                "2"
            ),
            "      ProvisionedConcurrencyConfig:\n        ProvisionedConcurrentExecutions: 2\n"
        );
    }
}
