//! The settings beyond memory, timeout and logging that UpdateFunctionConfiguration takes and
//! every configuration document returns (GetFunctionConfiguration, GetFunction, ListFunctions,
//! ListVersionsByFunction, PublishVersion): handler, role, environment variables, layers, VPC,
//! ephemeral storage, SnapStart, tracing and a container image's overrides. The lab simulates
//! none of them, but stores and returns each as Lambda does, so that a client can see a change.

use std::collections::BTreeMap;

use serde_json::{json, Value};

use super::aws_error::AwsError;
use super::profiles::FunctionProfile;

/// Lambda's limit on the environment variables, measured over their JSON.
const ENVIRONMENT_MAX_BYTES: usize = 4096;
const MAX_LAYERS: usize = 5;
const MAX_SUBNETS: usize = 16;
const MAX_SECURITY_GROUPS: usize = 5;
/// Variables Lambda sets itself and refuses to have set.
const RESERVED_VARIABLES: [&str; 15] = [
    "_HANDLER",
    "_X_AMZN_TRACE_ID",
    "AWS_DEFAULT_REGION",
    "AWS_REGION",
    "AWS_EXECUTION_ENV",
    "AWS_LAMBDA_FUNCTION_NAME",
    "AWS_LAMBDA_FUNCTION_MEMORY_SIZE",
    "AWS_LAMBDA_FUNCTION_VERSION",
    "AWS_LAMBDA_INITIALIZATION_TYPE",
    "AWS_LAMBDA_LOG_GROUP_NAME",
    "AWS_LAMBDA_LOG_STREAM_NAME",
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_LAMBDA_RUNTIME_API",
];

#[derive(Debug, Clone, PartialEq)]
pub struct FunctionSettings {
    /// .zip functions only.
    handler: Option<String>,
    role: String,
    environment: BTreeMap<String, String>,
    /// Layer version ARNs, in order.
    layers: Vec<String>,
    vpc: Option<Vpc>,
    ephemeral_storage_mb: u32,
    /// SnapStart `ApplyOn: PublishedVersions`.
    snap_start: bool,
    tracing_active: bool,
    /// Image functions only.
    image: ImageOverrides,
}

#[derive(Debug, Clone, PartialEq)]
struct Vpc {
    subnet_ids: Vec<String>,
    security_group_ids: Vec<String>,
    ipv6_allowed_for_dual_stack: bool,
}

#[derive(Debug, Clone, Default, PartialEq)]
struct ImageOverrides {
    entry_point: Vec<String>,
    command: Vec<String>,
    working_directory: Option<String>,
}

impl FunctionSettings {
    /// A new function's settings: the runtime's default handler and a role named after it.
    pub fn initial(profile: &FunctionProfile, account_id: &str) -> FunctionSettings {
        FunctionSettings {
            handler: is_zip(profile).then(|| "index.handler".to_string()),
            role: format!("arn:aws:iam::{account_id}:role/{}-role", profile.name),
            environment: BTreeMap::new(),
            layers: Vec::new(),
            vpc: None,
            ephemeral_storage_mb: 512,
            snap_start: false,
            tracing_active: false,
            image: ImageOverrides::default(),
        }
    }

    /// Applies the settings an UpdateFunctionConfiguration body carries; a setting it does not
    /// carry stays as it is. Nothing changes when the body is refused.
    pub fn update(&mut self, body: &Value, profile: &FunctionProfile) -> Result<(), AwsError> {
        let mut next = self.clone();
        let zip = is_zip(profile);
        if let Some(handler) = body.get("Handler") {
            let handler = string(handler, "Handler")?;
            if !zip {
                return Err(zip_only());
            }
            if handler.is_empty() || handler.len() > 128 || handler.contains(char::is_whitespace) {
                return Err(pattern(handler, "handler", "[^\\s]+"));
            }
            next.handler = Some(handler.to_string());
        }
        if let Some(role) = body.get("Role") {
            let role = string(role, "Role")?;
            if !valid_role(role) {
                return Err(pattern(
                    role,
                    "role",
                    "arn:(aws[a-zA-Z-]*)?:iam::\\d{12}:role/?[a-zA-Z_0-9+=,.@\\-_/]+",
                ));
            }
            next.role = role.to_string();
        }
        if let Some(environment) = body.get("Environment") {
            next.environment = environment_variables(environment)?;
        }
        if let Some(layers) = body.get("Layers") {
            let layers = strings(layers, "Layers")?;
            if !zip && !layers.is_empty() {
                return Err(zip_only());
            }
            if layers.len() > MAX_LAYERS {
                return Err(AwsError::invalid(format!(
                    "Cannot reference more than {MAX_LAYERS} layers."
                )));
            }
            if let Some(bad) = layers.iter().find(|l| !valid_layer_arn(l)) {
                return Err(pattern(
                    bad,
                    "layers",
                    "arn:[a-zA-Z0-9-]+:lambda:[a-zA-Z0-9-]+:\\d{12}:layer:[a-zA-Z0-9-_]+:[0-9]+",
                ));
            }
            next.layers = layers;
        }
        if let Some(vpc) = body.get("VpcConfig") {
            next.vpc = vpc_config(vpc)?;
        }
        if let Some(storage) = body.get("EphemeralStorage") {
            let size = object(storage, "EphemeralStorage")?
                .get("Size")
                .ok_or_else(|| missing("EphemeralStorage.Size"))?;
            let size = size
                .as_i64()
                .ok_or_else(|| bad_type("EphemeralStorage.Size", "an integer"))?;
            if !(512..=10240).contains(&size) {
                let bound = if size < 512 {
                    "greater than or equal to 512"
                } else {
                    "less than or equal to 10240"
                };
                return Err(validation(format!(
                    "1 validation error detected: Value '{size}' at 'ephemeralStorage.size' failed to satisfy constraint: Member must have value {bound}"
                )));
            }
            next.ephemeral_storage_mb = size as u32;
        }
        if let Some(snap_start) = body.get("SnapStart") {
            let apply_on = object(snap_start, "SnapStart")?
                .get("ApplyOn")
                .map(|a| string(a, "SnapStart.ApplyOn"))
                .transpose()?
                .unwrap_or("None");
            next.snap_start = match apply_on {
                "PublishedVersions" => true,
                "None" => false,
                other => {
                    return Err(enumeration(
                        other,
                        "snapStart.applyOn",
                        "[PublishedVersions, None]",
                    ))
                }
            };
        }
        if let Some(tracing) = body.get("TracingConfig") {
            let mode = object(tracing, "TracingConfig")?
                .get("Mode")
                .map(|m| string(m, "TracingConfig.Mode"))
                .transpose()?
                .unwrap_or("PassThrough");
            next.tracing_active = match mode {
                "Active" => true,
                "PassThrough" => false,
                other => {
                    return Err(enumeration(
                        other,
                        "tracingConfig.mode",
                        "[Active, PassThrough]",
                    ))
                }
            };
        }
        if let Some(image) = body.get("ImageConfig") {
            if zip {
                return Err(AwsError::invalid(
                    "ImageConfig is not supported for functions with PackageType Zip.",
                ));
            }
            next.image = image_overrides(image)?;
        }
        *self = next;
        Ok(())
    }

    /// Writes the settings into a configuration document, as Lambda shapes them: a setting
    /// that is not set is left out. `published`: a version rather than $LATEST (SnapStart
    /// optimizes published versions only).
    /// SnapStart `ApplyOn: PublishedVersions`.
    pub fn snap_start(&self) -> bool {
        self.snap_start
    }

    pub fn write(&self, doc: &mut Value, published: bool) {
        doc["Role"] = json!(self.role);
        if let Some(handler) = &self.handler {
            doc["Handler"] = json!(handler);
        }
        if !self.environment.is_empty() {
            doc["Environment"] = json!({ "Variables": self.environment });
        }
        if !self.layers.is_empty() {
            let layers: Vec<Value> = self
                .layers
                .iter()
                .map(|arn| json!({ "Arn": arn, "CodeSize": layer_code_size(arn) }))
                .collect();
            doc["Layers"] = json!(layers);
        }
        if let Some(vpc) = &self.vpc {
            doc["VpcConfig"] = json!({
                "SubnetIds": vpc.subnet_ids,
                "SecurityGroupIds": vpc.security_group_ids,
                "VpcId": vpc_id(&vpc.subnet_ids),
                "Ipv6AllowedForDualStack": vpc.ipv6_allowed_for_dual_stack,
            });
        }
        doc["EphemeralStorage"] = json!({ "Size": self.ephemeral_storage_mb });
        doc["SnapStart"] = json!({
            "ApplyOn": if self.snap_start { "PublishedVersions" } else { "None" },
            "OptimizationStatus": if self.snap_start && published { "On" } else { "Off" },
        });
        doc["TracingConfig"] = json!({
            "Mode": if self.tracing_active { "Active" } else { "PassThrough" },
        });
        if self.image != ImageOverrides::default() {
            let mut config = json!({});
            if !self.image.entry_point.is_empty() {
                config["EntryPoint"] = json!(self.image.entry_point);
            }
            if !self.image.command.is_empty() {
                config["Command"] = json!(self.image.command);
            }
            if let Some(dir) = &self.image.working_directory {
                config["WorkingDirectory"] = json!(dir);
            }
            doc["ImageConfigResponse"] = json!({ "ImageConfig": config });
        }
    }
}

fn is_zip(profile: &FunctionProfile) -> bool {
    profile.package_type == "Zip"
}

fn environment_variables(environment: &Value) -> Result<BTreeMap<String, String>, AwsError> {
    let Some(variables) = object(environment, "Environment")?.get("Variables") else {
        return Ok(BTreeMap::new());
    };
    let mut out = BTreeMap::new();
    for (key, value) in object(variables, "Environment.Variables")? {
        let value = string(value, "Environment.Variables")?;
        let mut chars = key.chars();
        let valid = key.len() >= 2
            && chars.next().is_some_and(|c| c.is_ascii_alphabetic())
            && chars.all(|c| c.is_ascii_alphanumeric() || c == '_');
        if !valid {
            return Err(validation(
                "1 validation error detected: Value at 'environment.variables' failed to satisfy constraint: Map keys must satisfy constraint: [Member must satisfy regular expression pattern: [a-zA-Z]([a-zA-Z0-9_])+]".into()
            ));
        }
        out.insert(key.clone(), value.to_string());
    }
    let reserved: Vec<&str> = out
        .keys()
        .map(String::as_str)
        .filter(|k| RESERVED_VARIABLES.contains(k))
        .collect();
    if !reserved.is_empty() {
        return Err(AwsError::invalid(format!(
            "Lambda was unable to configure your environment variables because the environment variables you have provided contains reserved keys that are currently not supported for modification. Reserved keys used in this request: {}",
            reserved.join(", ")
        )));
    }
    let size = json!(out).to_string().len();
    if size > ENVIRONMENT_MAX_BYTES {
        return Err(AwsError::invalid(format!(
            "Lambda was unable to configure your environment variables because the environment variables you have provided exceeded the 4KB limit. String measured: {size}"
        )));
    }
    Ok(out)
}

fn vpc_config(vpc: &Value) -> Result<Option<Vpc>, AwsError> {
    let vpc = object(vpc, "VpcConfig")?;
    let list = |key: &str| {
        vpc.get(key)
            .map(|v| strings(v, &format!("VpcConfig.{key}")))
            .transpose()
            .map(Option::unwrap_or_default)
    };
    let (subnet_ids, security_group_ids) = (list("SubnetIds")?, list("SecurityGroupIds")?);
    for (ids, field, max) in [
        (&subnet_ids, "vpcConfig.subnetIds", MAX_SUBNETS),
        (
            &security_group_ids,
            "vpcConfig.securityGroupIds",
            MAX_SECURITY_GROUPS,
        ),
    ] {
        if ids.len() > max {
            return Err(validation(format!(
                "1 validation error detected: Value at '{field}' failed to satisfy constraint: Member must have length less than or equal to {max}"
            )));
        }
    }
    let ipv6 = match vpc.get("Ipv6AllowedForDualStack") {
        None => false,
        Some(v) => v
            .as_bool()
            .ok_or_else(|| bad_type("VpcConfig.Ipv6AllowedForDualStack", "a boolean"))?,
    };
    // Empty lists take the function out of its VPC.
    if subnet_ids.is_empty() && security_group_ids.is_empty() {
        return Ok(None);
    }
    Ok(Some(Vpc {
        subnet_ids,
        security_group_ids,
        ipv6_allowed_for_dual_stack: ipv6,
    }))
}

fn image_overrides(image: &Value) -> Result<ImageOverrides, AwsError> {
    let image = object(image, "ImageConfig")?;
    let list = |key: &str| {
        image
            .get(key)
            .map(|v| strings(v, &format!("ImageConfig.{key}")))
            .transpose()
            .map(Option::unwrap_or_default)
    };
    Ok(ImageOverrides {
        entry_point: list("EntryPoint")?,
        command: list("Command")?,
        working_directory: image
            .get("WorkingDirectory")
            .map(|d| string(d, "ImageConfig.WorkingDirectory").map(str::to_string))
            .transpose()?,
    })
}

fn valid_role(role: &str) -> bool {
    let Some((prefix, name)) = role.split_once(":role/") else {
        return false;
    };
    let parts: Vec<&str> = prefix.split(':').collect();
    matches!(parts.as_slice(), ["arn", partition, "iam", "", account]
        if partition.starts_with("aws")
            && account.len() == 12
            && account.chars().all(|c| c.is_ascii_digit()))
        && !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "+=,.@-_/".contains(c))
}

fn valid_layer_arn(arn: &str) -> bool {
    let parts: Vec<&str> = arn.split(':').collect();
    let word = |s: &str| {
        !s.is_empty()
            && s.chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    };
    matches!(parts.as_slice(), ["arn", partition, "lambda", region, account, "layer", name, version]
        if word(partition) && word(region) && word(name)
            && account.len() == 12 && account.chars().all(|c| c.is_ascii_digit())
            && !version.is_empty() && version.chars().all(|c| c.is_ascii_digit()))
}

/// A stable made-up size for a layer the lab never downloads.
fn layer_code_size(arn: &str) -> u64 {
    let h = arn.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
        (h ^ b as u64).wrapping_mul(0x100_0000_01b3)
    });
    10_240 + h % (10 * 1024 * 1024)
}

/// The VPC the (made-up) subnets belong to, stable per subnet set.
fn vpc_id(subnet_ids: &[String]) -> String {
    let h = subnet_ids
        .join(",")
        .bytes()
        .fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
            (h ^ b as u64).wrapping_mul(0x100_0000_01b3)
        });
    format!("vpc-{h:017x}")
}

fn object<'a>(v: &'a Value, field: &str) -> Result<&'a serde_json::Map<String, Value>, AwsError> {
    v.as_object().ok_or_else(|| bad_type(field, "an object"))
}

fn string<'a>(v: &'a Value, field: &str) -> Result<&'a str, AwsError> {
    v.as_str().ok_or_else(|| bad_type(field, "a string"))
}

fn strings(v: &Value, field: &str) -> Result<Vec<String>, AwsError> {
    v.as_array()
        .ok_or_else(|| bad_type(field, "a list of strings"))?
        .iter()
        .map(|s| string(s, field).map(str::to_string))
        .collect()
}

/// A member of the wrong JSON type: Lambda cannot read the body.
fn bad_type(field: &str, expected: &str) -> AwsError {
    AwsError::new(
        axum::http::StatusCode::BAD_REQUEST,
        "InvalidRequestContentException",
        format!("Could not parse request body into json: {field} must be {expected}"),
    )
}

fn missing(field: &str) -> AwsError {
    validation(format!(
        "1 validation error detected: Value null at '{}' failed to satisfy constraint: Member must not be null",
        lower_first(field)
    ))
}

fn pattern(value: &str, field: &str, regex: &str) -> AwsError {
    validation(format!(
        "1 validation error detected: Value '{value}' at '{field}' failed to satisfy constraint: Member must satisfy regular expression pattern: {regex}"
    ))
}

fn enumeration(value: &str, field: &str, values: &str) -> AwsError {
    validation(format!(
        "1 validation error detected: Value '{value}' at '{field}' failed to satisfy constraint: Member must satisfy enum value set: {values}"
    ))
}

fn zip_only() -> AwsError {
    AwsError::invalid(
        "Please don't provide Handler or Runtime or Layer when the intended function PackageType is Image.",
    )
}

fn validation(message: String) -> AwsError {
    AwsError::new(
        axum::http::StatusCode::BAD_REQUEST,
        "ValidationException",
        message,
    )
}

/// `EphemeralStorage.Size` -> `ephemeralStorage.size`, as Lambda names members in messages.
fn lower_first(field: &str) -> String {
    field
        .split('.')
        .map(|part| {
            let mut chars = part.chars();
            chars
                .next()
                .map(|c| c.to_ascii_lowercase().to_string() + chars.as_str())
                .unwrap_or_default()
        })
        .collect::<Vec<_>>()
        .join(".")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::profiles::ProfileSet;

    fn profile(package_type: &str) -> FunctionProfile {
        let text = format!(
            "[[function]]\nname = \"f\"\nmemory_mb = 256\npackage_type = \"{package_type}\"\n[function.workload]\ncpu_ms = 10.0\n"
        );
        ProfileSet::parse(&text, "t.toml")
            .unwrap()
            .functions
            .remove(0)
    }

    fn doc(s: &FunctionSettings) -> Value {
        let mut doc = json!({});
        s.write(&mut doc, false);
        doc
    }

    #[test]
    fn every_setting_is_stored_and_returned_in_lambdas_shape() {
        let p = profile("Zip");
        let mut s = FunctionSettings::initial(&p, "123456789012");
        let layer = "arn:aws:lambda:us-east-1:123456789012:layer:deps:3";
        s.update(
            &json!({
                "Handler": "app.main",
                "Role": "arn:aws:iam::123456789012:role/other",
                "Environment": {"Variables": {"MODE": "fast"}},
                "Layers": [layer],
                "VpcConfig": {"SubnetIds": ["subnet-1"], "SecurityGroupIds": ["sg-1"]},
                "EphemeralStorage": {"Size": 2048},
                "SnapStart": {"ApplyOn": "PublishedVersions"},
                "TracingConfig": {"Mode": "Active"},
            }),
            &p,
        )
        .unwrap();
        let d = doc(&s);
        assert_eq!(d["Handler"], "app.main");
        assert_eq!(d["Role"], "arn:aws:iam::123456789012:role/other");
        assert_eq!(d["Environment"], json!({"Variables": {"MODE": "fast"}}));
        assert_eq!(d["Layers"][0]["Arn"], layer);
        assert!(d["Layers"][0]["CodeSize"].as_u64().unwrap() > 0);
        assert_eq!(d["VpcConfig"]["SubnetIds"], json!(["subnet-1"]));
        assert!(d["VpcConfig"]["VpcId"]
            .as_str()
            .unwrap()
            .starts_with("vpc-"));
        assert_eq!(d["EphemeralStorage"], json!({"Size": 2048}));
        assert_eq!(d["SnapStart"]["ApplyOn"], "PublishedVersions");
        assert_eq!(d["TracingConfig"]["Mode"], "Active");
        // What the body leaves out stays.
        s.update(&json!({"Timeout": 5}), &p).unwrap();
        assert_eq!(doc(&s), d);
    }

    #[test]
    fn bad_settings_are_refused_and_change_nothing() {
        let p = profile("Zip");
        let before = FunctionSettings::initial(&p, "123456789012");
        for (body, code) in [
            (
                json!({"EphemeralStorage": {"Size": 100}}),
                "ValidationException",
            ),
            (
                json!({"Environment": {"Variables": {"AWS_REGION": "x"}}}),
                "InvalidParameterValueException",
            ),
            (
                json!({"Environment": {"Variables": {"A": 1}}}),
                "InvalidRequestContentException",
            ),
            (json!({"Layers": ["not-an-arn"]}), "ValidationException"),
            (json!({"Role": "admin"}), "ValidationException"),
            (
                json!({"SnapStart": {"ApplyOn": "Always"}}),
                "ValidationException",
            ),
            (
                json!({"ImageConfig": {"Command": ["x"]}}),
                "InvalidParameterValueException",
            ),
            (
                json!({"Handler": "a", "EphemeralStorage": {"Size": 99999}}),
                "ValidationException",
            ),
        ] {
            let mut s = before.clone();
            let err = s.update(&body, &p).unwrap_err();
            assert_eq!(err.code, code, "{body}");
            assert_eq!(s, before, "{body}");
        }
    }

    #[test]
    fn image_functions_take_image_overrides_and_no_handler() {
        let p = profile("Image");
        let mut s = FunctionSettings::initial(&p, "123456789012");
        assert!(doc(&s).get("Handler").is_none());
        s.update(&json!({"ImageConfig": {"Command": ["app.handler"]}}), &p)
            .unwrap();
        assert_eq!(
            doc(&s)["ImageConfigResponse"],
            json!({"ImageConfig": {"Command": ["app.handler"]}})
        );
        assert!(s.update(&json!({"Handler": "x"}), &p).is_err());
    }
}
