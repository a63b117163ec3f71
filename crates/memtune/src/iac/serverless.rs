//! Serverless Framework `serverless.yml`: `functions.<key>.memorySize`, and
//! `provider.memorySize` that every function without its own inherits;
//! `functions.<key>.provisionedConcurrency` and `reservedConcurrency`.

use super::cloudformation::{insertion, setting};
use super::template::{
    AliasName, Concurrency, Memory, Naming, SharedDefault, Template, TemplateFunction,
};
use super::yaml_tree::Node;

/// The Serverless Framework's default when neither the function nor the provider sets one.
pub const FRAMEWORK_DEFAULT_MB: u32 = 1024;
/// The alias the Framework creates for `provisionedConcurrency` and puts it on.
pub const PROVISIONED_ALIAS: &str = "provisioned";

/// Whether a parsed document is a Serverless Framework service.
pub fn is_service(root: &Node) -> bool {
    root.as_map()
        .is_some_and(|m| m.get("service").is_some() && m.get("functions").is_some())
}

pub fn read(mut template: Template, root: &Node) -> Template {
    let text = template.text.as_str();
    let root = root.as_map();
    let provider = root
        .and_then(|m| m.get("provider"))
        .and_then(Node::as_map)
        .and_then(|p| p.get("memorySize"))
        .map(|node| SharedDefault {
            name: "provider.memorySize".into(),
            setting: setting(text, node),
        });
    // `service: name` (or the older `service: {name: ...}`); `${...}` is resolved at deploy.
    let service = root
        .and_then(|m| m.get("service"))
        .and_then(|s| s.as_str().or_else(|| s.as_map()?.get("name")?.as_str()))
        .filter(|s| !s.contains("${"))
        .map(str::to_string);
    let functions = root.and_then(|m| m.get("functions")).and_then(Node::as_map);
    let mut found = Vec::new();
    for (key, function) in functions.map(|f| f.entries.as_slice()).unwrap_or_default() {
        let (Some(name), Some(function)) = (key.as_str(), function.as_map()) else {
            continue;
        };
        let own = function.get("memorySize").or_else(|| function.get("<<"));
        let memory = match (own, &provider) {
            (Some(node), _) => Memory::Own(setting(text, node)),
            (None, Some(_)) => Memory::Inherited(0),
            (None, None) => Memory::PlatformDefault(FRAMEWORK_DEFAULT_MB),
        };
        let naming = match function.get("name") {
            None => Naming::Serverless {
                service: service.clone(),
            },
            Some(n) => n
                .as_str()
                .filter(|n| !n.contains("${"))
                .map_or(Naming::Unknown, |n| Naming::Explicit(n.to_string())),
        };
        found.push(TemplateFunction {
            resource: format!("functions.{name}"),
            key: name.to_string(),
            line: key.pos().line,
            naming,
            memory,
            insertion: insertion(text, function, template.format),
            provisioned: Concurrency::OnFunction(
                function
                    .get("provisionedConcurrency")
                    .map(|n| setting(text, n)),
            ),
            reserved: Concurrency::OnFunction(
                function
                    .get("reservedConcurrency")
                    .map(|n| setting(text, n)),
            ),
            alias: Some(AliasName::Literal(PROVISIONED_ALIAS.into())),
        });
    }
    template.functions = found;
    template.defaults = provider.into_iter().collect();
    template
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::iac::template::{Format, Setting, Value};
    use crate::iac::yaml_tree::parse;

    const SERVICE: &str = "\
service: shop
provider:
  name: aws
  memorySize: 512
custom:
  mem: 2048
functions:
  orders:
    handler: orders.handler
  resize:
    handler: resize.handler
    memorySize: ${self:custom.mem}
  named:
    name: shop-special
    handler: x.handler
    memorySize: 256
";

    #[test]
    fn finds_functions_provider_default_and_naming() {
        let root = parse(SERVICE).unwrap();
        assert!(is_service(&root));
        let t = read(
            Template {
                path: "serverless.yml".into(),
                text: SERVICE.into(),
                format: Format::Serverless,
                functions: vec![],
                defaults: vec![],
            },
            &root,
        );
        assert_eq!(t.defaults[0].name, "provider.memorySize");
        assert_eq!(t.functions[0].memory, Memory::Inherited(0));
        assert_eq!(
            t.functions[0].naming,
            Naming::Serverless {
                service: Some("shop".into())
            }
        );
        assert_eq!(
            t.functions[1].memory,
            Memory::Own(Setting {
                line: 12,
                value: Value::Expression("${self:custom.mem}".into())
            })
        );
        assert_eq!(
            t.functions[2].naming,
            Naming::Explicit("shop-special".into())
        );
        let ins = t.functions[0].insertion.as_ref().unwrap();
        let mut out = SERVICE.to_string();
        out.insert_str(ins.offset, &ins.entry("memorySize", "1024"));
        assert!(out.contains("  orders:\n    memorySize: 1024\n    handler: orders.handler\n"));
    }
}
