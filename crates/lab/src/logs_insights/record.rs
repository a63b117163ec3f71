//! Log events as Insights sees them: the fields it discovers in a Lambda event, and
//! expressions evaluated over one record.

use std::collections::HashMap;

use super::query::{BinaryOp, Command, Expr, Projection};
use super::Eval;
use crate::backfill::BYTES_PER_MB;

/// A field value.
#[derive(Debug, Clone, PartialEq)]
pub enum Val {
    Null,
    Num(f64),
    Text(String),
    Bool(bool),
}

impl Val {
    pub(super) fn num(&self) -> Option<f64> {
        match self {
            Val::Num(n) => Some(*n),
            Val::Text(s) => s.parse().ok(),
            _ => None,
        }
    }

    pub(super) fn truthy(&self) -> bool {
        match self {
            Val::Bool(b) => *b,
            Val::Null => false,
            Val::Num(n) => *n != 0.0,
            Val::Text(s) => !s.is_empty(),
        }
    }

    pub(super) fn display(&self) -> String {
        match self {
            Val::Null => String::new(),
            Val::Num(n) => format_number(*n),
            Val::Text(s) => s.clone(),
            Val::Bool(b) => b.to_string(),
        }
    }
}

fn format_number(n: f64) -> String {
    let rounded = (n * 1e4).round() / 1e4;
    if rounded.fract() == 0.0 && rounded.abs() < 1e15 {
        format!("{}", rounded as i64)
    } else {
        format!("{rounded}")
    }
}

pub(super) fn format_timestamp(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .map(|d| d.format("%Y-%m-%d %H:%M:%S%.3f").to_string())
        .unwrap_or_default()
}

/// One log event of a log group.
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    pub timestamp_ms: i64,
    pub log_stream: String,
    pub message: String,
}

/// A record: named field values.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Record(Vec<(String, Val)>);

impl Record {
    pub(super) fn get(&self, name: &str) -> Val {
        self.0
            .iter()
            .find(|(n, _)| n == name)
            .map_or(Val::Null, |(_, v)| v.clone())
    }

    pub(super) fn set(&mut self, name: &str, value: Val) {
        match self.0.iter_mut().find(|(n, _)| n == name) {
            Some(slot) => slot.1 = value,
            None => self.0.push((name.to_string(), value)),
        }
    }

    pub fn fields(&self) -> &[(String, Val)] {
        &self.0
    }
}

/// The fields Insights discovers in a Lambda log event.
pub fn discover(event: &Event, log: &str) -> Record {
    let mut r = Record(vec![
        ("@timestamp".into(), Val::Num(event.timestamp_ms as f64)),
        ("@message".into(), Val::Text(event.message.clone())),
        ("@logStream".into(), Val::Text(event.log_stream.clone())),
        ("@log".into(), Val::Text(log.to_string())),
    ]);
    let line = event.message.trim_end();
    if let Some(rest) = line.strip_prefix("REPORT RequestId: ") {
        r.set("@type", Val::Text("REPORT".into()));
        discover_report(&mut r, rest);
    } else if let Some(rest) = line.strip_prefix("START RequestId: ") {
        r.set("@type", Val::Text("START".into()));
        r.set(
            "@requestId",
            Val::Text(rest.split(' ').next().unwrap_or("").into()),
        );
    } else if let Some(rest) = line.strip_prefix("END RequestId: ") {
        r.set("@type", Val::Text("END".into()));
        r.set("@requestId", Val::Text(rest.trim().into()));
    } else if let Ok(serde_json::Value::Object(map)) = serde_json::from_str(line) {
        flatten(&mut r, "", &serde_json::Value::Object(map));
    }
    r
}

fn discover_report(r: &mut Record, rest: &str) {
    let mut parts = rest.split('\t');
    r.set(
        "@requestId",
        Val::Text(parts.next().unwrap_or("").trim().into()),
    );
    for part in parts {
        let Some((key, value)) = part.split_once(": ") else {
            continue;
        };
        let number = value.split(' ').next().and_then(|v| v.parse::<f64>().ok());
        let (name, scale) = match key {
            "Duration" => ("@duration", 1.0),
            "Billed Duration" => ("@billedDuration", 1.0),
            "Memory Size" => ("@memorySize", BYTES_PER_MB),
            "Max Memory Used" => ("@maxMemoryUsed", BYTES_PER_MB),
            "Init Duration" => ("@initDuration", 1.0),
            _ => continue,
        };
        if let Some(n) = number {
            r.set(name, Val::Num(n * scale));
        }
    }
}

fn flatten(r: &mut Record, prefix: &str, value: &serde_json::Value) {
    match value {
        serde_json::Value::Object(map) => {
            for (k, v) in map {
                let name = if prefix.is_empty() {
                    k.clone()
                } else {
                    format!("{prefix}.{k}")
                };
                flatten(r, &name, v);
            }
        }
        serde_json::Value::Number(n) => r.set(prefix, Val::Num(n.as_f64().unwrap_or(0.0))),
        serde_json::Value::String(s) => r.set(prefix, Val::Text(s.clone())),
        serde_json::Value::Bool(b) => r.set(prefix, Val::Bool(*b)),
        other => r.set(prefix, Val::Text(other.to_string())),
    }
}

// ---- evaluation over concrete records ---------------------------------------------------

/// Names defined by `fields expr as name`, expanded where they are used.
pub(super) type Aliases = HashMap<String, Expr>;

/// Filters and aliases of the commands before stats.
pub(super) fn prefix_commands(before: &[Command]) -> Eval<(Vec<&Expr>, Aliases)> {
    let mut filters = Vec::new();
    let mut aliases = Aliases::new();
    for c in before {
        match c {
            Command::Filter(e) => filters.push(e),
            Command::Fields(projections) => add_aliases(&mut aliases, projections),
            Command::Sort(_) | Command::Limit(_) => {
                return Err("the lab applies sort and limit after stats only".into())
            }
            Command::Stats(_) => unreachable!("one stats command"),
        }
    }
    Ok((filters, aliases))
}

pub(super) fn add_aliases(aliases: &mut Aliases, projections: &[Projection]) {
    for p in projections {
        if p.expr != Expr::Field(p.name.clone()) {
            aliases.insert(p.name.clone(), p.expr.clone());
        }
    }
}

pub(super) fn eval(expr: &Expr, r: &Record, aliases: &Aliases) -> Val {
    match expr {
        Expr::Field(name) => match aliases.get(name) {
            Some(e) => eval(e, r, &Aliases::new()),
            None => r.get(name),
        },
        Expr::Number(n) => Val::Num(*n),
        Expr::Text(s) => Val::Text(s.clone()),
        Expr::Neg(e) => eval(e, r, aliases)
            .num()
            .map_or(Val::Null, |n| Val::Num(-n)),
        Expr::Not(e) => Val::Bool(!eval(e, r, aliases).truthy()),
        Expr::IsPresent(f) => Val::Bool(eval(&Expr::Field(f.clone()), r, aliases) != Val::Null),
        Expr::StrContains(e, needle) => match eval(e, r, aliases) {
            Val::Null => Val::Null,
            v => Val::Num(f64::from(u8::from(v.display().contains(needle.as_str())))),
        },
        Expr::Binary(op, a, b) => binary(*op, eval(a, r, aliases), eval(b, r, aliases)),
    }
}

pub(super) fn binary(op: BinaryOp, a: Val, b: Val) -> Val {
    use BinaryOp::*;
    match op {
        And => Val::Bool(a.truthy() && b.truthy()),
        Or => Val::Bool(a.truthy() || b.truthy()),
        Like => match (&a, &b) {
            (Val::Null, _) => Val::Bool(false),
            (_, Val::Text(t)) => Val::Bool(a.display().contains(t.as_str())),
            _ => Val::Bool(false),
        },
        Add | Sub | Mul | Div => match (a.num(), b.num()) {
            (Some(x), Some(y)) => Val::Num(match op {
                Add => x + y,
                Sub => x - y,
                Mul => x * y,
                _ => x / y,
            }),
            _ => Val::Null,
        },
        Eq | Ne | Lt | Le | Gt | Ge => {
            if a == Val::Null || b == Val::Null {
                return Val::Bool(false);
            }
            let ordering = match (a.num(), b.num()) {
                (Some(x), Some(y)) => x.partial_cmp(&y),
                _ => Some(a.display().cmp(&b.display())),
            };
            Val::Bool(ordering.is_some_and(|o| compare(op, o)))
        }
    }
}

fn compare(op: BinaryOp, o: std::cmp::Ordering) -> bool {
    use std::cmp::Ordering::*;
    match op {
        BinaryOp::Eq => o == Equal,
        BinaryOp::Ne => o != Equal,
        BinaryOp::Lt => o == Less,
        BinaryOp::Le => o != Greater,
        BinaryOp::Gt => o == Greater,
        BinaryOp::Ge => o != Less,
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn report_lines_give_lambda_fields_in_bytes() {
        let r = discover(
            &Event {
                timestamp_ms: 5,
                log_stream: "2025/10/09/[$LATEST]abc".into(),
                message: "REPORT RequestId: abc\tDuration: 469.40 ms\tBilled Duration: 470 ms\tMemory Size: 1024 MB\tMax Memory Used: 21 MB\tInit Duration: 100.99 ms\t\n".into(),
            },
            "g",
        );
        assert_eq!(r.get("@type"), Val::Text("REPORT".into()));
        assert_eq!(r.get("@requestId"), Val::Text("abc".into()));
        assert_eq!(r.get("@duration"), Val::Num(469.40));
        assert_eq!(r.get("@billedDuration"), Val::Num(470.0));
        assert_eq!(r.get("@memorySize"), Val::Num(1024e6));
        assert_eq!(r.get("@maxMemoryUsed"), Val::Num(21e6));
        assert_eq!(r.get("@initDuration"), Val::Num(100.99));
    }
}
