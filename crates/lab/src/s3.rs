//! A minimal Amazon S3 (restXml, path-style addressing): the buckets and objects a .zip
//! package larger than CreateFunction takes inline is staged in. CreateBucket, HeadBucket,
//! PutObject, GetObject, HeadObject and DeleteObject, with errors as S3 answers them (an XML
//! `<Error>` body; no body for HEAD). Buckets belong to the account and region they were
//! created in; versioning is not simulated.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use axum::body::Body;
use axum::extract::Request;
use axum::http::{HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};

use crate::Lab;

/// The largest object a single PutObject takes (S3's limit is 5 GB; the lab keeps objects
/// in memory and takes less).
pub const MAX_OBJECT_BYTES: usize = 512 * 1024 * 1024;

/// A bucket's objects by key.
type Objects = BTreeMap<String, Arc<[u8]>>;

/// Buckets and their objects.
#[derive(Debug, Default)]
pub struct Store {
    buckets: Mutex<BTreeMap<String, Objects>>,
}

/// A failed S3 request, as S3 reports it.
#[derive(Debug, Clone, PartialEq)]
pub struct S3Error {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
    /// `<BucketName>` or `<Key>`, as S3 adds them.
    pub resource: Option<(&'static str, String)>,
}

impl S3Error {
    pub fn no_such_bucket(bucket: &str) -> S3Error {
        S3Error {
            status: StatusCode::NOT_FOUND,
            code: "NoSuchBucket",
            message: "The specified bucket does not exist".into(),
            resource: Some(("BucketName", bucket.into())),
        }
    }

    pub fn no_such_key(key: &str) -> S3Error {
        S3Error {
            status: StatusCode::NOT_FOUND,
            code: "NoSuchKey",
            message: "The specified key does not exist.".into(),
            resource: Some(("Key", key.into())),
        }
    }

    fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> S3Error {
        S3Error {
            status,
            code,
            message: message.into(),
            resource: None,
        }
    }

    /// The `<Error>` document; HEAD answers carry the status alone.
    fn response(&self, head: bool) -> Response {
        let request_id = uuid::Uuid::new_v4().simple().to_string().to_uppercase();
        let body = if head {
            String::new()
        } else {
            let resource = match &self.resource {
                Some((tag, value)) => format!("<{tag}>{}</{tag}>", escape(value)),
                None => String::new(),
            };
            format!(
                "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>{}</Code><Message>{}</Message>{resource}<RequestId>{request_id}</RequestId><HostId>lab</HostId></Error>",
                self.code,
                escape(&self.message)
            )
        };
        let mut response = (self.status, body).into_response();
        let headers = response.headers_mut();
        if !head {
            headers.insert("content-type", HeaderValue::from_static("application/xml"));
        }
        if let Ok(v) = HeaderValue::from_str(&request_id) {
            headers.insert("x-amz-request-id", v);
        }
        response
    }
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

impl Store {
    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<String, Objects>> {
        self.buckets.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Creates a bucket; false when it exists already.
    pub fn create_bucket(&self, bucket: &str) -> bool {
        let mut buckets = self.lock();
        if buckets.contains_key(bucket) {
            return false;
        }
        buckets.insert(bucket.to_string(), BTreeMap::new());
        true
    }

    pub fn has_bucket(&self, bucket: &str) -> bool {
        self.lock().contains_key(bucket)
    }

    pub fn put(&self, bucket: &str, key: &str, bytes: Arc<[u8]>) -> Result<(), S3Error> {
        let mut buckets = self.lock();
        let objects = buckets
            .get_mut(bucket)
            .ok_or_else(|| S3Error::no_such_bucket(bucket))?;
        objects.insert(key.to_string(), bytes);
        Ok(())
    }

    pub fn get(&self, bucket: &str, key: &str) -> Result<Arc<[u8]>, S3Error> {
        let buckets = self.lock();
        let objects = buckets
            .get(bucket)
            .ok_or_else(|| S3Error::no_such_bucket(bucket))?;
        objects
            .get(key)
            .cloned()
            .ok_or_else(|| S3Error::no_such_key(key))
    }

    /// Deletes an object; a key that is not there is no error (S3 answers 204 either way).
    pub fn delete(&self, bucket: &str, key: &str) -> Result<(), S3Error> {
        let mut buckets = self.lock();
        let objects = buckets
            .get_mut(bucket)
            .ok_or_else(|| S3Error::no_such_bucket(bucket))?;
        objects.remove(key);
        Ok(())
    }

    /// The keys in a bucket, in order (empty for a bucket that does not exist).
    pub fn keys(&self, bucket: &str) -> Vec<String> {
        self.lock()
            .get(bucket)
            .map(|o| o.keys().cloned().collect())
            .unwrap_or_default()
    }
}

/// The operation a path-style request names.
#[derive(Debug, PartialEq, Eq)]
enum Operation {
    CreateBucket,
    HeadBucket,
    PutObject,
    GetObject,
    HeadObject,
    DeleteObject,
}

impl Operation {
    fn action(&self) -> &'static str {
        match self {
            Operation::CreateBucket => "s3:CreateBucket",
            // S3 authorizes HeadBucket as s3:ListBucket, HeadObject as s3:GetObject.
            Operation::HeadBucket => "s3:ListBucket",
            Operation::PutObject => "s3:PutObject",
            Operation::GetObject | Operation::HeadObject => "s3:GetObject",
            Operation::DeleteObject => "s3:DeleteObject",
        }
    }
}

fn operation(method: &Method, has_key: bool) -> Option<Operation> {
    Some(match (method.as_str(), has_key) {
        ("PUT", false) => Operation::CreateBucket,
        ("HEAD", false) => Operation::HeadBucket,
        ("PUT", true) => Operation::PutObject,
        ("GET", true) => Operation::GetObject,
        ("HEAD", true) => Operation::HeadObject,
        ("DELETE", true) => Operation::DeleteObject,
        _ => return None,
    })
}

/// `/bucket/key...`, percent-decoded.
fn bucket_and_key(path: &str) -> (String, String) {
    let decode = |s: &str| {
        percent_encoding::percent_decode_str(s)
            .decode_utf8_lossy()
            .into_owned()
    };
    let path = path.strip_prefix('/').unwrap_or(path);
    match path.split_once('/') {
        Some((bucket, key)) => (decode(bucket), decode(key)),
        None => (decode(path), String::new()),
    }
}

/// Serves one S3 request for `lab`'s account and region.
pub async fn handle(lab: &Lab, request: Request) -> Response {
    let head = request.method() == Method::HEAD;
    let (bucket, key) = bucket_and_key(request.uri().path());
    let Some(op) = operation(request.method(), !key.is_empty()) else {
        return S3Error::new(
            StatusCode::NOT_IMPLEMENTED,
            "NotImplemented",
            format!(
                "the lab's S3 serves CreateBucket, HeadBucket, PutObject, GetObject, HeadObject and DeleteObject, not {} {}",
                request.method(),
                request.uri().path()
            ),
        )
        .response(head);
    };
    if lab.config.deny.denies(op.action()) {
        return S3Error::new(StatusCode::FORBIDDEN, "AccessDenied", "Access Denied").response(head);
    }
    let streaming = request
        .headers()
        .get("x-amz-content-sha256")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("STREAMING-"));
    if streaming {
        return S3Error::new(
            StatusCode::NOT_IMPLEMENTED,
            "NotImplemented",
            "the lab's S3 does not take aws-chunked uploads: send the checksum in a header",
        )
        .response(head);
    }
    let store = &lab.objects;
    let region = lab.account.region.clone();
    let result = match op {
        // Names starting with `sthree-` are reserved by S3.
        Operation::CreateBucket if bucket.starts_with("sthree-") => Err(S3Error::new(
            StatusCode::BAD_REQUEST,
            "InvalidBucketName",
            "The specified bucket is not valid.",
        )),
        Operation::CreateBucket => {
            if store.create_bucket(&bucket) {
                Ok(with_header(
                    StatusCode::OK.into_response(),
                    "location",
                    &format!("/{bucket}"),
                ))
            } else {
                Err(S3Error::new(
                    StatusCode::CONFLICT,
                    "BucketAlreadyOwnedByYou",
                    "Your previous request to create the named bucket succeeded and you already own it.",
                ))
            }
        }
        Operation::HeadBucket => {
            let response = if store.has_bucket(&bucket) {
                StatusCode::OK.into_response()
            } else {
                S3Error::no_such_bucket(&bucket).response(true)
            };
            Ok(with_header(response, "x-amz-bucket-region", &region))
        }
        Operation::PutObject => match axum::body::to_bytes(request.into_body(), MAX_OBJECT_BYTES).await {
            Ok(bytes) => {
                let etag = etag(&bytes);
                store
                    .put(&bucket, &key, Arc::from(bytes.as_ref()))
                    .map(|()| with_header(StatusCode::OK.into_response(), "etag", &etag))
            }
            Err(_) => Err(S3Error::new(
                StatusCode::BAD_REQUEST,
                "EntityTooLarge",
                format!(
                    "Your proposed upload exceeds the maximum allowed size (the lab keeps objects up to {} MB)",
                    MAX_OBJECT_BYTES / (1024 * 1024)
                ),
            )),
        },
        Operation::GetObject => store.get(&bucket, &key).map(|bytes| {
            let etag = etag(&bytes);
            let response = (
                StatusCode::OK,
                [("content-type", "application/octet-stream")],
                Body::from(bytes.to_vec()),
            )
                .into_response();
            with_header(response, "etag", &etag)
        }),
        Operation::HeadObject => store.get(&bucket, &key).map(|bytes| {
            let response = with_header(
                StatusCode::OK.into_response(),
                "content-length",
                &bytes.len().to_string(),
            );
            with_header(response, "etag", &etag(&bytes))
        }),
        Operation::DeleteObject => store
            .delete(&bucket, &key)
            .map(|()| StatusCode::NO_CONTENT.into_response()),
    };
    result.unwrap_or_else(|e| e.response(head))
}

fn with_header(mut response: Response, name: &'static str, value: &str) -> Response {
    if let Ok(v) = HeaderValue::from_str(value) {
        response.headers_mut().insert(name, v);
    }
    response
}

/// S3's ETag of an object uploaded in one part: the hex MD5 of its bytes, quoted.
fn etag(bytes: &[u8]) -> String {
    use md5::Digest;
    let digest = md5::Md5::digest(bytes);
    let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
    format!("\"{hex}\"")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn path_style_names_bucket_and_key() {
        assert_eq!(
            bucket_and_key("/b/memtune/run%201/f.zip"),
            ("b".to_string(), "memtune/run 1/f.zip".to_string())
        );
        assert_eq!(bucket_and_key("/b"), ("b".to_string(), String::new()));
        assert_eq!(operation(&Method::HEAD, false), Some(Operation::HeadBucket));
        assert_eq!(operation(&Method::POST, true), None);
    }

    #[test]
    fn objects_live_in_buckets_that_exist() {
        let store = Store::default();
        assert_eq!(
            store.put("b", "k", Arc::from(&b"x"[..])).unwrap_err().code,
            "NoSuchBucket"
        );
        assert!(store.create_bucket("b"));
        assert!(!store.create_bucket("b"));
        store.put("b", "k", Arc::from(&b"x"[..])).unwrap();
        assert_eq!(&*store.get("b", "k").unwrap(), b"x");
        assert_eq!(store.get("b", "j").unwrap_err().code, "NoSuchKey");
        store.delete("b", "k").unwrap();
        store.delete("b", "k").unwrap();
        assert!(store.keys("b").is_empty());
    }

    #[test]
    fn the_etag_is_the_quoted_md5() {
        assert_eq!(etag(b""), "\"d41d8cd98f00b204e9800998ecf8427e\"");
    }
}
