//! Simulated permissions: `--deny lambda:UpdateFunctionConfiguration,logs:*` makes the lab
//! answer those actions with AccessDeniedException (403), as an account whose policy lacks
//! them would, so memtune's handling of missing permissions can be tested.

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::{Method, StatusCode};
use axum::middleware::Next;
use axum::response::Response;

use super::aws_error::AwsError;
use super::Lab;

/// Actions the lab refuses; `service:*` refuses a whole service.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct DenyList(Vec<String>);

impl std::str::FromStr for DenyList {
    type Err = String;

    fn from_str(spec: &str) -> Result<DenyList, String> {
        let mut actions = Vec::new();
        for a in spec.split(',').map(str::trim).filter(|a| !a.is_empty()) {
            match a.split_once(':') {
                Some(("lambda" | "cloudwatch" | "logs" | "s3", op)) if !op.is_empty() => {
                    actions.push(a.to_string())
                }
                // CreateFunction checks it (the role is in its body).
                Some(("iam", "PassRole")) => {
                    actions.push(a.to_string())
                }
                _ => {
                    return Err(format!(
                        "'{a}' is not an action like lambda:UpdateFunctionConfiguration, cloudwatch:GetMetricData, logs:*, s3:PutObject or iam:PassRole"
                    ))
                }
            }
        }
        Ok(DenyList(actions))
    }
}

impl DenyList {
    pub fn denies(&self, action: &str) -> bool {
        let service = action.split(':').next().unwrap_or("");
        self.0
            .iter()
            .any(|d| d == action || *d == format!("{service}:*"))
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// The IAM action of a Lambda restJson1 request, from its method, path and query (`List=ALL`
/// tells ListProvisionedConcurrencyConfigs from GetProvisionedConcurrencyConfig).
pub(crate) fn lambda_action(
    method: &Method,
    path: &str,
    query: Option<&str>,
) -> Option<&'static str> {
    let listing = query.is_some_and(|q| q.split('&').any(|kv| kv.starts_with("List=")));
    let parts: Vec<&str> = path.trim_end_matches('/').split('/').skip(1).collect();
    let get = method == Method::GET;
    let action = match (parts.as_slice(), method.as_str()) {
        (["2015-03-31", "functions"], "POST") => "CreateFunction",
        (["2015-03-31", "functions"], _) => "ListFunctions",
        (["2015-03-31", "functions", _], "GET") => "GetFunction",
        (["2015-03-31", "functions", _], "DELETE") => "DeleteFunction",
        (["2015-03-31", "functions", _, "configuration"], _) if get => "GetFunctionConfiguration",
        (["2015-03-31", "functions", _, "configuration"], _) => "UpdateFunctionConfiguration",
        (["2015-03-31", "functions", _, "code"], _) => "UpdateFunctionCode",
        (["2015-03-31", "functions", _, "versions"], _) if get => "ListVersionsByFunction",
        (["2015-03-31", "functions", _, "versions"], _) => "PublishVersion",
        (["2015-03-31", "functions", _, "aliases"], _) if get => "ListAliases",
        (["2015-03-31", "functions", _, "aliases"], _) => "CreateAlias",
        (["2015-03-31", "functions", _, "aliases", _], "GET") => "GetAlias",
        (["2015-03-31", "functions", _, "aliases", _], "PUT") => "UpdateAlias",
        (["2015-03-31", "functions", _, "aliases", _], _) => "DeleteAlias",
        (["2015-03-31", "functions", _, "invocations"], _) => "InvokeFunction",
        (["2017-03-31", "tags", _], "POST") => "TagResource",
        (["2017-03-31", "tags", _], _) => "ListTags",
        (["2016-08-19", "account-settings"], _) => "GetAccountSettings",
        (["2019-09-30", "functions", _, "concurrency"], _) => "GetFunctionConcurrency",
        (["2017-10-31", "functions", _, "concurrency"], "PUT") => "PutFunctionConcurrency",
        (["2017-10-31", "functions", _, "concurrency"], _) => "DeleteFunctionConcurrency",
        (["2019-09-30", "functions", _, "provisioned-concurrency"], "GET") if listing => {
            "ListProvisionedConcurrencyConfigs"
        }
        (["2019-09-30", "functions", _, "provisioned-concurrency"], "GET") => {
            "GetProvisionedConcurrencyConfig"
        }
        (["2019-09-30", "functions", _, "provisioned-concurrency"], "PUT") => {
            "PutProvisionedConcurrencyConfig"
        }
        (["2019-09-30", "functions", _, "provisioned-concurrency"], _) => {
            "DeleteProvisionedConcurrencyConfig"
        }
        _ => return None,
    };
    Some(action)
}

/// Which protocol a request speaks, so the refusal has the shape its client expects.
enum Protocol {
    RestJson,
    Cbor,
    AwsJson(&'static str),
}

fn classify(request: &Request) -> Option<(String, Protocol)> {
    let path = request.uri().path();
    if let Some(op) = path.strip_prefix("/service/GraniteServiceVersion20100801/operation/") {
        return Some((format!("cloudwatch:{op}"), Protocol::Cbor));
    }
    if path == "/" {
        let target = request.headers().get("x-amz-target")?.to_str().ok()?;
        return match target.split_once('.')? {
            ("GraniteServiceVersion20100801", op) => Some((
                format!("cloudwatch:{op}"),
                Protocol::AwsJson("application/x-amz-json-1.0"),
            )),
            ("Logs_20140328", op) => Some((
                format!("logs:{op}"),
                Protocol::AwsJson("application/x-amz-json-1.1"),
            )),
            _ => None,
        };
    }
    lambda_action(request.method(), path, request.uri().query())
        .map(|a| (format!("lambda:{a}"), Protocol::RestJson))
}

/// `e` in the shape the request's client expects (restJson1 when the lab cannot tell).
pub fn refuse(request: &Request, e: AwsError) -> Response {
    match classify(request).map(|(_, p)| p) {
        Some(Protocol::Cbor) => e.cbor(),
        Some(Protocol::AwsJson(content_type)) => e.aws_json(content_type),
        Some(Protocol::RestJson) | None => e.rest_json(),
    }
}

/// Middleware: refuses denied actions before they reach the handlers.
pub async fn authorize(State(lab): State<Arc<Lab>>, request: Request, next: Next) -> Response {
    if !lab.config.deny.is_empty() {
        if let Some((action, _)) = classify(&request) {
            if lab.config.deny.denies(&action) {
                let e = AwsError::new(
                    StatusCode::FORBIDDEN,
                    "AccessDeniedException",
                    format!(
                        "User: arn:aws:iam::{}:user/lab is not authorized to perform: {action} because no identity-based policy allows the {action} action",
                        lab.account.account_id
                    ),
                );
                return refuse(&request, e);
            }
        }
    }
    next.run(request).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deny_lists_parse_and_match() {
        let d: DenyList = "lambda:UpdateFunctionConfiguration, logs:*"
            .parse()
            .unwrap();
        assert!(d.denies("lambda:UpdateFunctionConfiguration"));
        assert!(d.denies("logs:StartQuery"));
        assert!(!d.denies("lambda:InvokeFunction"));
        assert!("ec2:RunInstances".parse::<DenyList>().is_err());
        assert!("s3:PutObject"
            .parse::<DenyList>()
            .unwrap()
            .denies("s3:PutObject"));
    }

    #[test]
    fn lambda_paths_map_to_actions() {
        let put = Method::PUT;
        assert_eq!(
            lambda_action(&put, "/2015-03-31/functions/f/configuration", None),
            Some("UpdateFunctionConfiguration")
        );
        assert_eq!(
            lambda_action(&Method::POST, "/2015-03-31/functions/f/invocations", None),
            Some("InvokeFunction")
        );
        assert_eq!(
            lambda_action(&Method::GET, "/2015-03-31/functions/", None),
            Some("ListFunctions")
        );
        let pc = "/2019-09-30/functions/f/provisioned-concurrency";
        assert_eq!(
            lambda_action(&Method::GET, pc, Some("List=ALL")),
            Some("ListProvisionedConcurrencyConfigs")
        );
        assert_eq!(
            lambda_action(&Method::GET, pc, Some("Qualifier=live")),
            Some("GetProvisionedConcurrencyConfig")
        );
    }
}
