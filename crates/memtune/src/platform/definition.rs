//! A whole function as GetFunction describes it (configuration with the environment's values,
//! code, tags), and what CreateFunction takes to make a copy of it.

use std::collections::BTreeMap;

use super::{FunctionConfig, ImageSettings};

/// Where a function's code is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CodeSource {
    /// A .zip package behind a presigned URL (valid for ten minutes).
    Zip { location: String },
    /// A container image.
    Image { uri: String },
}

/// Everything about a function that a copy needs, including values memtune never stores
/// (environment variables).
#[derive(Debug, Clone, PartialEq)]
pub struct FunctionDefinition {
    pub config: FunctionConfig,
    pub code: CodeSource,
    /// The .zip package's size in bytes, as Lambda reports it (0 for an image).
    pub code_size: u64,
    pub environment: BTreeMap<String, String>,
    pub tags: BTreeMap<String, String>,
    /// The log group the function writes to, when it names one.
    pub log_group: Option<String>,
}

/// The package CreateFunction gets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NewCode {
    /// The .zip bytes, sent inline (Lambda takes up to 50 MB this way).
    Zip(Vec<u8>),
    /// A .zip staged in S3 (larger packages), in the function's region.
    S3 {
        bucket: String,
        key: String,
    },
    Image(String),
}

/// A CreateFunction request.
#[derive(Debug, Clone, PartialEq)]
pub struct NewFunction {
    pub name: String,
    pub code: NewCode,
    pub role: String,
    pub runtime: Option<String>,
    pub handler: Option<String>,
    pub architecture: String,
    pub memory_mb: u32,
    pub timeout_s: u32,
    pub description: String,
    pub environment: BTreeMap<String, String>,
    pub layers: Vec<String>,
    pub subnet_ids: Vec<String>,
    pub security_group_ids: Vec<String>,
    pub ipv6_allowed_for_dual_stack: bool,
    pub ephemeral_storage_mb: u32,
    pub log_format: String,
    pub application_log_level: Option<String>,
    pub system_log_level: Option<String>,
    pub log_group: Option<String>,
    pub image_config: Option<ImageSettings>,
    pub tracing_mode: String,
    pub tags: BTreeMap<String, String>,
}

/// The largest .zip CreateFunction takes inline; bigger packages must go through S3.
pub const MAX_INLINE_ZIP_BYTES: usize = 50 * 1024 * 1024;

/// The largest package memtune stages in S3: Lambda's 250 MB quota on a function's code
/// unzipped (a .zip is never much larger than what it holds).
pub const MAX_STAGED_ZIP_BYTES: usize = 250 * 1024 * 1024;
