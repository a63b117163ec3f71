//! Lambda's input checks, answered as Lambda answers them, before a request touches anything.
//!
//! A body that is not a JSON object, or a member of the wrong JSON type, fails to deserialise:
//! 400 `SerializationException`, as every restJson1 service answers (Smithy's protocol tests
//! `RestJsonTechnicallyValidJsonBody`, `RestJsonBodyIntegerMalformedValueRejected`). A value
//! that breaks the API model's constraints (botocore's `lambda/2015-03-31/service-2.json`:
//! lengths, ranges, patterns, enums, required members) or Lambda's own limits (MemorySize up to
//! 10240, Timeout up to 900) is a 400 `ValidationException` listing every violation and quoting
//! the value given: `1 validation error detected: Value '64' at 'memorySize' failed to satisfy
//! constraint: Member must have value greater than or equal to 128`. Explicit `null` members
//! read as absent, as in any restJson1 service; members the model does not know are ignored.

mod model;

use base64::Engine;
use serde_json::Value;

use super::aws_error::AwsError;
pub use model::*;

// ---- the checks of one request -----------------------------------------------------------

/// Collects the constraint violations of one request (path, query, headers, body), so the
/// answer lists them all, as Lambda's does.
#[derive(Default)]
pub struct Checks {
    violations: Vec<String>,
}

impl Checks {
    pub fn new() -> Checks {
        Checks::default()
    }

    /// A path, query or header parameter; `name` as in messages (`functionName`).
    pub fn param(&mut self, name: &str, value: &str, shape: &Shape) -> &mut Checks {
        let value = Value::String(value.to_string());
        self.constraints(&value, shape, name);
        self
    }

    /// An optional parameter: checked when given.
    pub fn optional(&mut self, name: &str, value: Option<&str>, shape: &Shape) -> &mut Checks {
        if let Some(v) = value {
            self.param(name, v, shape);
        }
        self
    }

    /// A parameter the operation requires: missing is a violation like a missing member.
    pub fn required(&mut self, name: &str, value: Option<&str>, shape: &Shape) -> &mut Checks {
        match value {
            Some(v) => self.param(name, v, shape),
            None => {
                self.violations.push(format!(
                    "Value null at '{name}' failed to satisfy constraint: Member must not be null"
                ));
                self
            }
        }
    }

    /// `MaxItems`: an integer (else it does not deserialise) within 1..=10000.
    pub fn max_items(&mut self, raw: Option<&str>) -> Result<Option<usize>, AwsError> {
        let Some(raw) = raw else { return Ok(None) };
        let n: i32 = raw.parse().map_err(|_| {
            serialization(format!(
                "Cannot read MaxItems: expected an integer, got \"{raw}\""
            ))
        })?;
        self.constraints(&Value::from(n), &MAX_ITEMS, "maxItems");
        Ok(usize::try_from(n).ok())
    }

    /// Parses and checks a JSON body against an operation's members; returns it with explicit
    /// nulls removed.
    pub fn body(&mut self, raw: &[u8], members: &'static [Member]) -> Result<Value, AwsError> {
        if raw.iter().all(u8::is_ascii_whitespace) {
            return Err(serialization(
                "The request body is empty: send a JSON object ({} when no parameter is set)",
            ));
        }
        let mut body: Value = serde_json::from_slice(raw)
            .map_err(|e| serialization(format!("The request body is not valid JSON: {e}")))?;
        let shape = Shape::Structure(members);
        deserialise(&mut body, &shape, "the request body")?;
        self.constraints(&body, &shape, "");
        Ok(body)
    }

    /// Err with every violation found, in Lambda's words.
    pub fn finish(&mut self) -> Result<(), AwsError> {
        let violations = std::mem::take(&mut self.violations);
        match violations.len() {
            0 => Ok(()),
            1 => Err(validation(format!(
                "1 validation error detected: {}",
                violations[0]
            ))),
            n => Err(validation(format!(
                "{n} validation errors detected: {}",
                violations.join("; ")
            ))),
        }
    }

    fn constraints(&mut self, value: &Value, shape: &Shape, path: &str) {
        match shape {
            Shape::Structure(members) => {
                for m in *members {
                    let at = join(path, m.name);
                    match value.get(m.name) {
                        Some(v) => self.constraints(v, &m.shape, &at),
                        None if m.required => self.violations.push(format!(
                            "Value null at '{at}' failed to satisfy constraint: Member must not be null"
                        )),
                        None => {}
                    }
                }
            }
            Shape::List { item, min, max } => {
                let items = value.as_array().map(Vec::as_slice).unwrap_or_default();
                let mut broken = length_violations(items.len(), *min, *max);
                let inner: Vec<String> = items
                    .iter()
                    .flat_map(|i| scalar_violations(i, item))
                    .collect();
                if !inner.is_empty() {
                    broken.push(format!(
                        "Member must satisfy constraint: [{}]",
                        dedup(inner).join(", ")
                    ));
                }
                for b in broken {
                    self.push(value, path, false, &b);
                }
            }
            Shape::Map {
                key,
                value: value_shape,
                sensitive,
            } => {
                let entries = value.as_object().into_iter().flatten();
                let (mut keys, mut values) = (Vec::new(), Vec::new());
                for (k, v) in entries {
                    keys.extend(scalar_violations(&Value::String(k.clone()), key));
                    values.extend(scalar_violations(v, value_shape));
                }
                if !keys.is_empty() {
                    let b = format!(
                        "Map keys must satisfy constraint: [{}]",
                        dedup(keys).join(", ")
                    );
                    self.push(value, path, *sensitive, &b);
                }
                if !values.is_empty() {
                    let b = format!(
                        "Map values must satisfy constraint: [{}]",
                        dedup(values).join(", ")
                    );
                    self.push(value, path, *sensitive, &b);
                }
            }
            scalar => {
                for b in scalar_violations(value, scalar) {
                    self.push(value, path, false, &b);
                }
            }
        }
    }

    fn push(&mut self, value: &Value, path: &str, sensitive: bool, broken: &str) {
        self.violations.push(if sensitive {
            format!("Value at '{path}' failed to satisfy constraint: {broken}")
        } else {
            format!(
                "Value '{}' at '{path}' failed to satisfy constraint: {broken}",
                render(value)
            )
        });
    }
}

/// The member path in messages: camel case, dotted (`ephemeralStorage.size`).
fn join(path: &str, name: &str) -> String {
    let mut chars = name.chars();
    let camel: String = chars
        .next()
        .map(|c| c.to_ascii_lowercase())
        .into_iter()
        .chain(chars)
        .collect();
    if path.is_empty() {
        camel
    } else {
        format!("{path}.{camel}")
    }
}

/// What a scalar value breaks, each as "Member must ...".
fn scalar_violations(value: &Value, shape: &Shape) -> Vec<String> {
    let mut broken = Vec::new();
    match shape {
        Shape::String { min, max, pattern } => {
            let s = value.as_str().unwrap_or_default();
            let length = s.chars().count();
            if length < *min {
                broken.push(format!(
                    "Member must have length greater than or equal to {min}"
                ));
            }
            if let Some(max) = max.filter(|m| length > *m) {
                broken.push(format!(
                    "Member must have length less than or equal to {max}"
                ));
            }
            if let Some(p) = pattern.as_ref().filter(|p| !(p.matches)(s)) {
                broken.push(format!(
                    "Member must satisfy regular expression pattern: {}",
                    p.model
                ));
            }
        }
        Shape::Enum(allowed) => {
            let s = value.as_str().unwrap_or_default();
            if !allowed.contains(&s) {
                broken.push(format!(
                    "Member must satisfy enum value set: [{}]",
                    allowed.join(", ")
                ));
            }
        }
        Shape::Integer { min, max } => {
            let n = value.as_i64().unwrap_or_default();
            if n < *min {
                broken.push(format!(
                    "Member must have value greater than or equal to {min}"
                ));
            }
            if let Some(max) = max.filter(|m| n > *m) {
                broken.push(format!(
                    "Member must have value less than or equal to {max}"
                ));
            }
        }
        Shape::Double { min, max } => {
            let x = value.as_f64().unwrap_or_default();
            if x < *min {
                broken.push(format!(
                    "Member must have value greater than or equal to {min:?}"
                ));
            }
            if x > *max {
                broken.push(format!(
                    "Member must have value less than or equal to {max:?}"
                ));
            }
        }
        Shape::Boolean | Shape::Blob => {}
        // Lists and maps of lists or maps: the lab's models have none.
        Shape::List { .. } | Shape::Map { .. } | Shape::Structure(_) => {}
    }
    broken
}

fn length_violations(length: usize, min: usize, max: Option<usize>) -> Vec<String> {
    let mut broken = Vec::new();
    if length < min {
        broken.push(format!(
            "Member must have length greater than or equal to {min}"
        ));
    }
    if let Some(max) = max.filter(|m| length > *m) {
        broken.push(format!(
            "Member must have length less than or equal to {max}"
        ));
    }
    broken
}

fn dedup(mut v: Vec<String>) -> Vec<String> {
    let mut seen = std::collections::HashSet::new();
    v.retain(|s| seen.insert(s.clone()));
    v
}

/// A value as Lambda quotes it (Java's `toString`): strings bare, lists `[a, b]`, maps
/// `{k=v}`.
fn render(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        Value::Array(items) => format!(
            "[{}]",
            items.iter().map(render).collect::<Vec<_>>().join(", ")
        ),
        Value::Object(map) => format!(
            "{{{}}}",
            map.iter()
                .map(|(k, v)| format!("{k}={}", render(v)))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        other => other.to_string(),
    }
}

/// Checks JSON types against the shape, removing explicit nulls from structures (absent
/// members); Err is the first member that cannot be read.
fn deserialise(value: &mut Value, shape: &Shape, path: &str) -> Result<(), AwsError> {
    let wrong = |want: &str, got: &Value| {
        serialization(format!(
            "Cannot read {path}: expected {want}, got {}",
            describe(got)
        ))
    };
    match shape {
        Shape::Structure(members) => {
            let Value::Object(map) = value else {
                return Err(wrong("a JSON object", value));
            };
            map.retain(|_, v| !v.is_null());
            for m in *members {
                if let Some(v) = map.get_mut(m.name) {
                    deserialise(v, &m.shape, &dotted(path, m.name))?;
                }
            }
        }
        Shape::List { item, .. } => {
            let Value::Array(items) = value else {
                return Err(wrong("a JSON array", value));
            };
            for (i, v) in items.iter_mut().enumerate() {
                let at = format!("{path}[{i}]");
                if v.is_null() {
                    return Err(serialization(format!(
                        "Cannot read {at}: null is not allowed in a list"
                    )));
                }
                deserialise(v, item, &at)?;
            }
        }
        Shape::Map { value: inner, .. } => {
            let Value::Object(map) = value else {
                return Err(wrong("a JSON object", value));
            };
            for (k, v) in map.iter_mut() {
                let at = format!("{path}.{k}");
                if v.is_null() {
                    return Err(serialization(format!(
                        "Cannot read {at}: null is not allowed in a map"
                    )));
                }
                deserialise(v, inner, &at)?;
            }
        }
        Shape::String { .. } | Shape::Enum(_) if !value.is_string() => {
            return Err(wrong("a string", value))
        }
        Shape::Integer { .. } => {
            let fits = value.as_i64().is_some_and(|n| i32::try_from(n).is_ok());
            if !fits {
                return Err(wrong("a 32-bit integer", value));
            }
        }
        Shape::Double { .. } if !value.is_number() => return Err(wrong("a number", value)),
        Shape::Boolean if !value.is_boolean() => return Err(wrong("true or false", value)),
        Shape::Blob => {
            let decodes = value
                .as_str()
                .is_some_and(|s| base64::engine::general_purpose::STANDARD.decode(s).is_ok());
            if !decodes {
                return Err(wrong("base64 text", value));
            }
        }
        _ => {}
    }
    Ok(())
}

fn dotted(path: &str, name: &str) -> String {
    if path == "the request body" {
        name.to_string()
    } else {
        format!("{path}.{name}")
    }
}

/// A JSON value named for a message: `the string "abc"`, `the number 128.5`.
fn describe(value: &Value) -> String {
    match value {
        Value::Null => "null".into(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => format!("the number {n}"),
        Value::String(s) => format!("the string {}", Value::String(s.clone())),
        Value::Array(_) => "a JSON array".into(),
        Value::Object(_) => "a JSON object".into(),
    }
}

/// A request that cannot be read into the operation's input.
pub fn serialization(message: impl Into<String>) -> AwsError {
    AwsError::new(
        axum::http::StatusCode::BAD_REQUEST,
        "SerializationException",
        message,
    )
}

/// A request that breaks the API model's constraints.
pub fn validation(message: impl Into<String>) -> AwsError {
    AwsError::new(
        axum::http::StatusCode::BAD_REQUEST,
        "ValidationException",
        message,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body(text: &str, members: &'static [Member]) -> Result<Value, AwsError> {
        let mut checks = Checks::new();
        let body = checks.body(text.as_bytes(), members)?;
        checks.finish()?;
        Ok(body)
    }

    fn error(text: &str, members: &'static [Member]) -> AwsError {
        body(text, members).expect_err(text)
    }

    #[test]
    fn bodies_that_are_not_json_objects_do_not_deserialise() {
        for text in [
            "[1,2]",
            "\"x\"",
            "",
            "  ",
            "null",
            "10",
            "{[",
            "{\"Timeout\": 10}abc",
        ] {
            let e = error(text, UPDATE_FUNCTION_CONFIGURATION);
            assert_eq!(e.code, "SerializationException", "{text}: {}", e.message);
            assert_eq!(e.status, 400);
        }
    }

    #[test]
    fn wrongly_typed_members_do_not_deserialise_and_say_what_was_given() {
        for (text, given) in [
            (r#"{"MemorySize": "abc"}"#, "the string \"abc\""),
            (r#"{"MemorySize": 128.5}"#, "the number 128.5"),
            (r#"{"MemorySize": 4294967296}"#, "the number 4294967296"),
            (r#"{"MemorySize": true}"#, "true"),
            (r#"{"Description": 5}"#, "the number 5"),
            (r#"{"EphemeralStorage": 5}"#, "the number 5"),
            (r#"{"Layers": "arn"}"#, "the string \"arn\""),
            (r#"{"Layers": [null]}"#, "null"),
            (
                r#"{"Environment": {"Variables": {"A1": 1}}}"#,
                "the number 1",
            ),
        ] {
            let e = error(text, UPDATE_FUNCTION_CONFIGURATION);
            assert_eq!(e.code, "SerializationException", "{text}");
            assert!(e.message.contains(given), "{text}: {}", e.message);
        }
        let e = error(r#"{"Description": 5}"#, PUBLISH_VERSION);
        assert_eq!(
            e.message,
            "Cannot read Description: expected a string, got the number 5"
        );
    }

    #[test]
    fn explicit_nulls_read_as_absent() {
        let b = body(
            r#"{"MemorySize": null, "EphemeralStorage": {"Size": 1024}, "Description": null}"#,
            UPDATE_FUNCTION_CONFIGURATION,
        )
        .unwrap();
        assert_eq!(b, serde_json::json!({"EphemeralStorage": {"Size": 1024}}));
        // A required member sent as null is missing.
        let e = error(
            r#"{"EphemeralStorage": {"Size": null}}"#,
            UPDATE_FUNCTION_CONFIGURATION,
        );
        assert_eq!(
            e.message,
            "1 validation error detected: Value null at 'ephemeralStorage.size' failed to satisfy constraint: Member must not be null"
        );
    }

    #[test]
    fn ranges_and_lengths_quote_the_value_given() {
        for (text, expected) in [
            (r#"{"MemorySize": 64}"#, "Value '64' at 'memorySize' failed to satisfy constraint: Member must have value greater than or equal to 128"),
            (r#"{"MemorySize": 10241}"#, "Value '10241' at 'memorySize' failed to satisfy constraint: Member must have value less than or equal to 10240"),
            (r#"{"Timeout": 0}"#, "Value '0' at 'timeout' failed to satisfy constraint: Member must have value greater than or equal to 1"),
            (r#"{"Timeout": 901}"#, "Value '901' at 'timeout' failed to satisfy constraint: Member must have value less than or equal to 900"),
            (r#"{"EphemeralStorage": {"Size": 511}}"#, "Value '511' at 'ephemeralStorage.size' failed to satisfy constraint: Member must have value greater than or equal to 512"),
            (r#"{"SnapStart": {"ApplyOn": "Always"}}"#, "Value 'Always' at 'snapStart.applyOn' failed to satisfy constraint: Member must satisfy enum value set: [PublishedVersions, None]"),
            (r#"{"Handler": "a b"}"#, "Value 'a b' at 'handler' failed to satisfy constraint: Member must satisfy regular expression pattern: [^\\s]+"),
            (r#"{"Environment": {"Variables": {"1BAD": "x"}}}"#, "Value at 'environment.variables' failed to satisfy constraint: Map keys must satisfy constraint: [Member must satisfy regular expression pattern: [a-zA-Z]([a-zA-Z0-9_])+]"),
            (r#"{"Layers": ["nope"]}"#, "Value '[nope]' at 'layers' failed to satisfy constraint: Member must satisfy constraint: [Member must satisfy regular expression pattern: arn:[a-zA-Z0-9-]+:lambda:[a-zA-Z0-9-]+:\\d{12}:layer:[a-zA-Z0-9-_]+:[0-9]+]"),
        ] {
            let e = error(text, UPDATE_FUNCTION_CONFIGURATION);
            assert_eq!(e.code, "ValidationException", "{text}");
            assert_eq!(e.message, format!("1 validation error detected: {expected}"));
        }
        let long = "d".repeat(300);
        let e = error(
            &format!(r#"{{"Description": "{long}"}}"#),
            UPDATE_FUNCTION_CONFIGURATION,
        );
        assert_eq!(
            e.message,
            format!("1 validation error detected: Value '{long}' at 'description' failed to satisfy constraint: Member must have length less than or equal to 256")
        );
        assert!(body(
            &format!(r#"{{"Description": "{}"}}"#, "d".repeat(256)),
            PUBLISH_VERSION
        )
        .is_ok());
    }

    #[test]
    fn every_violation_is_listed() {
        let e = error(
            r#"{"MemorySize": 64, "Timeout": 0}"#,
            UPDATE_FUNCTION_CONFIGURATION,
        );
        assert!(
            e.message
                .starts_with("2 validation errors detected: Value '0' at 'timeout'")
                && e.message.contains("; Value '64' at 'memorySize'"),
            "{}",
            e.message
        );
        let mut checks = Checks::new();
        checks.param("functionName", "bad name!", &FUNCTION_NAME);
        checks
            .body(br#"{"MemorySize": 64}"#, UPDATE_FUNCTION_CONFIGURATION)
            .unwrap();
        let e = checks.finish().unwrap_err();
        assert!(
            e.message
                .starts_with("2 validation errors detected: Value 'bad name!' at 'functionName'"),
            "{}",
            e.message
        );
    }

    #[test]
    fn aliases_versions_and_weights() {
        assert!(body(r#"{"Name": "live", "FunctionVersion": "3"}"#, CREATE_ALIAS).is_ok());
        let e = error(r#"{"Name": "123", "FunctionVersion": "x"}"#, CREATE_ALIAS);
        assert!(
            e.message
                .starts_with("2 validation errors detected: Value '123' at 'name'"),
            "{}",
            e.message
        );
        assert!(
            e.message.contains("Value 'x' at 'functionVersion'"),
            "{}",
            e.message
        );
        let e = error(r#"{"Description": "d"}"#, CREATE_ALIAS);
        assert!(e.message.contains("Value null at 'name'"), "{}", e.message);
        let e = error(
            r#"{"RoutingConfig": {"AdditionalVersionWeights": {"2": 1.5}}}"#,
            UPDATE_ALIAS,
        );
        assert!(
            e.message.contains("at 'routingConfig.additionalVersionWeights' failed to satisfy constraint: Map values must satisfy constraint: [Member must have value less than or equal to 1.0]"),
            "{}",
            e.message
        );
        assert_eq!(
            error(
                r#"{"ReservedConcurrentExecutions": -1}"#,
                PUT_FUNCTION_CONCURRENCY
            )
            .code,
            "ValidationException"
        );
    }

    #[test]
    fn parameters() {
        let mut checks = Checks::new();
        assert_eq!(checks.max_items(Some("7")).unwrap(), Some(7));
        assert!(checks.finish().is_ok());
        assert_eq!(
            checks.max_items(Some("abc")).unwrap_err().code,
            "SerializationException"
        );
        checks.max_items(Some("0")).unwrap();
        assert!(checks
            .finish()
            .unwrap_err()
            .message
            .contains("Value '0' at 'maxItems'"));
        for good in [
            "f",
            "f:7",
            "f:$LATEST",
            "123456789012:function:f",
            "arn:aws:lambda:us-east-1:123456789012:function:f:live",
        ] {
            checks.param("functionName", good, &NAMESPACED_FUNCTION_NAME);
        }
        checks.param("qualifier", "$LATEST", &QUALIFIER);
        checks.param(
            "resource",
            "arn:aws:lambda:us-east-1:123456789012:function:f",
            &TAGGABLE_RESOURCE,
        );
        checks.param("name", "live", &ALIAS_NAME);
        assert!(checks.finish().is_ok());
        // `[a-zA-Z0-9-_]`: the `-` after a range is a literal, not a range from 9 to _.
        for bad in ["f;g", "f@g", "f[g"] {
            checks.param("functionName", bad, &FUNCTION_NAME);
            checks.param("qualifier", bad, &QUALIFIER);
            checks.param("name", bad, &ALIAS_NAME);
            let e = checks.finish().unwrap_err();
            assert!(
                e.message.starts_with("3 validation errors"),
                "{bad}: {}",
                e.message
            );
        }
        checks.param("resource", "f", &TAGGABLE_RESOURCE);
        assert!(checks
            .finish()
            .unwrap_err()
            .message
            .contains("Value 'f' at 'resource'"));
        checks.param("qualifier", "a b", &QUALIFIER);
        checks.param("name", "42", &ALIAS_NAME);
        checks.param("invocationType", "Sync", &INVOCATION_TYPE);
        let e = checks.finish().unwrap_err();
        assert!(
            e.message.starts_with("3 validation errors detected"),
            "{}",
            e.message
        );
    }

    #[test]
    fn blobs_must_be_base64() {
        assert!(body(r#"{"ZipFile": "UEsFBg=="}"#, UPDATE_FUNCTION_CODE).is_ok());
        assert_eq!(
            error(r#"{"ZipFile": "%%%"}"#, UPDATE_FUNCTION_CODE).code,
            "SerializationException"
        );
    }
}
