//! Who signed a request and for where: the access key, region and service of its SigV4
//! credential scope (`Authorization: AWS4-HMAC-SHA256 Credential=AKID/20260101/us-east-1/lambda/aws4_request, ...`
//! or a presigned URL's `X-Amz-Credential`). The lab does not check signatures; it reads the
//! scope to pick the account and region that answer.

use axum::http::HeaderMap;

/// The credential scope of a signed request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scope {
    pub access_key: String,
    pub region: String,
    pub service: String,
}

/// The scope a request was signed with, if it was signed.
pub fn scope(headers: &HeaderMap, query: Option<&str>) -> Option<Scope> {
    let from_header = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|auth| {
            let credential = auth.split("Credential=").nth(1)?;
            Some(credential.split([',', ' ']).next()?.to_string())
        });
    let credential = from_header.or_else(|| {
        query?.split('&').find_map(|pair| {
            let value = pair.strip_prefix("X-Amz-Credential=")?;
            Some(value.replace("%2F", "/").replace("%2f", "/"))
        })
    })?;
    parse_credential(&credential)
}

/// `AKID/20260101/us-east-1/lambda/aws4_request` into its parts.
fn parse_credential(credential: &str) -> Option<Scope> {
    let parts: Vec<&str> = credential.split('/').collect();
    match parts.as_slice() {
        [key, _date, region, service, "aws4_request"] if !key.is_empty() => Some(Scope {
            access_key: key.to_string(),
            region: region.to_string(),
            service: service.to_string(),
        }),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_scope_comes_from_the_authorization_header() {
        let mut headers = HeaderMap::new();
        headers.insert(
            "authorization",
            "AWS4-HMAC-SHA256 Credential=ASIAEXAMPLE/20261207/eu-west-1/lambda/aws4_request, SignedHeaders=host;x-amz-date, Signature=abc"
                .parse()
                .unwrap(),
        );
        assert_eq!(
            scope(&headers, None),
            Some(Scope {
                access_key: "ASIAEXAMPLE".into(),
                region: "eu-west-1".into(),
                service: "lambda".into()
            })
        );
    }

    #[test]
    fn presigned_urls_and_unsigned_requests() {
        let query = "X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKID%2F20261207%2Fus-west-2%2Fsts%2Faws4_request";
        let s = scope(&HeaderMap::new(), Some(query)).unwrap();
        assert_eq!(
            (s.region.as_str(), s.service.as_str()),
            ("us-west-2", "sts")
        );
        assert_eq!(scope(&HeaderMap::new(), None), None);
        let mut bad = HeaderMap::new();
        bad.insert("authorization", "Bearer x".parse().unwrap());
        assert_eq!(scope(&bad, None), None);
    }
}
