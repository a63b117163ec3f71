//! Staging a .zip package in S3 over aws-sdk-s3, for a copy whose code is larger than
//! CreateFunction takes inline: PutObject, its deletion, and HeadBucket for preflight.

use aws_sdk_s3::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_s3::primitives::ByteStream;

use super::aws::{map_error, AwsLambda};
use super::{PlatformError, PlatformResult};

impl AwsLambda {
    pub(super) async fn put_package(
        &self,
        bucket: &str,
        key: &str,
        bytes: Vec<u8>,
    ) -> PlatformResult<()> {
        self.s3
            .put_object()
            .bucket(bucket)
            .key(key)
            .content_type("application/zip")
            .body(ByteStream::from(bytes))
            .send()
            .await
            .map(drop)
            .map_err(|e| self.s3_error("PutObject", e))
    }

    /// Deletes a staged object, its current version by id in a versioned bucket (a plain
    /// DeleteObject would leave it behind a delete marker); an object that is not there is
    /// NotFound.
    pub(super) async fn delete_package(&self, bucket: &str, key: &str) -> PlatformResult<()> {
        let head = self
            .s3
            .head_object()
            .bucket(bucket)
            .key(key)
            .send()
            .await
            .map_err(|e| self.s3_error("HeadObject", e))?;
        self.s3
            .delete_object()
            .bucket(bucket)
            .key(key)
            .set_version_id(head.version_id().map(str::to_string))
            .send()
            .await
            .map(drop)
            .map_err(|e| self.s3_error("DeleteObject", e))
    }

    /// HeadBucket: the bucket's region, when S3 says it.
    pub(super) async fn bucket_region(&self, bucket: &str) -> PlatformResult<Option<String>> {
        self.s3
            .head_bucket()
            .bucket(bucket)
            .send()
            .await
            .map(|out| out.bucket_region().map(str::to_string))
            .map_err(|e| self.s3_error("HeadBucket", e))
    }

    /// S3's "not there" answers as NotFound (HEAD requests carry no body, so their code is the
    /// status's); the rest as any AWS error.
    fn s3_error<E>(
        &self,
        operation: &str,
        e: SdkError<E, aws_sdk_lambda::config::http::HttpResponse>,
    ) -> PlatformError
    where
        E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    {
        if let SdkError::ServiceError(service) = &e {
            let code = service.err().code().unwrap_or("");
            let not_found = matches!(code, "NoSuchBucket" | "NoSuchKey" | "NotFound")
                || service.raw().status().as_u16() == 404;
            if not_found {
                let what = if code.is_empty() { "NotFound" } else { code };
                return PlatformError::NotFound(format!("{operation}: {what}"));
            }
        }
        map_error(&self.s3_target, operation, e)
    }
}
