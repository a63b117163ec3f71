//! AWS STS in the lab: AssumeRole and GetCallerIdentity over the awsQuery protocol, as the
//! SDKs send them (`POST /`, form-encoded `Action=AssumeRole&Version=2011-06-15&...`, an XML
//! answer; errors as `<ErrorResponse><Error><Type><Code><Message>`).

use std::collections::HashMap;

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

use super::sessions::Caller;
use super::Tenants;

const NAMESPACE: &str = "https://sts.amazonaws.com/doc/2011-06-15/";
const VERSION: &str = "2011-06-15";

/// A role that exists in every account the lab serves.
#[derive(Debug, Clone, PartialEq)]
pub struct LabRole {
    pub name: String,
    /// The `sts:ExternalId` its trust policy requires, if any.
    pub external_id: Option<String>,
    /// The role's MaxSessionDuration (3600 s unless set).
    pub max_session_s: u32,
}

impl std::str::FromStr for LabRole {
    type Err = String;

    /// `NAME` or `NAME:EXTERNAL_ID`.
    fn from_str(spec: &str) -> Result<LabRole, String> {
        let (name, external_id) = match spec.split_once(':') {
            Some((name, id)) => (name, Some(id.to_string())),
            None => (spec, None),
        };
        let valid = |s: &str| {
            s.chars()
                .all(|c| c.is_ascii_alphanumeric() || "+=,.@_-".contains(c))
        };
        if name.is_empty() || name.len() > 64 || !valid(name) {
            return Err(format!(
                "'{name}' is not a role name (1-64 of letters, digits and +=,.@_-); write NAME or NAME:EXTERNAL_ID"
            ));
        }
        if let Some(id) = &external_id {
            if id.len() < 2 || id.len() > 1224 {
                return Err(format!(
                    "the external id of role '{name}' must be 2 to 1224 characters"
                ));
            }
        }
        Ok(LabRole {
            name: name.to_string(),
            external_id,
            max_session_s: 3600,
        })
    }
}

/// An STS error in the awsQuery shape.
#[derive(Debug, Clone, PartialEq)]
pub struct StsError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
}

impl StsError {
    fn validation(message: impl Into<String>) -> StsError {
        StsError {
            status: StatusCode::BAD_REQUEST,
            code: "ValidationError",
            message: message.into(),
        }
    }

    fn access_denied(caller: &str, action: &str, resource: Option<&str>) -> StsError {
        let on = resource
            .map(|r| format!(" on resource: {r}"))
            .unwrap_or_default();
        StsError {
            status: StatusCode::FORBIDDEN,
            code: "AccessDenied",
            message: format!("User: {caller} is not authorized to perform: sts:{action}{on}"),
        }
    }

    pub fn into_response(self, request_id: &str) -> Response {
        let kind = if self.status.is_server_error() {
            "Receiver"
        } else {
            "Sender"
        };
        let body = format!(
            "<ErrorResponse xmlns=\"{NAMESPACE}\">\n  <Error>\n    <Type>{kind}</Type>\n    <Code>{}</Code>\n    <Message>{}</Message>\n  </Error>\n  <RequestId>{request_id}</RequestId>\n</ErrorResponse>\n",
            self.code,
            xml_escape(&self.message)
        );
        (self.status, [("content-type", "text/xml")], body).into_response()
    }
}

fn xml_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&apos;")
}

/// Answers one STS request from `caller`.
pub fn handle(tenants: &Tenants, caller: &Caller, body: &[u8]) -> Response {
    let request_id = uuid::Uuid::new_v4().to_string();
    let params: HashMap<String, String> = match serde_urlencoded::from_bytes(body) {
        Ok(p) => p,
        Err(e) => {
            return StsError::validation(format!("the request body is not form-encoded: {e}"))
                .into_response(&request_id)
        }
    };
    let answered = match (
        params.get("Action").map(String::as_str),
        params.get("Version"),
    ) {
        (_, Some(v)) if v != VERSION => Err(StsError {
            status: StatusCode::BAD_REQUEST,
            code: "InvalidAction",
            message: format!("Could not find operation for version {v}"),
        }),
        (Some("AssumeRole"), _) => assume_role(tenants, caller, &params),
        (Some("GetCallerIdentity"), _) => Ok(get_caller_identity(tenants, caller)),
        (action, _) => Err(StsError {
            status: StatusCode::BAD_REQUEST,
            code: "InvalidAction",
            message: format!(
                "Could not find operation {} for version {VERSION}",
                action.unwrap_or("")
            ),
        }),
    };
    match answered {
        Ok((action, result)) => {
            let body = format!(
                "<{action}Response xmlns=\"{NAMESPACE}\">\n  <{action}Result>\n{result}  </{action}Result>\n  <ResponseMetadata>\n    <RequestId>{request_id}</RequestId>\n  </ResponseMetadata>\n</{action}Response>\n"
            );
            (StatusCode::OK, [("content-type", "text/xml")], body).into_response()
        }
        Err(e) => e.into_response(&request_id),
    }
}

/// The member-constraint check STS applies to a string parameter.
fn check_param(
    params: &HashMap<String, String>,
    key: &str,
    member: &str,
    lengths: (usize, usize),
    extra_chars: &str,
) -> Result<Option<String>, StsError> {
    let Some(value) = params.get(key) else {
        return Ok(None);
    };
    let (min, max) = lengths;
    let n = value.chars().count();
    if n < min || n > max {
        return Err(StsError::validation(format!(
            "1 validation error detected: Value '{value}' at '{member}' failed to satisfy constraint: Member must have length {}",
            if n < min { format!("greater than or equal to {min}") } else { format!("less than or equal to {max}") }
        )));
    }
    let allowed = |c: char| c.is_alphanumeric() || c == '_' || extra_chars.contains(c);
    if !value.chars().all(allowed) {
        return Err(StsError::validation(format!(
            "1 validation error detected: Value '{value}' at '{member}' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\w{extra_chars}]*"
        )));
    }
    Ok(Some(value.clone()))
}

fn required(value: Option<String>, member: &str) -> Result<String, StsError> {
    value.ok_or_else(|| {
        StsError::validation(format!(
            "1 validation error detected: Value null at '{member}' failed to satisfy constraint: Member must not be null"
        ))
    })
}

fn assume_role(
    tenants: &Tenants,
    caller: &Caller,
    params: &HashMap<String, String>,
) -> Result<(&'static str, String), StsError> {
    let role_arn = required(params.get("RoleArn").cloned(), "roleArn")?;
    let session_name = required(
        check_param(
            params,
            "RoleSessionName",
            "roleSessionName",
            (2, 64),
            "+=,.@-",
        )?,
        "roleSessionName",
    )?;
    let external_id = check_param(params, "ExternalId", "externalId", (2, 1224), "+=,.@:/-")?;
    let duration_s = match params.get("DurationSeconds") {
        None => 3600,
        Some(d) => match d.parse::<u32>() {
            Ok(d) if (900..=43200).contains(&d) => d,
            _ => {
                return Err(StsError::validation(format!(
                    "1 validation error detected: Value '{d}' at 'durationSeconds' failed to satisfy constraint: Member must have value {}",
                    if d.parse::<u32>().map(|v| v < 900).unwrap_or(true) { "greater than or equal to 900" } else { "less than or equal to 43200" }
                )))
            }
        },
    };
    if role_arn.len() < 20 {
        return Err(StsError::validation(format!(
            "1 validation error detected: Value '{role_arn}' at 'roleArn' failed to satisfy constraint: Member must have length greater than or equal to 20"
        )));
    }
    let caller_arn = caller.arn(&tenants.default_account);
    let denied = || StsError::access_denied(&caller_arn, "AssumeRole", Some(&role_arn));
    let (account, role_name) = parse_role_arn(&role_arn)
        .ok_or_else(|| StsError::validation(format!("{role_arn} is invalid")))?;
    let role = tenants.role(account, role_name).ok_or_else(denied)?;
    // The trust policy's sts:ExternalId condition: a missing or different id is refused
    // like any other denial, without saying which.
    if role.external_id.is_some() && role.external_id != external_id {
        return Err(denied());
    }
    let chained = matches!(caller, Caller::Role(_));
    let max = if chained { 3600 } else { role.max_session_s };
    if duration_s > max {
        return Err(StsError::validation(if chained {
            "The requested DurationSeconds exceeds the 1 hour session limit for roles assumed by role chaining.".to_string()
        } else {
            "The requested DurationSeconds exceeds the MaxSessionDuration set for this role."
                .to_string()
        }));
    }
    let s = tenants
        .sessions
        .issue(account, role_name, &session_name, duration_s as i64);
    let result = format!(
        "    <AssumedRoleUser>\n      <AssumedRoleId>{}</AssumedRoleId>\n      <Arn>{}</Arn>\n    </AssumedRoleUser>\n    <Credentials>\n      <AccessKeyId>{}</AccessKeyId>\n      <SecretAccessKey>{}</SecretAccessKey>\n      <SessionToken>{}</SessionToken>\n      <Expiration>{}</Expiration>\n    </Credentials>\n",
        xml_escape(&s.assumed_role_id),
        xml_escape(&s.arn),
        s.access_key_id,
        s.secret_access_key,
        xml_escape(&s.session_token),
        s.expiration.format("%Y-%m-%dT%H:%M:%SZ"),
    );
    Ok(("AssumeRole", result))
}

fn get_caller_identity(tenants: &Tenants, caller: &Caller) -> (&'static str, String) {
    let (account, arn, user_id) = match caller {
        Caller::Role(s) => (s.account.clone(), s.arn.clone(), s.assumed_role_id.clone()),
        other => (
            tenants.default_account.clone(),
            other.arn(&tenants.default_account),
            "AIDALABUSER0000000000".to_string(),
        ),
    };
    let result = format!(
        "    <Arn>{}</Arn>\n    <UserId>{}</UserId>\n    <Account>{account}</Account>\n",
        xml_escape(&arn),
        xml_escape(&user_id)
    );
    ("GetCallerIdentity", result)
}

/// `arn:aws:iam::ACCOUNT:role/[PATH/]NAME` into (account, name).
fn parse_role_arn(arn: &str) -> Option<(&str, &str)> {
    let rest = arn.strip_prefix("arn:aws:iam::")?;
    let (account, resource) = rest.split_once(':')?;
    let path = resource.strip_prefix("role/")?;
    let name = path.rsplit('/').next()?;
    (account.len() == 12 && account.chars().all(|c| c.is_ascii_digit()) && !name.is_empty())
        .then_some((account, name))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn role_specs_and_arns_parse() {
        let r: LabRole = "memtune-tuner:ext-42".parse().unwrap();
        assert_eq!(r.external_id.as_deref(), Some("ext-42"));
        assert!("bad role".parse::<LabRole>().is_err());
        assert!("r:x".parse::<LabRole>().is_err());
        assert_eq!(
            parse_role_arn("arn:aws:iam::111111111111:role/ops/memtune"),
            Some(("111111111111", "memtune"))
        );
        assert_eq!(parse_role_arn("arn:aws:iam::1:role/x"), None);
    }

    #[test]
    fn errors_have_the_query_protocol_shape() {
        let e = StsError::access_denied("arn:aws:iam::1:user/u", "AssumeRole", Some("arn:r"));
        assert_eq!(e.status, StatusCode::FORBIDDEN);
        assert_eq!(
            e.message,
            "User: arn:aws:iam::1:user/u is not authorized to perform: sts:AssumeRole on resource: arn:r"
        );
    }
}
