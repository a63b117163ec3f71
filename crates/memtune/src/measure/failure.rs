//! How an invocation ended, from every signal Lambda gives: the `X-Amz-Function-Error`
//! header, the error payload, the REPORT status and the log tail; and why a log tail has no
//! REPORT at all.

use std::fmt;

use serde::{Deserialize, Serialize};

use memtune_facts::report_line::{looks_like_report, Report, ReportStatus};

const OUT_OF_MEMORY_TYPE: &str = "Runtime.OutOfMemory";
const KILLED: &str = "Runtime exited with error: signal: killed";
const TIMEOUT_TYPE: &str = "Sandbox.Timedout";
const TIMED_OUT: &str = "Task timed out after";
/// Error type of a runtime process that exited (signal or exit status).
const EXIT_ERROR_TYPE: &str = "Runtime.ExitError";

/// How one invocation ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub enum Outcome {
    Success,
    Failure(Failure),
}

/// Why an invocation failed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub enum Failure {
    /// Killed for exceeding the memory size.
    OutOfMemory,
    /// Ran into the function's timeout.
    Timeout,
    /// Any other handled or unhandled error, by its `errorType` (`"Unknown"` when the
    /// payload names none).
    FunctionError(String),
}

/// The `{"errorMessage", "errorType"}` body of a failed invocation.
#[derive(Debug, Default, Deserialize)]
struct ErrorPayload {
    #[serde(rename = "errorMessage", default)]
    message: Option<String>,
    #[serde(rename = "errorType", default)]
    kind: Option<String>,
}

/// Classifies an invocation. `function_error` is the `X-Amz-Function-Error` header
/// (`Handled`/`Unhandled`), `payload` the response body, `log` the decoded log tail.
///
/// Out-of-memory and timeout are recognised from any one of their signals, because each can
/// be missing: the REPORT may be suppressed, the payload may be the function's own. Log text
/// only counts once the header or the REPORT says the invocation failed, so a function that
/// merely logs "Task timed out" about something else still succeeds.
pub fn classify(
    function_error: Option<&str>,
    payload: &[u8],
    report: Option<&Report>,
    log: &str,
) -> Outcome {
    let report_failed = report.is_some_and(|r| r.status != ReportStatus::Success);
    if function_error.is_none() && !report_failed {
        return Outcome::Success;
    }
    let payload: ErrorPayload = if function_error.is_some() {
        serde_json::from_slice(payload).unwrap_or_default()
    } else {
        ErrorPayload::default()
    };
    let signals = Signals {
        kind: payload.kind.as_deref(),
        message: payload.message.as_deref(),
        report,
        log,
    };
    let failure = if signals.timed_out() {
        Failure::Timeout
    } else if signals.out_of_memory() {
        Failure::OutOfMemory
    } else {
        let name = signals.kind.or(signals.report_type()).unwrap_or("Unknown");
        Failure::FunctionError(name.to_string())
    };
    Outcome::Failure(failure)
}

/// Everything a failed invocation says about itself.
struct Signals<'a> {
    kind: Option<&'a str>,
    message: Option<&'a str>,
    report: Option<&'a Report>,
    log: &'a str,
}

impl Signals<'_> {
    fn mentions(&self, needle: &str) -> bool {
        self.log.contains(needle) || self.message.is_some_and(|m| m.contains(needle))
    }

    fn report_type(&self) -> Option<&str> {
        match &self.report?.status {
            ReportStatus::Error(kind) => kind.as_deref(),
            _ => None,
        }
    }

    fn timed_out(&self) -> bool {
        self.report
            .is_some_and(|r| r.status == ReportStatus::Timeout)
            || self.kind == Some(TIMEOUT_TYPE)
            || self.mentions(TIMED_OUT)
    }

    /// The explicit signals, or a runtime that died with its memory full.
    fn out_of_memory(&self) -> bool {
        let exhausted = self
            .report
            .is_some_and(|r| r.max_memory_used_mb >= r.memory_mb);
        self.kind == Some(OUT_OF_MEMORY_TYPE)
            || self.report_type() == Some(OUT_OF_MEMORY_TYPE)
            || self.mentions(KILLED)
            || (exhausted
                && (self.kind == Some(EXIT_ERROR_TYPE) || self.mentions("signal: killed")))
    }
}

/// Why a log tail holds no usable REPORT, with what to do about it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub enum MissingReport {
    /// No log came back at all.
    EmptyLog,
    /// JSON log format with a system log level above INFO: Lambda drops platform events.
    SuppressedByLogLevel { level: String },
    /// A REPORT is there but cannot be read (cut or unknown layout).
    Unreadable { line: String },
    /// The log has lines but no REPORT, for no reason visible in the configuration.
    NotInTail,
}

/// Explains a log tail without a REPORT, given the function's `LoggingConfig`
/// (`LogFormat` `Text`/`JSON`, `SystemLogLevel`).
pub fn diagnose_missing_report(
    log: &str,
    log_format: &str,
    system_log_level: Option<&str>,
) -> MissingReport {
    let json = log_format.eq_ignore_ascii_case("json");
    if let Some(level) = system_log_level.filter(|l| json && suppresses_report(l)) {
        return MissingReport::SuppressedByLogLevel {
            level: level.to_ascii_uppercase(),
        };
    }
    if let Some(line) = log.lines().rev().find(|l| looks_like_report(l)) {
        return MissingReport::Unreadable {
            line: line.trim().chars().take(300).collect(),
        };
    }
    if log.trim().is_empty() {
        MissingReport::EmptyLog
    } else {
        MissingReport::NotInTail
    }
}

/// The REPORT is an INFO platform event: WARN, ERROR and FATAL drop it.
fn suppresses_report(level: &str) -> bool {
    ["WARN", "ERROR", "FATAL"]
        .iter()
        .any(|l| level.eq_ignore_ascii_case(l))
}

impl fmt::Display for MissingReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            MissingReport::EmptyLog => write!(
                f,
                "the invocation returned no log: invoke with LogType=Tail (X-Amz-Log-Type: Tail); \
                 a synchronous RequestResponse invocation is required"
            ),
            MissingReport::SuppressedByLogLevel { level } => write!(
                f,
                "the function's SystemLogLevel is {level}, which suppresses the REPORT line: set it \
                 to INFO (aws lambda update-function-configuration --function-name FN \
                 --logging-config LogFormat=JSON,SystemLogLevel=INFO) or use the Text log format"
            ),
            MissingReport::Unreadable { line } => write!(
                f,
                "the log has a REPORT that memtune cannot read (cut short or an unknown layout): {line}"
            ),
            MissingReport::NotInTail => write!(
                f,
                "the last 4 KB of the log hold no REPORT line although the logging configuration \
                 allows it; the function may write after its handler returns (extensions, \
                 background threads) and push the REPORT out of the returned tail"
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use memtune_facts::report_line::parse_report;

    fn report(status: ReportStatus, used: u32) -> Report {
        Report {
            request_id: "r".into(),
            duration_ms: 10.0,
            billed_ms: 10,
            memory_mb: 128,
            max_memory_used_mb: used,
            init_ms: None,
            restore_ms: None,
            billed_restore_ms: None,
            status,
        }
    }

    fn fails(outcome: Outcome) -> Failure {
        match outcome {
            Outcome::Failure(f) => f,
            Outcome::Success => panic!("expected a failure"),
        }
    }

    #[test]
    fn success_without_any_error_signal() {
        let r = report(ReportStatus::Success, 40);
        assert_eq!(
            classify(None, br#"{"statusCode":200}"#, Some(&r), "START\nEND\n"),
            Outcome::Success
        );
    }

    #[test]
    fn log_text_alone_does_not_fail_an_invocation() {
        let log = "INFO downstream said: Task timed out after 3.00 seconds\n";
        let r = report(ReportStatus::Success, 40);
        assert_eq!(classify(None, b"{}", Some(&r), log), Outcome::Success);
        assert_eq!(classify(None, b"{}", None, log), Outcome::Success);
    }

    #[test]
    fn out_of_memory_from_each_signal() {
        let payload = br#"{"errorMessage":"RequestId: x Error: Runtime exited with error: signal: killed","errorType":"Runtime.OutOfMemory"}"#;
        assert_eq!(
            fails(classify(Some("Unhandled"), payload, None, "")),
            Failure::OutOfMemory
        );
        let r = report(ReportStatus::Error(Some(OUT_OF_MEMORY_TYPE.into())), 128);
        assert_eq!(
            fails(classify(None, b"", Some(&r), "")),
            Failure::OutOfMemory
        );
        let log = "RequestId: x Error: Runtime exited with error: signal: killed\n";
        assert_eq!(
            fails(classify(Some("Unhandled"), b"not json", None, log)),
            Failure::OutOfMemory
        );
        let exit = br#"{"errorMessage":"Runtime exited with error: exit status 137","errorType":"Runtime.ExitError"}"#;
        let full = report(ReportStatus::Error(Some(EXIT_ERROR_TYPE.into())), 128);
        assert_eq!(
            fails(classify(Some("Unhandled"), exit, Some(&full), "")),
            Failure::OutOfMemory
        );
        let roomy = report(ReportStatus::Error(Some(EXIT_ERROR_TYPE.into())), 60);
        assert_eq!(
            fails(classify(Some("Unhandled"), exit, Some(&roomy), "")),
            Failure::FunctionError(EXIT_ERROR_TYPE.into())
        );
    }

    #[test]
    fn timeout_from_each_signal() {
        let payload = br#"{"errorMessage":"2026-01-01T00:00:00.000Z x Task timed out after 3.00 seconds","errorType":"Sandbox.Timedout"}"#;
        assert_eq!(
            fails(classify(Some("Unhandled"), payload, None, "")),
            Failure::Timeout
        );
        let r = report(ReportStatus::Timeout, 40);
        assert_eq!(fails(classify(None, b"", Some(&r), "")), Failure::Timeout);
        let log = "2026-01-01T00:00:00.000Z x Task timed out after 3.00 seconds\n";
        assert_eq!(
            fails(classify(Some("Unhandled"), b"{}", None, log)),
            Failure::Timeout
        );
    }

    #[test]
    fn other_errors_keep_their_type() {
        let payload = br#"{"errorMessage":"boom","errorType":"ValueError"}"#;
        assert_eq!(
            fails(classify(Some("Handled"), payload, None, "")),
            Failure::FunctionError("ValueError".into())
        );
        assert_eq!(
            fails(classify(Some("Unhandled"), b"\xff\xfe", None, "")),
            Failure::FunctionError("Unknown".into())
        );
        let r = report(ReportStatus::Error(None), 40);
        assert_eq!(
            fails(classify(None, b"", Some(&r), "")),
            Failure::FunctionError("Unknown".into())
        );
    }

    #[test]
    fn lab_log_lines_classify_as_the_lab_meant() {
        let log = "START RequestId: x Version: 1\n\
            2026-01-01T00:00:00.000Z x Task timed out after 3.00 seconds\n\
            END RequestId: x\n\
            REPORT RequestId: x\tDuration: 3000.00 ms\tBilled Duration: 3000 ms\tMemory Size: 128 MB\tMax Memory Used: 64 MB\tStatus: timeout\t\n";
        let r = parse_report(log);
        assert_eq!(
            fails(classify(Some("Unhandled"), b"{}", r.as_ref(), log)),
            Failure::Timeout
        );
    }

    #[test]
    fn missing_report_diagnoses() {
        let start = r#"{"time":"t","type":"platform.start","record":{"requestId":"x"}}"#;
        let d = diagnose_missing_report("", "JSON", Some("WARN"));
        assert_eq!(
            d,
            MissingReport::SuppressedByLogLevel {
                level: "WARN".into()
            }
        );
        let text = d.to_string();
        assert!(text.contains("SystemLogLevel is WARN"), "{text}");
        assert!(text.contains("SystemLogLevel=INFO"), "{text}");
        assert_eq!(
            diagnose_missing_report("", "Text", None),
            MissingReport::EmptyLog
        );
        assert_eq!(
            diagnose_missing_report(start, "JSON", Some("INFO")),
            MissingReport::NotInTail
        );
        let cut = "REPORT RequestId: x\tDuration: 1";
        assert_eq!(
            diagnose_missing_report(cut, "Text", None),
            MissingReport::Unreadable { line: cut.into() }
        );
    }
}
