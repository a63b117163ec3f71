//! Several accounts and regions in one lab. Each (account, region) is a [`Lab`] of its own
//! with its own functions, concurrency and telemetry; a request goes to the one its
//! credentials belong to (long-term keys: the lab's own account; keys from STS AssumeRole: the
//! role's account) in the region of its SigV4 credential scope. STS itself is answered here.
//!
//! With one account and one region (the default) every request goes to it whatever its
//! signature says, as before.

pub mod sessions;
pub mod sigv4;
pub mod sts;

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::Router;
use tower::ServiceExt;

use crate::aws_error::AwsError;
use crate::control::Lab;
use crate::quotas::{ApiClass, RateLimiter};
use crate::LabConfig;
use sessions::{Caller, Sessions};
use sts::LabRole;

/// Which accounts and regions the lab serves, and the roles STS lets callers assume.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TenancyConfig {
    /// Account ids; the first is the lab's own (where long-term keys live). Empty: the
    /// fleet's `[account]`.
    pub accounts: Vec<String>,
    /// Empty: the fleet's `[account]` region.
    pub regions: Vec<String>,
    /// Roles that exist in every served account.
    pub roles: Vec<LabRole>,
}

/// An account id: 12 digits.
pub fn parse_account(s: &str) -> Result<String, String> {
    if s.len() == 12 && s.chars().all(|c| c.is_ascii_digit()) {
        Ok(s.to_string())
    } else {
        Err(format!("'{s}' is not an AWS account id (12 digits)"))
    }
}

/// A region name such as us-east-1.
pub fn parse_region(s: &str) -> Result<String, String> {
    let parts: Vec<&str> = s.split('-').collect();
    let ok = parts.len() >= 3
        && parts
            .iter()
            .all(|p| !p.is_empty() && p.chars().all(|c| c.is_ascii_alphanumeric()))
        && parts
            .last()
            .is_some_and(|p| p.chars().all(|c| c.is_ascii_digit()));
    if ok {
        Ok(s.to_string())
    } else {
        Err(format!("'{s}' is not a region name like us-east-1"))
    }
}

struct Tenant {
    lab: Arc<Lab>,
    router: Router,
    limiter: Option<RateLimiter>,
}

/// Every (account, region) the lab serves, the roles and the sessions issued.
pub struct Tenants {
    pub default_account: String,
    default_region: String,
    labs: BTreeMap<(String, String), Tenant>,
    roles: Vec<LabRole>,
    pub sessions: Sessions,
}

impl Tenants {
    /// One [`Lab`] per account and region, each with the config's fleet; the first keeps the
    /// config's seed, the others derive theirs from it.
    pub fn new(config: LabConfig) -> Tenants {
        let own = &config.profiles.account;
        let accounts = match config.tenancy.accounts.is_empty() {
            true => vec![own.account_id.clone()],
            false => config.tenancy.accounts.clone(),
        };
        let regions = match config.tenancy.regions.is_empty() {
            true => vec![own.region.clone()],
            false => config.tenancy.regions.clone(),
        };
        let mut labs = BTreeMap::new();
        let mut index = 0u64;
        for account in &accounts {
            for region in &regions {
                let mut c = config.clone();
                c.profiles.account.account_id = account.clone();
                c.profiles.account.region = region.clone();
                c.seed = config.seed.wrapping_add(index.wrapping_mul(0x9e37_79b9));
                index += 1;
                let limiter = config
                    .quotas
                    .map(|q| RateLimiter::new(q, c.profiles.account.concurrent_executions));
                let lab = Arc::new(Lab::new(c));
                let router = crate::router(lab.clone());
                labs.insert(
                    (account.clone(), region.clone()),
                    Tenant {
                        lab,
                        router,
                        limiter,
                    },
                );
            }
        }
        Tenants {
            default_account: accounts[0].clone(),
            default_region: regions[0].clone(),
            labs,
            roles: config.tenancy.roles.clone(),
            sessions: Sessions::new(config.seed),
        }
    }

    /// The lab's own account in its first region.
    pub fn default_lab(&self) -> &Arc<Lab> {
        &self.labs[&(self.default_account.clone(), self.default_region.clone())].lab
    }

    pub fn get(&self, account: &str, region: &str) -> Option<&Arc<Lab>> {
        self.labs
            .get(&(account.to_string(), region.to_string()))
            .map(|t| &t.lab)
    }

    /// Every (account, region) and its lab.
    pub fn all(&self) -> impl Iterator<Item = (&(String, String), &Arc<Lab>)> {
        self.labs.iter().map(|(k, t)| (k, &t.lab))
    }

    /// Lambda requests of `class` refused for exceeding a quota in `account` and `region`.
    pub fn refused(&self, account: &str, region: &str, class: ApiClass) -> u64 {
        self.labs
            .get(&(account.to_string(), region.to_string()))
            .and_then(|t| t.limiter.as_ref())
            .map_or(0, |l| l.refused(class))
    }

    /// Lambda requests of `class` admitted under its quota in `account` and `region`.
    pub fn admitted(&self, account: &str, region: &str, class: ApiClass) -> u64 {
        self.labs
            .get(&(account.to_string(), region.to_string()))
            .and_then(|t| t.limiter.as_ref())
            .map_or(0, |l| l.admitted(class))
    }

    /// A role callers may assume in `account`, if the lab serves that account.
    pub fn role(&self, account: &str, name: &str) -> Option<&LabRole> {
        let served = self.labs.keys().any(|(a, _)| a == account);
        self.roles.iter().find(|r| served && r.name == name)
    }

    fn tenant(&self, account: &str, region: &str) -> Result<&Tenant, AwsError> {
        if self.labs.len() == 1 {
            return Ok(self.labs.values().next().expect("one tenant"));
        }
        self.labs
            .get(&(account.to_string(), region.to_string()))
            .ok_or_else(|| {
                let served: Vec<String> =
                    self.labs.keys().map(|(a, r)| format!("{a}/{r}")).collect();
                AwsError::new(
                    StatusCode::FORBIDDEN,
                    "UnrecognizedClientException",
                    format!(
                        "the lab does not serve account {account} in {region} (it serves {})",
                        served.join(", ")
                    ),
                )
            })
    }
}

/// The lab's front door: picks the (account, region) a request belongs to and hands it to
/// that lab's routes; answers STS itself.
pub fn router(tenants: Arc<Tenants>) -> Router {
    Router::new().fallback(dispatch).with_state(tenants)
}

async fn dispatch(State(tenants): State<Arc<Tenants>>, request: Request) -> Response {
    if request.uri().path().starts_with("/_lab/") {
        return lab_endpoint(&tenants, request).await;
    }
    let scope = sigv4::scope(request.headers(), request.uri().query());
    let caller = match &scope {
        Some(s) => {
            let token = request
                .headers()
                .get("x-amz-security-token")
                .and_then(|v| v.to_str().ok());
            tenants
                .sessions
                .caller(&s.access_key, token, &tenants.default_account)
        }
        None => Caller::User {
            account: tenants.default_account.clone(),
        },
    };
    let is_sts = scope.as_ref().is_some_and(|s| s.service == "sts");
    let is_s3 = scope.as_ref().is_some_and(|s| s.service == "s3");
    if is_sts {
        return match caller {
            Caller::Expired | Caller::BadToken => sts_token_error(&caller),
            _ => {
                let body = match axum::body::to_bytes(request.into_body(), 1 << 20).await {
                    Ok(b) => b,
                    Err(_) => return sts_token_error(&Caller::BadToken),
                };
                sts::handle(&tenants, &caller, &body)
            }
        };
    }
    let account = match &caller {
        Caller::User { account } => account.clone(),
        Caller::Role(s) => s.account.clone(),
        Caller::Expired => {
            let e = AwsError::new(
                StatusCode::FORBIDDEN,
                "ExpiredTokenException",
                "The security token included in the request is expired",
            );
            return crate::iam::refuse(&request, e);
        }
        Caller::BadToken => {
            let e = AwsError::new(
                StatusCode::FORBIDDEN,
                "UnrecognizedClientException",
                "The security token included in the request is invalid.",
            );
            return crate::iam::refuse(&request, e);
        }
    };
    let region = scope
        .map(|s| s.region)
        .unwrap_or_else(|| tenants.default_region.clone());
    let tenant = match tenants.tenant(&account, &region) {
        Ok(t) => t,
        Err(e) => return crate::iam::refuse(&request, e),
    };
    if is_s3 {
        return crate::s3::handle(&tenant.lab, request).await;
    }
    if let Some(limiter) = &tenant.limiter {
        let action = crate::iam::lambda_action(
            request.method(),
            request.uri().path(),
            request.uri().query(),
        );
        if let Some(action) = action {
            if let Err(e) = limiter.admit(ApiClass::of(action)) {
                return e.rest_json();
            }
        }
    }
    forward(&tenant.router, request).await
}

async fn forward(router: &Router, request: Request) -> Response {
    match router.clone().oneshot(request).await {
        Ok(r) => r,
        Err(never) => match never {},
    }
}

/// `/_lab/...` (lab-only, unsigned): `?account=&region=` picks the lab, else the default.
async fn lab_endpoint(tenants: &Tenants, request: Request) -> Response {
    let query = request.uri().query().unwrap_or("");
    let params: BTreeMap<String, String> = serde_urlencoded::from_str(query).unwrap_or_default();
    let account = params
        .get("account")
        .cloned()
        .unwrap_or_else(|| tenants.default_account.clone());
    let region = params
        .get("region")
        .cloned()
        .unwrap_or_else(|| tenants.default_region.clone());
    match tenants.labs.get(&(account, region)) {
        Some(t) => forward(&t.router, request).await,
        None => Response::builder()
            .status(StatusCode::NOT_FOUND)
            .body(Body::from(
                "the lab does not serve that account and region\n",
            ))
            .expect("a static response"),
    }
}

fn sts_token_error(caller: &Caller) -> Response {
    let (code, message) = match caller {
        Caller::Expired => (
            "ExpiredToken",
            "The security token included in the request is expired",
        ),
        _ => (
            "InvalidClientTokenId",
            "The security token included in the request is invalid.",
        ),
    };
    sts::StsError {
        status: StatusCode::FORBIDDEN,
        code,
        message: message.into(),
    }
    .into_response(&uuid::Uuid::new_v4().to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accounts_and_regions_are_checked() {
        assert!(parse_account("111111111111").is_ok());
        assert!(parse_account("1111").is_err());
        assert!(parse_region("eu-west-1").is_ok());
        assert!(parse_region("us-gov-west-1").is_ok());
        assert!(parse_region("europe").is_err());
    }
}
