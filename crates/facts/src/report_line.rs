//! Lambda's REPORT line, in the Text and the JSON log format: written by the lab ([`text`],
//! [`json_event`]) and read by the tuner ([`parse_report`]), so both agree on one format.
//!
//! The invoke API returns the last 4 KB of an invocation's log (`X-Amz-Log-Result`), so the
//! text handed here may start mid-line and holds other log lines around the REPORT. Parsing
//! is line based, tolerant of trailing tabs, CRLF and unknown fields, and never panics: a line
//! that cannot be read completely is skipped.

use serde::Serialize;
use serde_json::{json, Value};

/// Lambda's own account of one invocation.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Report {
    pub request_id: String,
    /// Handler duration (excludes INIT), in ms.
    pub duration_ms: f64,
    pub billed_ms: u64,
    pub memory_mb: u32,
    pub max_memory_used_mb: u32,
    /// INIT duration, present on a cold start.
    pub init_ms: Option<f64>,
    /// SnapStart restore duration, present on a restored cold start.
    pub restore_ms: Option<f64>,
    /// The billed part of the restore (loading the runtime, after-restore hooks; not the
    /// snapshot's restore), included in `billed_ms`.
    pub billed_restore_ms: Option<u64>,
    pub status: ReportStatus,
}

/// How the platform says the invocation ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub enum ReportStatus {
    Success,
    /// `Status: error`, with the `Error Type` when the line has one.
    Error(Option<String>),
    Timeout,
}

/// The last REPORT in a log tail, in either log format.
pub fn parse_report(log: &str) -> Option<Report> {
    log.lines().rev().find_map(parse_line)
}

/// Whether a line looks like a REPORT, parsable or not.
pub fn looks_like_report(line: &str) -> bool {
    line.contains("REPORT RequestId:") || line.contains("\"platform.report\"")
}

fn parse_line(line: &str) -> Option<Report> {
    let line = line.trim();
    if let Some(at) = line.find("REPORT RequestId:") {
        parse_text(&line[at..])
    } else if line.contains("platform.report") {
        parse_json(line)
    } else {
        None
    }
}

/// `REPORT RequestId: id\tDuration: 1.00 ms\tBilled Duration: 1 ms\t...`
fn parse_text(line: &str) -> Option<Report> {
    let mut fields = TextFields::default();
    for field in line.split('\t') {
        let Some((key, value)) = field.split_once(':') else {
            continue;
        };
        fields.set(key.trim(), value.trim());
    }
    fields.into_report()
}

#[derive(Default)]
struct TextFields<'a> {
    request_id: Option<&'a str>,
    duration_ms: Option<f64>,
    billed_ms: Option<f64>,
    memory_mb: Option<f64>,
    max_memory_used_mb: Option<f64>,
    init_ms: Option<f64>,
    restore_ms: Option<f64>,
    billed_restore_ms: Option<f64>,
    status: Option<&'a str>,
    error_type: Option<&'a str>,
}

impl<'a> TextFields<'a> {
    fn set(&mut self, key: &str, value: &'a str) {
        match key {
            "REPORT RequestId" => self.request_id = Some(value),
            "Duration" => self.duration_ms = quantity(value, "ms"),
            "Billed Duration" => self.billed_ms = quantity(value, "ms"),
            "Memory Size" => self.memory_mb = quantity(value, "MB"),
            "Max Memory Used" => self.max_memory_used_mb = quantity(value, "MB"),
            "Init Duration" => self.init_ms = quantity(value, "ms"),
            "Restore Duration" => self.restore_ms = quantity(value, "ms"),
            "Billed Restore Duration" => self.billed_restore_ms = quantity(value, "ms"),
            "Status" => self.status = Some(value),
            "Error Type" => self.error_type = Some(value),
            _ => {}
        }
    }

    fn into_report(self) -> Option<Report> {
        let request_id = self.request_id.filter(|id| !id.is_empty())?;
        Some(Report {
            request_id: request_id.to_string(),
            duration_ms: self.duration_ms?,
            billed_ms: whole(self.billed_ms?)?,
            memory_mb: u32::try_from(whole(self.memory_mb?)?).ok()?,
            max_memory_used_mb: u32::try_from(whole(self.max_memory_used_mb?)?).ok()?,
            init_ms: self.init_ms,
            restore_ms: self.restore_ms,
            billed_restore_ms: self.billed_restore_ms.and_then(whole),
            status: status(self.status, self.error_type),
        })
    }
}

/// `"469.40 ms"` -> 469.4 when the unit matches; rejects negative and non-finite numbers.
fn quantity(value: &str, unit: &str) -> Option<f64> {
    let number = value.strip_suffix(unit)?.trim();
    number
        .parse::<f64>()
        .ok()
        .filter(|x| x.is_finite() && *x >= 0.0)
}

fn whole(x: f64) -> Option<u64> {
    (x.is_finite() && x >= 0.0 && x < u64::MAX as f64).then(|| x.round() as u64)
}

fn status(status: Option<&str>, error_type: Option<&str>) -> ReportStatus {
    match status.map(str::to_ascii_lowercase).as_deref() {
        Some("timeout") => ReportStatus::Timeout,
        Some("error") => ReportStatus::Error(error_type.map(str::to_string)),
        _ => ReportStatus::Success,
    }
}

/// `{"type":"platform.report","record":{"requestId":..,"status":..,"metrics":{..}}}`
fn parse_json(line: &str) -> Option<Report> {
    let start = line.find('{')?;
    let event: Value = serde_json::from_str(&line[start..]).ok()?;
    if event.get("type")?.as_str()? != "platform.report" {
        return None;
    }
    let record = event.get("record")?;
    let metrics = record.get("metrics")?;
    let number = |key: &str| {
        metrics
            .get(key)
            .and_then(Value::as_f64)
            .filter(|x| x.is_finite() && *x >= 0.0)
    };
    Some(Report {
        request_id: record.get("requestId")?.as_str()?.to_string(),
        duration_ms: number("durationMs")?,
        billed_ms: whole(number("billedDurationMs")?)?,
        memory_mb: u32::try_from(whole(number("memorySizeMB")?)?).ok()?,
        max_memory_used_mb: u32::try_from(whole(number("maxMemoryUsedMB")?)?).ok()?,
        init_ms: number("initDurationMs"),
        restore_ms: number("restoreDurationMs"),
        billed_restore_ms: number("billedRestoreDurationMs").and_then(whole),
        status: status(
            record.get("status").and_then(Value::as_str),
            record.get("errorType").and_then(Value::as_str),
        ),
    })
}

impl ReportStatus {
    /// The `status` of a JSON `platform.report` record.
    fn as_str(&self) -> &'static str {
        match self {
            ReportStatus::Success => "success",
            ReportStatus::Error(_) => "error",
            ReportStatus::Timeout => "timeout",
        }
    }
}

/// The REPORT line in the Text log format, as Lambda writes it (tab-separated, newline-ended).
pub fn text(r: &Report) -> String {
    let mut line = format!(
        "REPORT RequestId: {}\tDuration: {:.2} ms\tBilled Duration: {} ms\tMemory Size: {} MB\tMax Memory Used: {} MB\t",
        r.request_id, r.duration_ms, r.billed_ms, r.memory_mb, r.max_memory_used_mb
    );
    if let Some(init) = r.init_ms {
        line.push_str(&format!("Init Duration: {init:.2} ms\t"));
    }
    if let Some(restore) = r.restore_ms {
        line.push_str(&format!("Restore Duration: {restore:.2} ms\t"));
    }
    if let Some(billed) = r.billed_restore_ms {
        line.push_str(&format!("Billed Restore Duration: {billed} ms\t"));
    }
    if r.status != ReportStatus::Success {
        line.push_str(&format!("Status: {}\t", r.status.as_str()));
    }
    if let ReportStatus::Error(Some(kind)) = &r.status {
        line.push_str(&format!("Error Type: {kind}\t"));
    }
    line.push('\n');
    line
}

/// The `platform.report` event in the JSON log format at `time` (RFC 3339), newline-ended.
pub fn json_event(r: &Report, time: &str) -> String {
    let mut metrics = json!({
        "durationMs": round2(r.duration_ms),
        "billedDurationMs": r.billed_ms,
        "memorySizeMB": r.memory_mb,
        "maxMemoryUsedMB": r.max_memory_used_mb,
    });
    if let Some(init) = r.init_ms {
        metrics["initDurationMs"] = json!(round2(init));
    }
    if let Some(restore) = r.restore_ms {
        metrics["restoreDurationMs"] = json!(round2(restore));
    }
    if let Some(billed) = r.billed_restore_ms {
        metrics["billedRestoreDurationMs"] = json!(billed);
    }
    let mut record = json!({
        "requestId": r.request_id,
        "metrics": metrics,
        "status": r.status.as_str(),
    });
    if let ReportStatus::Error(Some(kind)) = &r.status {
        record["errorType"] = json!(kind);
    }
    json!({"time": time, "type": "platform.report", "record": record}).to_string() + "\n"
}

/// JSON metrics carry two decimals, like the Text format.
fn round2(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEXT: &str = "START RequestId: 6f1a Version: 3\n\
        2026-01-02T03:04:05.678Z 6f1a INFO hello\n\
        END RequestId: 6f1a\n\
        REPORT RequestId: 6f1a\tDuration: 469.40 ms\tBilled Duration: 470 ms\tMemory Size: 1024 MB\tMax Memory Used: 21 MB\tInit Duration: 100.99 ms\t\n";

    const JSON: &str = r#"{"time":"2026-01-02T03:04:05.678Z","type":"platform.start","record":{"requestId":"9b2c","version":"3"}}
{"time":"2026-01-02T03:04:05.999Z","type":"platform.report","record":{"requestId":"9b2c","metrics":{"durationMs":12.5,"billedDurationMs":13,"memorySizeMB":512,"maxMemoryUsedMB":80},"status":"success"}}
"#;

    #[test]
    fn text_cold_start() {
        let r = parse_report(TEXT).unwrap();
        assert_eq!(r.request_id, "6f1a");
        assert_eq!(r.duration_ms, 469.40);
        assert_eq!(r.billed_ms, 470);
        assert_eq!(r.memory_mb, 1024);
        assert_eq!(r.max_memory_used_mb, 21);
        assert_eq!(r.init_ms, Some(100.99));
        assert_eq!(r.restore_ms, None);
        assert_eq!(r.status, ReportStatus::Success);
    }

    #[test]
    fn text_with_crlf_without_trailing_tab_and_extra_fields() {
        let log = "END RequestId: a\r\nREPORT RequestId: a\tDuration: 1.00 ms\tBilled Duration: 1 ms\tMemory Size: 128 MB\tMax Memory Used: 50 MB\tXRAY TraceId: 1-abc\tSegmentId: 9f\tSampled: true\r\n";
        let r = parse_report(log).unwrap();
        assert_eq!(r.request_id, "a");
        assert_eq!(r.memory_mb, 128);
        assert_eq!(r.init_ms, None);
    }

    #[test]
    fn text_out_of_memory_and_timeout_status() {
        let oom = "REPORT RequestId: b\tDuration: 80.12 ms\tBilled Duration: 81 ms\tMemory Size: 128 MB\tMax Memory Used: 128 MB\tStatus: error\tError Type: Runtime.OutOfMemory\t";
        let r = parse_report(oom).unwrap();
        assert_eq!(
            r.status,
            ReportStatus::Error(Some("Runtime.OutOfMemory".into()))
        );
        let timeout = "REPORT RequestId: c\tDuration: 3000.00 ms\tBilled Duration: 3000 ms\tMemory Size: 128 MB\tMax Memory Used: 60 MB\tStatus: timeout\n";
        assert_eq!(parse_report(timeout).unwrap().status, ReportStatus::Timeout);
    }

    #[test]
    fn text_snapstart_restore() {
        let log = "REPORT RequestId: d\tDuration: 5.00 ms\tBilled Duration: 6 ms\tMemory Size: 512 MB\tMax Memory Used: 90 MB\tRestore Duration: 310.55 ms\tBilled Restore Duration: 120 ms\t";
        let r = parse_report(log).unwrap();
        assert_eq!(r.restore_ms, Some(310.55));
        assert_eq!(r.billed_restore_ms, Some(120));
        assert_eq!(r.init_ms, None);
    }

    #[test]
    fn json_warm_and_error() {
        let r = parse_report(JSON).unwrap();
        assert_eq!(r.request_id, "9b2c");
        assert_eq!(r.duration_ms, 12.5);
        assert_eq!(r.billed_ms, 13);
        assert_eq!(r.init_ms, None);
        let err = r#"{"time":"t","type":"platform.report","record":{"requestId":"e","status":"error","errorType":"Runtime.OutOfMemory","metrics":{"durationMs":5,"billedDurationMs":5,"memorySizeMB":128,"maxMemoryUsedMB":128,"initDurationMs":200.5}}}"#;
        let r = parse_report(err).unwrap();
        assert_eq!(
            r.status,
            ReportStatus::Error(Some("Runtime.OutOfMemory".into()))
        );
        assert_eq!(r.init_ms, Some(200.5));
        let timeout = err.replace(r#""status":"error""#, r#""status":"timeout""#);
        assert_eq!(
            parse_report(&timeout).unwrap().status,
            ReportStatus::Timeout
        );
    }

    #[test]
    fn the_last_report_wins_and_other_events_are_ignored() {
        let log = format!("{TEXT}{JSON}{{\"type\":\"platform.runtimeDone\",\"record\":{{}}}}\n");
        assert_eq!(parse_report(&log).unwrap().request_id, "9b2c");
    }

    #[test]
    fn incomplete_reports_are_not_reports() {
        assert!(parse_report("").is_none());
        assert!(parse_report("hello\nworld").is_none());
        // Cut at the start of the tail: the request id is gone.
        assert!(
            parse_report("estId: 6f1a\tDuration: 469.40 ms\tBilled Duration: 470 ms").is_none()
        );
        assert!(parse_report("REPORT RequestId: x\tDuration: -1 ms\tBilled Duration: 1 ms\tMemory Size: 128 MB\tMax Memory Used: 5 MB").is_none());
        assert!(parse_report("REPORT RequestId: x\tDuration: NaN ms\tBilled Duration: 1 ms\tMemory Size: 128 MB\tMax Memory Used: 5 MB").is_none());
        assert!(parse_report("REPORT RequestId: x\tDuration: 1 s\tBilled Duration: 1 ms\tMemory Size: 128 MB\tMax Memory Used: 5 MB").is_none());
    }

    #[test]
    fn every_truncation_of_a_report_parses_or_is_rejected_without_panic() {
        let json_report = JSON.lines().nth(1).unwrap();
        for source in [TEXT, json_report] {
            for cut in 0..=source.len() {
                if !source.is_char_boundary(cut) {
                    continue;
                }
                // Cut at the end (a line written partway) and at the start (the 4 KB tail).
                let head = parse_report(&source[..cut]);
                let tail = parse_report(&source[cut..]);
                for r in [head, tail].into_iter().flatten() {
                    assert!(r.duration_ms >= 0.0);
                    assert!(!r.request_id.is_empty());
                }
            }
        }
    }

    #[test]
    fn garbage_never_panics() {
        let samples = [
            "REPORT RequestId:",
            "REPORT RequestId: \t\t\t:::\t",
            "REPORT RequestId: a\tMemory Size: 99999999999999 MB",
            "REPORT RequestId: a\tDuration: 1e400 ms\tBilled Duration: 1e30 ms\tMemory Size: 1e30 MB\tMax Memory Used: 1 MB",
            "{\"type\":\"platform.report\"",
            "{\"type\":\"platform.report\",\"record\":[]}",
            "{\"type\":\"platform.report\",\"record\":{\"metrics\":{\"durationMs\":\"x\"}}}",
            "\u{feff}REPORT RequestId: é\tDuration: ½ ms",
        ];
        for s in samples {
            assert!(parse_report(s).is_none(), "{s}");
        }
        // Pseudo-random byte soup built from REPORT fragments.
        let pieces = [
            "REPORT RequestId: ",
            "\t",
            "Duration: ",
            "1.5",
            " ms",
            "MB",
            "\r\n",
            "{",
            "\"platform.report\"",
            "}",
            ":",
            "Status: ",
            "error",
        ];
        let mut state = 0x2545_f491_u64;
        for _ in 0..2000 {
            let mut s = String::new();
            for _ in 0..12 {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                s.push_str(pieces[(state % pieces.len() as u64) as usize]);
            }
            let _ = parse_report(&s);
        }
    }

    fn written(status: ReportStatus, init_ms: Option<f64>, restore_ms: Option<f64>) -> Report {
        Report {
            request_id: "c0ffee".into(),
            duration_ms: 123.46,
            billed_ms: 124,
            memory_mb: 1769,
            max_memory_used_mb: 300,
            init_ms,
            restore_ms,
            billed_restore_ms: restore_ms.map(|r| (r / 2.0).ceil() as u64),
            status,
        }
    }

    #[test]
    fn what_the_lab_writes_the_tuner_reads_back() {
        let oom = ReportStatus::Error(Some("Runtime.OutOfMemory".into()));
        for r in [
            written(ReportStatus::Success, None, None),
            written(ReportStatus::Timeout, Some(250.5), None),
            written(oom, None, Some(80.25)),
            written(ReportStatus::Error(None), Some(1.0), None),
        ] {
            assert_eq!(parse_report(&text(&r)).as_ref(), Some(&r), "{}", text(&r));
            let event = json_event(&r, "2026-01-02T03:04:05.678Z");
            assert_eq!(parse_report(&event).as_ref(), Some(&r), "{event}");
        }
    }

    #[test]
    fn text_is_lambdas_tab_separated_line() {
        let r = written(
            ReportStatus::Error(Some("Runtime.OutOfMemory".into())),
            Some(100.991),
            None,
        );
        assert_eq!(
            text(&r),
            "REPORT RequestId: c0ffee\tDuration: 123.46 ms\tBilled Duration: 124 ms\tMemory Size: 1769 MB\tMax Memory Used: 300 MB\tInit Duration: 100.99 ms\tStatus: error\tError Type: Runtime.OutOfMemory\t\n"
        );
    }
}
