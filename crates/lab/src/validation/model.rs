//! What Lambda's API model says of each input the lab serves: the members of each
//! operation's request, their JSON types and their constraints, from botocore's
//! `lambda/2015-03-31/service-2.json`, narrowed where Lambda refuses more than its model
//! (MemorySize at most 10240, Timeout at most 900).

use std::sync::LazyLock;

use regex_lite::Regex;

use memtune_facts::{MAX_MEMORY_MB, MIN_MEMORY_MB};

/// A member's type on the wire and its constraints.
pub enum Shape {
    String {
        min: usize,
        max: Option<usize>,
        pattern: Option<Pattern>,
    },
    Enum(&'static [&'static str]),
    /// A 32-bit integer, as the model's `integer`.
    Integer {
        min: i64,
        max: Option<i64>,
    },
    Double {
        min: f64,
        max: f64,
    },
    Boolean,
    /// Base64 text on the wire.
    Blob,
    List {
        item: &'static Shape,
        min: usize,
        max: Option<usize>,
    },
    /// `sensitive` values are not quoted back, as Lambda does for environment variables.
    Map {
        key: &'static Shape,
        value: &'static Shape,
        sensitive: bool,
    },
    Structure(&'static [Member]),
}

pub struct Member {
    /// As on the wire (`MemorySize`); messages use it in camel case (`memorySize`).
    pub name: &'static str,
    pub shape: Shape,
    pub required: bool,
}

/// A model pattern: its text, for messages, and a matcher of the whole value.
pub struct Pattern {
    pub(super) model: &'static str,
    pub(super) matches: fn(&str) -> bool,
}

/// `const $name: Pattern` for the model's pattern `$regex`, matched against the whole value.
macro_rules! pattern {
    ($name:ident, $regex:expr) => {
        const $name: Pattern = Pattern {
            model: $regex,
            matches: {
                fn matches(value: &str) -> bool {
                    static RE: LazyLock<Regex> = LazyLock::new(|| {
                        Regex::new(concat!("^(?:", $regex, ")$")).expect("the pattern compiles")
                    });
                    RE.is_match(value)
                }
                matches
            },
        };
    };
}

pattern!(
    FUNCTION_NAME_PATTERN,
    r"(arn:(aws[a-zA-Z-]*)?:lambda:)?([a-z]{2}((-gov)|(-iso([a-z]?)))?-[a-z]+-\d{1}:)?(\d{12}:)?(function:)?([a-zA-Z0-9-_]+)(:(\$LATEST|[a-zA-Z0-9-_]+))?"
);
pattern!(
    NAMESPACED_FUNCTION_NAME_PATTERN,
    r"(arn:(aws[a-zA-Z-]*)?:lambda:)?([a-z]{2}((-gov)|(-iso([a-z]?)))?-[a-z]+-\d{1}:)?(\d{12}:)?(function:)?([a-zA-Z0-9-_\.]+)(:(\$LATEST(\.PUBLISHED)?|[a-zA-Z0-9-_]+))?"
);
pattern!(
    QUALIFIER_PATTERN,
    r"\$(LATEST(\.PUBLISHED)?)|[a-zA-Z0-9-_$]+"
);
pattern!(VERSION_PATTERN, r"(\$LATEST(\.PUBLISHED)?|[0-9]+)");
pattern!(DIGITS_PATTERN, "[0-9]+");
pattern!(
    ROLE_PATTERN,
    r"arn:(aws[a-zA-Z-]*)?:iam::\d{12}:role/?[a-zA-Z_0-9+=,.@\-_/]+"
);
pattern!(HANDLER_PATTERN, r"[^\s]+");
pattern!(ENV_NAME_PATTERN, "[a-zA-Z]([a-zA-Z0-9_])+");
pattern!(
    LAYER_PATTERN,
    r"arn:[a-zA-Z0-9-]+:lambda:[a-zA-Z0-9-]+:\d{12}:layer:[a-zA-Z0-9-_]+:[0-9]+"
);
pattern!(LOG_GROUP_PATTERN, r"[\.\-_/#A-Za-z0-9]+");
pattern!(
    TAGGABLE_RESOURCE_PATTERN,
    r"arn:(aws[a-zA-Z-]*):lambda:[a-z]{2}((-gov)|(-iso([a-z]?)))?-[a-z]+-\d{1}:\d{12}:(function:[a-zA-Z0-9-_]+(:(\$LATEST|[a-zA-Z0-9-_]+))?|code-signing-config:csc-[a-z0-9]{17}|event-source-mapping:[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}|capacity-provider:[a-zA-Z0-9-_]+)"
);

/// Two model patterns use look-arounds, which `regex_lite` lacks: matched by hand.
const ALIAS_PATTERN: Pattern = Pattern {
    model: "(?!^[0-9]+$)([a-zA-Z0-9-_]+)",
    // Not all digits: those are versions.
    matches: |value| {
        !value.bytes().all(|b| b.is_ascii_digit())
            && value
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    },
};
const S3_BUCKET_PATTERN: Pattern = Pattern {
    model: r"[0-9A-Za-z\.\-_]*(?<!\.)",
    matches: |value| {
        !value.ends_with('.')
            && value
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b))
    },
};

const fn text(min: usize, max: usize) -> Shape {
    Shape::String {
        min,
        max: Some(max),
        pattern: None,
    }
}

const fn patterned(min: usize, max: Option<usize>, pattern: Pattern) -> Shape {
    Shape::String {
        min,
        max,
        pattern: Some(pattern),
    }
}

const fn int(min: i64, max: Option<i64>) -> Shape {
    Shape::Integer { min, max }
}

const fn list(item: &'static Shape, min: usize, max: Option<usize>) -> Shape {
    Shape::List { item, min, max }
}

const ANY_STRING: Shape = Shape::String {
    min: 0,
    max: None,
    pattern: None,
};

const fn member(name: &'static str, shape: Shape) -> Member {
    Member {
        name,
        shape,
        required: false,
    }
}

const fn required(name: &'static str, shape: Shape) -> Member {
    Member {
        name,
        shape,
        required: true,
    }
}

// ---- path, query and header parameters ---------------------------------------------------

/// `FunctionName` of the operations on `$LATEST`, aliases and concurrency.
pub const FUNCTION_NAME: Shape = patterned(1, Some(140), FUNCTION_NAME_PATTERN);
/// `FunctionName` of Get*, DeleteFunction, Invoke and ListVersionsByFunction.
pub const NAMESPACED_FUNCTION_NAME: Shape =
    patterned(1, Some(256), NAMESPACED_FUNCTION_NAME_PATTERN);
pub const QUALIFIER: Shape = patterned(1, Some(128), QUALIFIER_PATTERN);
pub const ALIAS_NAME: Shape = patterned(1, Some(128), ALIAS_PATTERN);
pub const FUNCTION_VERSION: Shape = patterned(1, Some(1024), VERSION_PATTERN);
/// ListTags' `Resource`.
pub const TAGGABLE_RESOURCE: Shape = patterned(1, Some(256), TAGGABLE_RESOURCE_PATTERN);
/// ListFunctions' `FunctionVersion`.
pub const ALL_VERSIONS: Shape = Shape::Enum(&["ALL"]);
pub const INVOCATION_TYPE: Shape = Shape::Enum(&["Event", "RequestResponse", "DryRun"]);
pub const LOG_TYPE: Shape = Shape::Enum(&["None", "Tail"]);
pub(super) const MAX_ITEMS: Shape = int(1, Some(10_000));

// ---- request bodies ----------------------------------------------------------------------

const DESCRIPTION: Shape = text(0, 256);
const STRING_LIST: Shape = list(&ANY_STRING, 0, None);
const ENV_NAME: Shape = patterned(0, None, ENV_NAME_PATTERN);
const LAYER_ARN: Shape = patterned(1, Some(140), LAYER_PATTERN);
const ARCHITECTURE: Shape = Shape::Enum(&["x86_64", "arm64"]);
// Configuration that CreateFunction and UpdateFunctionConfiguration both take.
const VPC_CONFIG: Shape = Shape::Structure(&[
    member("SubnetIds", list(&ANY_STRING, 0, Some(16))),
    member("SecurityGroupIds", list(&ANY_STRING, 0, Some(5))),
    member("Ipv6AllowedForDualStack", Shape::Boolean),
]);
const ENVIRONMENT: Shape = Shape::Structure(&[member(
    "Variables",
    Shape::Map {
        key: &ENV_NAME,
        value: &ANY_STRING,
        sensitive: true,
    },
)]);
const TRACING_CONFIG: Shape =
    Shape::Structure(&[member("Mode", Shape::Enum(&["Active", "PassThrough"]))]);
const IMAGE_CONFIG: Shape = Shape::Structure(&[
    member("EntryPoint", STRING_LIST),
    member("Command", STRING_LIST),
    member("WorkingDirectory", text(0, 1000)),
]);
const EPHEMERAL_STORAGE: Shape = Shape::Structure(&[required("Size", int(512, Some(10_240)))]);
const SNAP_START: Shape = Shape::Structure(&[member(
    "ApplyOn",
    Shape::Enum(&["PublishedVersions", "None"]),
)]);
const LOGGING_CONFIG: Shape = Shape::Structure(&[
    member("LogFormat", Shape::Enum(&["JSON", "Text"])),
    member(
        "ApplicationLogLevel",
        Shape::Enum(&["TRACE", "DEBUG", "INFO", "WARN", "ERROR", "FATAL"]),
    ),
    member("SystemLogLevel", Shape::Enum(&["DEBUG", "INFO", "WARN"])),
    member("LogGroup", patterned(1, Some(512), LOG_GROUP_PATTERN)),
]);

pub const UPDATE_FUNCTION_CONFIGURATION: &[Member] = &[
    member("Role", patterned(0, None, ROLE_PATTERN)),
    member("Handler", patterned(0, Some(128), HANDLER_PATTERN)),
    member("Description", DESCRIPTION),
    // The model says only min 1; Lambda refuses more than 15 minutes.
    member("Timeout", int(1, Some(900))),
    // The model allows 32768 (Managed Instances); functions get at most 10240.
    member(
        "MemorySize",
        int(MIN_MEMORY_MB as i64, Some(MAX_MEMORY_MB as i64)),
    ),
    member("VpcConfig", VPC_CONFIG),
    member("Environment", ENVIRONMENT),
    member("Runtime", ANY_STRING),
    member(
        "DeadLetterConfig",
        Shape::Structure(&[member("TargetArn", ANY_STRING)]),
    ),
    member("KMSKeyArn", ANY_STRING),
    member("TracingConfig", TRACING_CONFIG),
    member("RevisionId", ANY_STRING),
    member("Layers", list(&LAYER_ARN, 0, None)),
    member("ImageConfig", IMAGE_CONFIG),
    member("EphemeralStorage", EPHEMERAL_STORAGE),
    member("SnapStart", SNAP_START),
    member("LoggingConfig", LOGGING_CONFIG),
];

pub const UPDATE_FUNCTION_CODE: &[Member] = &[
    member("ZipFile", Shape::Blob),
    member("S3Bucket", patterned(3, Some(63), S3_BUCKET_PATTERN)),
    member("S3Key", text(1, 1024)),
    member("S3ObjectVersion", text(1, 1024)),
    member("ImageUri", ANY_STRING),
    member("Publish", Shape::Boolean),
    member("DryRun", Shape::Boolean),
    member("RevisionId", ANY_STRING),
    member("Architectures", list(&ARCHITECTURE, 1, Some(1))),
    member("SourceKMSKeyArn", ANY_STRING),
];

pub const PUBLISH_VERSION: &[Member] = &[
    member("CodeSha256", ANY_STRING),
    member("Description", DESCRIPTION),
    member("RevisionId", ANY_STRING),
    member("PublishTo", Shape::Enum(&["LATEST_PUBLISHED"])),
];

const VERSION_NUMBER: Shape = patterned(1, Some(1024), DIGITS_PATTERN);
const ROUTING_CONFIG: Shape = Shape::Structure(&[member(
    "AdditionalVersionWeights",
    Shape::Map {
        key: &VERSION_NUMBER,
        value: &Shape::Double { min: 0.0, max: 1.0 },
        sensitive: false,
    },
)]);

pub const CREATE_ALIAS: &[Member] = &[
    required("Name", ALIAS_NAME),
    required("FunctionVersion", FUNCTION_VERSION),
    member("Description", DESCRIPTION),
    member("RoutingConfig", ROUTING_CONFIG),
];

pub const UPDATE_ALIAS: &[Member] = &[
    member("FunctionVersion", FUNCTION_VERSION),
    member("Description", DESCRIPTION),
    member("RoutingConfig", ROUTING_CONFIG),
    member("RevisionId", ANY_STRING),
];

pub const TAG_RESOURCE: &[Member] = &[required(
    "Tags",
    Shape::Map {
        key: &ANY_STRING,
        value: &ANY_STRING,
        sensitive: false,
    },
)];

pub const PUT_FUNCTION_CONCURRENCY: &[Member] =
    &[required("ReservedConcurrentExecutions", int(0, None))];

pub const PUT_PROVISIONED_CONCURRENCY_CONFIG: &[Member] =
    &[required("ProvisionedConcurrentExecutions", int(1, None))];

const CODE: Shape = Shape::Structure(&[
    member("ZipFile", Shape::Blob),
    member("S3Bucket", patterned(3, Some(63), S3_BUCKET_PATTERN)),
    member("S3Key", text(1, 1024)),
    member("S3ObjectVersion", text(1, 1024)),
    member("ImageUri", ANY_STRING),
    member("SourceKMSKeyArn", ANY_STRING),
]);

pub const CREATE_FUNCTION: &[Member] = &[
    required("FunctionName", FUNCTION_NAME),
    required("Role", patterned(0, None, ROLE_PATTERN)),
    required("Code", CODE),
    member("Runtime", ANY_STRING),
    member("Handler", patterned(0, Some(128), HANDLER_PATTERN)),
    member("Description", DESCRIPTION),
    member("Timeout", int(1, Some(900))),
    member(
        "MemorySize",
        int(MIN_MEMORY_MB as i64, Some(MAX_MEMORY_MB as i64)),
    ),
    member("Publish", Shape::Boolean),
    member("PackageType", Shape::Enum(&["Zip", "Image"])),
    member("Architectures", list(&ARCHITECTURE, 1, Some(1))),
    member(
        "Tags",
        Shape::Map {
            key: &ANY_STRING,
            value: &ANY_STRING,
            sensitive: false,
        },
    ),
    member("Layers", list(&LAYER_ARN, 0, None)),
    member("VpcConfig", VPC_CONFIG),
    member("Environment", ENVIRONMENT),
    member("TracingConfig", TRACING_CONFIG),
    member("ImageConfig", IMAGE_CONFIG),
    member("EphemeralStorage", EPHEMERAL_STORAGE),
    member("SnapStart", SNAP_START),
    member("LoggingConfig", LOGGING_CONFIG),
];
