//! The credentials the lab's STS hands out, and whose they are: an access key maps to the
//! account (and assumed role) its requests act in, until it expires.

use std::collections::HashMap;
use std::sync::Mutex;

use chrono::{DateTime, Duration, Utc};
use rand::distr::{Alphanumeric, SampleString};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

/// Temporary credentials, as AssumeRole returns them.
#[derive(Debug, Clone, PartialEq)]
pub struct Session {
    pub access_key_id: String,
    pub secret_access_key: String,
    pub session_token: String,
    pub expiration: DateTime<Utc>,
    pub account: String,
    /// `arn:aws:sts::ACCOUNT:assumed-role/ROLE/SESSION`.
    pub arn: String,
    /// `AROA...:SESSION`.
    pub assumed_role_id: String,
}

/// What a signed request's access key says about its caller.
#[derive(Debug, Clone, PartialEq)]
pub enum Caller {
    /// Long-term keys (any key the lab did not issue): the lab's own account, as a user.
    User { account: String },
    /// Keys from AssumeRole that are still valid.
    Role(Session),
    /// Keys from AssumeRole that have expired.
    Expired,
    /// An issued access key sent with another session token.
    BadToken,
}

impl Caller {
    pub fn arn(&self, lab_account: &str) -> String {
        match self {
            Caller::User { account } => format!("arn:aws:iam::{account}:user/lab"),
            Caller::Role(s) => s.arn.clone(),
            Caller::Expired | Caller::BadToken => format!("arn:aws:iam::{lab_account}:user/lab"),
        }
    }
}

/// Every session issued so far.
pub struct Sessions {
    issued: Mutex<(HashMap<String, Session>, StdRng)>,
}

impl Sessions {
    pub fn new(seed: u64) -> Sessions {
        Sessions {
            issued: Mutex::new((HashMap::new(), StdRng::seed_from_u64(seed ^ 0x5e55_1015))),
        }
    }

    /// Issues credentials for `role_arn` in `account`, valid for `duration_s`.
    pub fn issue(
        &self,
        account: &str,
        role_name: &str,
        session_name: &str,
        duration_s: i64,
    ) -> Session {
        let mut guard = self.issued.lock().unwrap_or_else(|e| e.into_inner());
        let (issued, rng) = &mut *guard;
        let upper = |rng: &mut StdRng, n: usize| Alphanumeric.sample_string(rng, n).to_uppercase();
        let role_id = format!("AROA{}", upper(rng, 17));
        let token_bytes: [u8; 48] = rng.random();
        let session = Session {
            access_key_id: format!("ASIA{}", upper(rng, 16)),
            secret_access_key: Alphanumeric.sample_string(rng, 40),
            session_token: base64::Engine::encode(
                &base64::engine::general_purpose::STANDARD,
                token_bytes,
            ),
            expiration: Utc::now() + Duration::seconds(duration_s),
            account: account.to_string(),
            arn: format!("arn:aws:sts::{account}:assumed-role/{role_name}/{session_name}"),
            assumed_role_id: format!("{role_id}:{session_name}"),
        };
        issued.insert(session.access_key_id.clone(), session.clone());
        session
    }

    /// Who a request signed with `access_key` (and `session_token`) comes from.
    pub fn caller(
        &self,
        access_key: &str,
        session_token: Option<&str>,
        lab_account: &str,
    ) -> Caller {
        let guard = self.issued.lock().unwrap_or_else(|e| e.into_inner());
        match guard.0.get(access_key) {
            None => Caller::User {
                account: lab_account.to_string(),
            },
            Some(s) if session_token != Some(s.session_token.as_str()) => Caller::BadToken,
            Some(s) if s.expiration <= Utc::now() => Caller::Expired,
            Some(s) => Caller::Role(s.clone()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn issued_keys_map_to_their_account_until_they_expire() {
        let sessions = Sessions::new(1);
        let s = sessions.issue("111111111111", "tuner", "run", 900);
        assert!(s.access_key_id.starts_with("ASIA") && s.access_key_id.len() == 20);
        assert_eq!(s.arn, "arn:aws:sts::111111111111:assumed-role/tuner/run");
        let caller = sessions.caller(&s.access_key_id, Some(&s.session_token), "999999999999");
        assert_eq!(caller, Caller::Role(s.clone()));
        assert_eq!(
            sessions.caller(&s.access_key_id, Some("other"), "999999999999"),
            Caller::BadToken
        );
        assert_eq!(
            sessions.caller("AKIDLAB", None, "999999999999"),
            Caller::User {
                account: "999999999999".into()
            }
        );
        let gone = sessions.issue("111111111111", "tuner", "run", -1);
        assert_eq!(
            sessions.caller(&gone.access_key_id, Some(&gone.session_token), "9"),
            Caller::Expired
        );
    }
}
