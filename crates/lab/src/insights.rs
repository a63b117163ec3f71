//! Evaluates Logs Insights queries ([`insights_query`](super::insights_query)) over a function's
//! log events.
//!
//! The lab's own events are concrete records whose fields are discovered the way Insights does
//! (REPORT lines give @duration, @billedDuration, @memorySize, @maxMemoryUsed in bytes,
//! @initDuration; JSON events are flattened). Backfilled production traffic is not
//! materialized: for `stats` it enters as populations (a count per time slice, warm and cold,
//! with each field a constant or a distribution), which filters narrow (constant fields decide,
//! a comparison on a distributed field truncates it) and aggregates combine with the concrete
//! records by weight. Queries without `stats` list events, synthesizing backfilled REPORT lines
//! newest first. What cannot be evaluated exactly is refused with a message saying why.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use super::backfill::{floor_to, Production, SyntheticReport, BYTES_PER_MB, DAY_MS, MINUTE_MS};
use super::insights_query::{
    AggregateFn, BinaryOp, Command, Expr, GroupKey, Projection, Query, SortKey, Stats,
};
use super::mixture::{Continuous, Mixture, Uniform};
use super::profiles::LogFormat;

/// The most rows a query returns, and the default limit.
pub const MAX_ROWS: usize = 10_000;
/// Listing queries that would synthesize more backfilled events than this are refused.
const MAX_LISTED_SCAN: u64 = 2_000_000;

/// A field value.
#[derive(Debug, Clone, PartialEq)]
pub enum Val {
    Null,
    Num(f64),
    Text(String),
    Bool(bool),
}

impl Val {
    fn num(&self) -> Option<f64> {
        match self {
            Val::Num(n) => Some(*n),
            Val::Text(s) => s.parse().ok(),
            _ => None,
        }
    }

    fn truthy(&self) -> bool {
        match self {
            Val::Bool(b) => *b,
            Val::Null => false,
            Val::Num(n) => *n != 0.0,
            Val::Text(s) => !s.is_empty(),
        }
    }

    fn display(&self) -> String {
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

fn format_timestamp(ms: i64) -> String {
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
    fn get(&self, name: &str) -> Val {
        self.0
            .iter()
            .find(|(n, _)| n == name)
            .map_or(Val::Null, |(_, v)| v.clone())
    }

    fn set(&mut self, name: &str, value: Val) {
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
type Aliases = HashMap<String, Expr>;

fn eval(expr: &Expr, r: &Record, aliases: &Aliases) -> Val {
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

fn binary(op: BinaryOp, a: Val, b: Val) -> Val {
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

// ---- populations: backfilled traffic described statistically ---------------------------

/// The quantities a REPORT line carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Quantity {
    Duration,
    Billed,
    MemorySize,
    MaxMemoryUsed,
    Init,
    Type,
    LogStream,
    Log,
    Message,
}

impl Quantity {
    /// Billed duration is computed from duration and INIT, so narrowing one leaves the other
    /// unknown.
    fn correlated(self, other: Quantity) -> bool {
        use Quantity::*;
        matches!(
            (self, other),
            (Duration | Init, Billed) | (Billed, Duration | Init)
        )
    }
}

/// The field names of a quantity in a log format, and the factor from the REPORT unit.
fn quantity_of(format: LogFormat, name: &str) -> Option<(Quantity, f64)> {
    use Quantity::*;
    let common = match name {
        "@logStream" => Some((LogStream, 1.0)),
        "@log" => Some((Log, 1.0)),
        "@message" => Some((Message, 1.0)),
        _ => None,
    };
    common.or(match format {
        LogFormat::Text => match name {
            "@type" => Some((Type, 1.0)),
            "@duration" => Some((Duration, 1.0)),
            "@billedDuration" => Some((Billed, 1.0)),
            "@memorySize" => Some((MemorySize, BYTES_PER_MB)),
            "@maxMemoryUsed" => Some((MaxMemoryUsed, BYTES_PER_MB)),
            "@initDuration" => Some((Init, 1.0)),
            _ => None,
        },
        LogFormat::Json => match name {
            "type" => Some((Type, 1.0)),
            "record.metrics.durationMs" => Some((Duration, 1.0)),
            "record.metrics.billedDurationMs" => Some((Billed, 1.0)),
            "record.metrics.memorySizeMB" => Some((MemorySize, 1.0)),
            "record.metrics.maxMemoryUsedMB" => Some((MaxMemoryUsed, 1.0)),
            "record.metrics.initDurationMs" => Some((Init, 1.0)),
            _ => None,
        },
    })
}

#[derive(Clone)]
enum PopField {
    Const(Val),
    Dist(Arc<dyn Continuous>),
    /// Spread evenly over these values (the day's log streams).
    Split(Arc<Vec<String>>),
    /// Unknown after a filter narrowed a field it depends on.
    Unavailable(&'static str),
}

#[derive(Clone)]
struct Population {
    timestamp_ms: i64,
    count: f64,
    format: LogFormat,
    fields: Vec<(Quantity, PopField)>,
}

/// The value of an expression over a population.
#[derive(Clone)]
enum PopVal {
    Missing,
    Const(Val),
    /// a * X + b for a distributed quantity X.
    Affine {
        quantity: Quantity,
        dist: Arc<dyn Continuous>,
        a: f64,
        b: f64,
    },
    Split(Arc<Vec<String>>),
}

/// `ceil(D + shift)` for a duration D: the billed duration (INIT's mean added when cold).
struct Billed {
    durations: Arc<dyn Continuous>,
    shift: f64,
}

impl Continuous for Billed {
    fn cdf(&self, x: f64) -> f64 {
        self.durations.cdf(x.floor() - self.shift)
    }
    fn support(&self) -> (f64, f64) {
        let (lo, hi) = self.durations.support();
        ((lo + self.shift).ceil(), (hi + self.shift).ceil())
    }
    fn mean(&self) -> f64 {
        // Rounding up adds half a millisecond on average.
        self.durations.mean() + self.shift + 0.5
    }
}

/// a * X + b.
struct Affine {
    inner: Arc<dyn Continuous>,
    a: f64,
    b: f64,
}

impl Continuous for Affine {
    fn cdf(&self, x: f64) -> f64 {
        let y = (x - self.b) / self.a;
        if self.a > 0.0 {
            self.inner.cdf(y)
        } else {
            1.0 - self.inner.cdf(y)
        }
    }
    fn support(&self) -> (f64, f64) {
        let (lo, hi) = self.inner.support();
        let (p, q) = (self.a * lo + self.b, self.a * hi + self.b);
        (p.min(q), p.max(q))
    }
    fn mean(&self) -> f64 {
        self.a * self.inner.mean() + self.b
    }
}

/// X conditioned on lo < X <= hi.
struct Truncated {
    inner: Arc<dyn Continuous>,
    lo: f64,
    hi: f64,
    mass: f64,
}

impl Continuous for Truncated {
    fn cdf(&self, x: f64) -> f64 {
        let x = x.clamp(self.lo, self.hi);
        ((self.inner.cdf(x) - self.inner.cdf(self.lo)) / self.mass).clamp(0.0, 1.0)
    }
    fn support(&self) -> (f64, f64) {
        let (lo, hi) = self.inner.support();
        (lo.max(self.lo), hi.min(self.hi))
    }
}

type Eval<T> = Result<T, String>;

impl Population {
    fn field(&self, q: Quantity) -> Option<&PopField> {
        self.fields.iter().find(|(k, _)| *k == q).map(|(_, f)| f)
    }

    fn value(&self, expr: &Expr, aliases: &Aliases) -> Eval<PopVal> {
        Ok(match expr {
            Expr::Field(name) => {
                if let Some(e) = aliases.get(name) {
                    return self.value(e, &Aliases::new());
                }
                self.field_value(name)?
            }
            Expr::Number(n) => PopVal::Const(Val::Num(*n)),
            Expr::Text(s) => PopVal::Const(Val::Text(s.clone())),
            Expr::Neg(e) => affine(self.value(e, aliases)?, BinaryOp::Mul, -1.0, false)?,
            Expr::StrContains(e, needle) => match self.value(e, aliases)? {
                PopVal::Missing => PopVal::Missing,
                PopVal::Const(v) => PopVal::Const(Val::Num(f64::from(u8::from(
                    v.display().contains(needle.as_str()),
                )))),
                _ => {
                    return Err(
                        "over backfilled traffic the lab evaluates strcontains() on @message \
                         and other fields that are the same for the whole population"
                            .into(),
                    )
                }
            },
            Expr::Binary(
                op @ (BinaryOp::Add | BinaryOp::Sub | BinaryOp::Mul | BinaryOp::Div),
                a,
                b,
            ) => {
                match (self.value(a, aliases)?, self.value(b, aliases)?) {
                    (PopVal::Missing, _) | (_, PopVal::Missing) => PopVal::Missing,
                    (PopVal::Const(x), PopVal::Const(y)) => PopVal::Const(binary(*op, x, y)),
                    (d @ PopVal::Affine { .. }, PopVal::Const(c)) => {
                        affine(d, *op, c.num().ok_or("arithmetic needs numbers")?, false)?
                    }
                    (PopVal::Const(c), d @ PopVal::Affine { .. }) => {
                        affine(d, *op, c.num().ok_or("arithmetic needs numbers")?, true)?
                    }
                    _ => return Err(
                        "the lab cannot combine two fields of backfilled traffic in one expression"
                            .into(),
                    ),
                }
            }
            _ => {
                return Err(format!(
                    "the lab cannot use {expr:?} as a value over backfilled traffic"
                ))
            }
        })
    }

    fn field_value(&self, name: &str) -> Eval<PopVal> {
        if name == "@timestamp" {
            return Err(
                "over backfilled traffic the lab uses @timestamp only through bin()".into(),
            );
        }
        let Some((q, scale)) = quantity_of(self.format, name) else {
            if matches!(name, "@requestId" | "record.requestId") {
                return Err(format!(
                    "the lab describes backfilled traffic statistically: {name} is only \
                     available to queries without stats"
                ));
            }
            return Ok(PopVal::Missing);
        };
        Ok(match self.field(q) {
            None => PopVal::Missing,
            Some(PopField::Const(Val::Num(n))) => PopVal::Const(Val::Num(n * scale)),
            Some(PopField::Const(v)) => PopVal::Const(v.clone()),
            Some(PopField::Dist(d)) => PopVal::Affine {
                quantity: q,
                dist: d.clone(),
                a: scale,
                b: 0.0,
            },
            Some(PopField::Split(values)) => PopVal::Split(values.clone()),
            Some(PopField::Unavailable(why)) => return Err(format!("{name}: {why}")),
        })
    }

    /// The part of the population for which `cond` holds (None when nothing does).
    fn restrict(self, cond: &Expr, aliases: &Aliases) -> Eval<Option<Population>> {
        match cond {
            Expr::Field(name) if aliases.contains_key(name) => {
                self.restrict(&aliases[name], aliases)
            }
            Expr::Binary(BinaryOp::And, a, b) => match self.restrict(a, aliases)? {
                Some(p) => p.restrict(b, aliases),
                None => Ok(None),
            },
            Expr::Binary(BinaryOp::Or, a, b) => {
                match (self.decides(a, aliases)?, self.decides(b, aliases)?) {
                    (Some(true), _) | (_, Some(true)) => Ok(Some(self)),
                    (Some(false), _) => self.restrict(b, aliases),
                    (_, Some(false)) => self.restrict(a, aliases),
                    _ => Err(
                        "the lab cannot evaluate 'or' between two ranges of fields of \
                              backfilled traffic"
                            .into(),
                    ),
                }
            }
            Expr::Not(e) => match (self.decides(e, aliases)?, e.as_ref()) {
                (Some(b), _) => Ok((!b).then_some(self)),
                (None, Expr::Binary(op, a, b)) if negate(*op).is_some() => {
                    let negated = Expr::Binary(negate(*op).expect("checked"), a.clone(), b.clone());
                    self.restrict(&negated, aliases)
                }
                _ => Err("the lab cannot negate this condition over backfilled traffic".into()),
            },
            Expr::IsPresent(f) => {
                let present = !matches!(self.field_value(f)?, PopVal::Missing);
                Ok(present.then_some(self))
            }
            Expr::Binary(op, a, b) if negate(*op).is_some() || *op == BinaryOp::Like => {
                let (l, r) = (self.value(a, aliases)?, self.value(b, aliases)?);
                self.compare(*op, l, r)
            }
            _ => Err(
                "the lab evaluates filters made of comparisons, like, ispresent(), and, or \
                      and not over backfilled traffic"
                    .into(),
            ),
        }
    }

    /// Whether `cond` holds for all (true) or none (false) of the population, if it decides.
    fn decides(&self, cond: &Expr, aliases: &Aliases) -> Eval<Option<bool>> {
        Ok(match self.clone().restrict(cond, aliases)? {
            None => Some(false),
            Some(p) if p.count == self.count => Some(true),
            Some(_) => None,
        })
    }

    fn compare(self, op: BinaryOp, l: PopVal, r: PopVal) -> Eval<Option<Population>> {
        match (l, r) {
            (PopVal::Missing, _) | (_, PopVal::Missing) => Ok(None),
            (PopVal::Const(x), PopVal::Const(y)) => Ok(binary(op, x, y).truthy().then_some(self)),
            (PopVal::Const(c), d @ PopVal::Affine { .. }) => {
                self.compare(flip(op), d, PopVal::Const(c))
            }
            (
                PopVal::Affine {
                    quantity,
                    dist,
                    a,
                    b,
                },
                PopVal::Const(c),
            ) => {
                let c = c
                    .num()
                    .ok_or("a numeric field compares with numbers only")?;
                let op = if a < 0.0 { flip(op) } else { op };
                Ok(self.truncate(quantity, dist, op, (c - b) / a))
            }
            (PopVal::Split(values), PopVal::Const(Val::Text(s))) if op == BinaryOp::Eq => {
                let share = values.iter().filter(|v| **v == s).count() as f64 / values.len() as f64;
                let mut p = self;
                p.count *= share;
                p.set(Quantity::LogStream, PopField::Split(Arc::new(vec![s])));
                Ok((p.count > 0.0).then_some(p))
            }
            _ => Err("the lab cannot evaluate this comparison over backfilled traffic".into()),
        }
    }

    /// Narrows `quantity` to the values where `X op t` holds.
    fn truncate(
        mut self,
        q: Quantity,
        dist: Arc<dyn Continuous>,
        op: BinaryOp,
        t: f64,
    ) -> Option<Population> {
        let (lo, hi) = match op {
            BinaryOp::Gt | BinaryOp::Ge => (t, f64::INFINITY),
            BinaryOp::Lt | BinaryOp::Le => (f64::NEG_INFINITY, t),
            // A continuous quantity equals a given value with probability 0.
            BinaryOp::Eq => return None,
            _ => return Some(self),
        };
        let mass = dist.cdf(hi) - dist.cdf(lo);
        if mass <= 0.0 {
            return None;
        }
        self.count *= mass;
        for (k, f) in &mut self.fields {
            if q.correlated(*k) {
                *f = PopField::Unavailable(
                    "unknown over backfilled traffic once a filter narrows a field it depends on",
                );
            }
        }
        self.set(
            q,
            PopField::Dist(Arc::new(Truncated {
                inner: dist,
                lo,
                hi,
                mass,
            })),
        );
        Some(self)
    }

    fn set(&mut self, q: Quantity, value: PopField) {
        if let Some(slot) = self.fields.iter_mut().find(|(k, _)| *k == q) {
            slot.1 = value;
        }
    }
}

fn negate(op: BinaryOp) -> Option<BinaryOp> {
    use BinaryOp::*;
    Some(match op {
        Eq => Ne,
        Ne => Eq,
        Lt => Ge,
        Ge => Lt,
        Le => Gt,
        Gt => Le,
        _ => return None,
    })
}

/// The operator with its operands swapped.
fn flip(op: BinaryOp) -> BinaryOp {
    use BinaryOp::*;
    match op {
        Lt => Gt,
        Gt => Lt,
        Le => Ge,
        Ge => Le,
        other => other,
    }
}

/// Applies `X op c` (or `c op X` when `swapped`) to an affine value.
fn affine(v: PopVal, op: BinaryOp, c: f64, swapped: bool) -> Eval<PopVal> {
    let PopVal::Affine {
        quantity,
        dist,
        a,
        b,
    } = v
    else {
        return match v {
            PopVal::Const(x) => Ok(PopVal::Const(binary(op, x, Val::Num(c)))),
            other => Ok(other),
        };
    };
    let (a, b) = match (op, swapped) {
        (BinaryOp::Add, _) => (a, b + c),
        (BinaryOp::Sub, false) => (a, b - c),
        (BinaryOp::Sub, true) => (-a, c - b),
        (BinaryOp::Mul, _) => (a * c, b * c),
        (BinaryOp::Div, false) if c != 0.0 => (a / c, b / c),
        _ => return Err("the lab cannot divide by a field of backfilled traffic".into()),
    };
    Ok(PopVal::Affine {
        quantity,
        dist,
        a,
        b,
    })
}

// ---- the data a query runs over ---------------------------------------------------------

/// One log group's data in the query's time range.
pub struct GroupData<'a> {
    /// `account:log-group`, the @log field.
    pub log: String,
    pub production: Option<Production<'a>>,
    /// The lab's own events, oldest first.
    pub events: Vec<Event>,
}

/// Result rows: (field, value) pairs, as GetQueryResults returns them.
pub type Rows = Vec<Vec<(String, String)>>;

/// What a finished query returns.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Outcome {
    pub rows: Rows,
    pub records_matched: f64,
    pub records_scanned: f64,
    pub bytes_scanned: f64,
}

/// Runs a parsed query over [start_ms, end_ms) of some log groups.
pub fn run(
    query: &Query,
    groups: &[GroupData],
    start_ms: i64,
    end_ms: i64,
    limit: Option<usize>,
) -> Eval<Outcome> {
    let limit = query
        .commands
        .iter()
        .rev()
        .find_map(|c| match c {
            Command::Limit(n) => Some(*n),
            _ => None,
        })
        .or(limit)
        .unwrap_or(MAX_ROWS)
        .min(MAX_ROWS);
    let mut outcome = Outcome::default();
    for g in groups {
        let backfilled = g
            .production
            .as_ref()
            .map_or(0, |p| p.invocations_between(start_ms, end_ms)) as f64;
        let sample_len = g
            .production
            .as_ref()
            .and_then(|p| representative(p, false))
            .map_or(0, |r| r.message.len()) as f64;
        outcome.records_scanned += backfilled + g.events.len() as f64;
        outcome.bytes_scanned +=
            backfilled * sample_len + g.events.iter().map(|e| e.message.len() as f64).sum::<f64>();
    }
    let split = query
        .commands
        .iter()
        .position(|c| matches!(c, Command::Stats(_)));
    let (rows, matched) = match split {
        Some(i) => {
            let Command::Stats(stats) = &query.commands[i] else {
                unreachable!("position found a stats command")
            };
            let (before, after) = (&query.commands[..i], &query.commands[i + 1..]);
            let rows = aggregate(stats, before, groups, start_ms, end_ms)?;
            (post_process(rows.0, after, limit), rows.1)
        }
        None => list(query, groups, start_ms, end_ms, limit)?,
    };
    outcome.records_matched = matched;
    outcome.rows = rows;
    Ok(outcome)
}

/// Filters and aliases of the commands before stats.
fn prefix_commands(before: &[Command]) -> Eval<(Vec<&Expr>, Aliases)> {
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

fn add_aliases(aliases: &mut Aliases, projections: &[Projection]) {
    for p in projections {
        if p.expr != Expr::Field(p.name.clone()) {
            aliases.insert(p.name.clone(), p.expr.clone());
        }
    }
}

#[derive(Default)]
struct Accumulator {
    weight: f64,
    samples: Vec<f64>,
    populations: Vec<(f64, Arc<dyn Continuous>)>,
}

impl Accumulator {
    fn finish(&self, f: AggregateFn) -> Val {
        if f == AggregateFn::Count {
            return Val::Num(self.weight.round());
        }
        let mut m = Mixture::new();
        for (n, d) in &self.populations {
            m.add_population(*n, d.as_ref());
        }
        m.add_samples(self.samples.iter().copied());
        if m.is_empty() {
            return Val::Null;
        }
        Val::Num(match f {
            AggregateFn::Sum => m.sum(),
            AggregateFn::Avg => m.mean(),
            AggregateFn::Min => m.minimum(),
            AggregateFn::Max => m.maximum(),
            AggregateFn::Pct(p) => m.quantile(p),
            AggregateFn::Count => unreachable!("handled above"),
        })
    }
}

type Groups = BTreeMap<Vec<String>, Vec<Accumulator>>;

fn aggregate(
    stats: &Stats,
    before: &[Command],
    groups: &[GroupData],
    start_ms: i64,
    end_ms: i64,
) -> Eval<(Vec<Record>, f64)> {
    let (filters, aliases) = prefix_commands(before)?;
    let mut acc: Groups = BTreeMap::new();
    let mut matched = 0.0;
    for g in groups {
        for e in &g.events {
            let r = discover(e, &g.log);
            if filters.iter().all(|f| eval(f, &r, &aliases).truthy()) {
                matched += 1.0;
                add_record(stats, &r, &aliases, &mut acc);
            }
        }
        if let Some(p) = &g.production {
            for pop in populations(p, &g.log, stats, start_ms, end_ms) {
                let mut kept = Some(pop);
                for f in &filters {
                    kept = match kept {
                        Some(p) => p.restrict(f, &aliases)?,
                        None => break,
                    };
                }
                if let Some(pop) = kept {
                    matched += pop.count;
                    add_population(stats, &pop, &aliases, &mut acc)?;
                }
            }
        }
    }
    let rows = acc
        .into_iter()
        .map(|(key, accs)| {
            let mut r = Record::default();
            for (k, v) in stats.by.iter().zip(key) {
                r.set(group_name(k), Val::Text(v));
            }
            for (a, acc) in stats.aggregates.iter().zip(&accs) {
                r.set(&a.name, acc.finish(a.function));
            }
            r
        })
        .collect();
    Ok((rows, matched))
}

fn group_name(k: &GroupKey) -> &str {
    match k {
        GroupKey::Bin { name, .. } => name,
        GroupKey::Expr(p) => &p.name,
    }
}

fn add_record(stats: &Stats, r: &Record, aliases: &Aliases, acc: &mut Groups) {
    let key: Vec<String> = stats
        .by
        .iter()
        .map(|k| match k {
            GroupKey::Bin { width_ms, .. } => {
                let t = r.get("@timestamp").num().unwrap_or(0.0) as i64;
                format_timestamp(floor_to(t, *width_ms))
            }
            GroupKey::Expr(p) => eval(&p.expr, r, aliases).display(),
        })
        .collect();
    let accs = acc.entry(key).or_insert_with(|| {
        stats
            .aggregates
            .iter()
            .map(|_| Accumulator::default())
            .collect()
    });
    for (a, slot) in stats.aggregates.iter().zip(accs.iter_mut()) {
        let value = a
            .arg
            .as_ref()
            .map_or(Val::Bool(true), |e| eval(e, r, aliases));
        if value == Val::Null {
            continue;
        }
        slot.weight += 1.0;
        if let Some(n) = value.num() {
            slot.samples.push(n);
        }
    }
}

fn add_population(
    stats: &Stats,
    pop: &Population,
    aliases: &Aliases,
    acc: &mut Groups,
) -> Eval<()> {
    // Each group key gives (value, share of the population) pairs; combine them all.
    let mut keys: Vec<(Vec<String>, f64)> = vec![(Vec::new(), 1.0)];
    for k in &stats.by {
        let parts: Vec<(String, f64)> = match k {
            GroupKey::Bin { width_ms, .. } => {
                vec![(format_timestamp(floor_to(pop.timestamp_ms, *width_ms)), 1.0)]
            }
            GroupKey::Expr(p) => match pop.value(&p.expr, aliases)? {
                PopVal::Missing => vec![(String::new(), 1.0)],
                PopVal::Const(v) => vec![(v.display(), 1.0)],
                PopVal::Split(values) => {
                    let share = 1.0 / values.len() as f64;
                    values.iter().map(|v| (v.clone(), share)).collect()
                }
                PopVal::Affine { .. } => {
                    return Err(format!(
                        "the lab cannot group backfilled traffic by '{}', a distributed field",
                        p.name
                    ))
                }
            },
        };
        keys = keys
            .into_iter()
            .flat_map(|(key, share)| {
                parts.iter().map(move |(v, s)| {
                    let mut key = key.clone();
                    key.push(v.clone());
                    (key, share * s)
                })
            })
            .collect();
    }
    let values: Vec<Option<PopVal>> = stats
        .aggregates
        .iter()
        .map(|a| a.arg.as_ref().map(|e| pop.value(e, aliases)).transpose())
        .collect::<Eval<_>>()?;
    for (key, share) in keys {
        let n = pop.count * share;
        let accs = acc.entry(key).or_insert_with(|| {
            stats
                .aggregates
                .iter()
                .map(|_| Accumulator::default())
                .collect()
        });
        for (value, slot) in values.iter().zip(accs.iter_mut()) {
            let dist: Option<Arc<dyn Continuous>> = match value {
                None => None,
                Some(PopVal::Missing) => continue,
                Some(PopVal::Const(v)) => v
                    .num()
                    .map(|c| Arc::new(Uniform(c, c)) as Arc<dyn Continuous>),
                Some(PopVal::Affine { dist, a, b, .. }) => Some(Arc::new(Affine {
                    inner: dist.clone(),
                    a: *a,
                    b: *b,
                })),
                Some(PopVal::Split(_)) => None,
            };
            slot.weight += n;
            if let Some(d) = dist {
                slot.populations.push((n, d));
            }
        }
    }
    Ok(())
}

/// The backfill of [start_ms, end_ms) as populations: per time slice, warm and cold.
fn populations(
    p: &Production,
    log: &str,
    stats: &Stats,
    start_ms: i64,
    end_ms: i64,
) -> Vec<Population> {
    let mut width = i64::MAX;
    for k in &stats.by {
        match k {
            GroupKey::Bin { width_ms, .. } => width = width.min(*width_ms),
            // Log streams are per day: slice by day so each slice has its own.
            GroupKey::Expr(_) => width = width.min(DAY_MS),
        }
    }
    let (lo, hi) = (start_ms.max(p.window.start_ms), end_ms.min(p.window.end_ms));
    let mut slices = Vec::new();
    let mut t = lo;
    while t < hi {
        let next = if width == i64::MAX {
            hi
        } else {
            (floor_to(t, width) + width).min(hi)
        };
        slices.push((t, next));
        t = next;
    }
    let messages = [false, true].map(|cold| representative(p, cold).map(|r| r.message));
    let base = |cold: bool| Population {
        timestamp_ms: 0,
        count: 0.0,
        format: p.profile.log_format,
        fields: population_fields(p, log, cold, messages[usize::from(cold)].clone()),
    };
    let (warm, cold) = (base(false), base(true));
    slices
        .into_iter()
        .flat_map(|(a, b)| {
            let n = p.invocations_between(a, b) as f64;
            let colds = p.cold_starts_between(a, b) as f64;
            [(&warm, n - colds), (&cold, colds)]
                .map(|(template, count)| in_slice(p, template, a, count))
        })
        .flatten()
        .collect()
}

/// A population template placed in a time slice, with that day's log streams.
fn in_slice(
    p: &Production,
    template: &Population,
    slice_ms: i64,
    count: f64,
) -> Option<Population> {
    if count <= 0.0 {
        return None;
    }
    let day = floor_to(slice_ms, DAY_MS);
    let streams = (0..p.streams_per_day())
        .map(|k| p.stream_name(day, k))
        .collect();
    let mut pop = template.clone();
    pop.timestamp_ms = slice_ms;
    pop.count = count;
    pop.set(Quantity::LogStream, PopField::Split(Arc::new(streams)));
    Some(pop)
}

/// The fields of warm or cold backfilled REPORT lines.
fn population_fields(
    p: &Production,
    log: &str,
    cold: bool,
    message: Option<String>,
) -> Vec<(Quantity, PopField)> {
    let profile = p.profile;
    let w = &profile.workload;
    let durations: Arc<dyn Continuous> = Arc::new(p.durations);
    let used = if w.out_of_memory(profile.memory_mb) {
        PopField::Const(Val::Num(profile.memory_mb as f64))
    } else {
        let ws = w.max_memory_used_mb(profile.memory_mb) as f64;
        let top = (ws * 1.03).min(profile.memory_mb as f64);
        PopField::Dist(Arc::new(Uniform(ws * 0.97, top)))
    };
    let type_name = match profile.log_format {
        LogFormat::Text => "REPORT",
        LogFormat::Json => "platform.report",
    };
    let mut fields = vec![
        (Quantity::Type, PopField::Const(Val::Text(type_name.into()))),
        (Quantity::Duration, PopField::Dist(durations.clone())),
        (
            Quantity::Billed,
            PopField::Dist(Arc::new(Billed {
                durations,
                shift: if cold { p.init.mean() } else { 0.0 },
            })),
        ),
        (
            Quantity::MemorySize,
            PopField::Const(Val::Num(profile.memory_mb as f64)),
        ),
        (Quantity::MaxMemoryUsed, used),
        (Quantity::LogStream, PopField::Split(Arc::new(Vec::new()))),
        (Quantity::Log, PopField::Const(Val::Text(log.to_string()))),
    ];
    if let Some(m) = message {
        fields.push((Quantity::Message, PopField::Const(Val::Text(m))));
    }
    if cold {
        fields.push((Quantity::Init, PopField::Dist(Arc::new(p.init))));
    }
    fields
}

/// A REPORT line of the function, warm or cold, to match `@message like` terms against.
fn representative(p: &Production, cold: bool) -> Option<SyntheticReport> {
    let minutes = (p.window.start_ms / MINUTE_MS)..(p.window.end_ms / MINUTE_MS);
    minutes
        .step_by(60)
        .flat_map(|m| p.reports_in_minute(m))
        .find(|r| r.init_ms.is_some() == cold)
}

/// The commands after stats, applied to its rows.
fn post_process(mut rows: Vec<Record>, after: &[Command], limit: usize) -> Rows {
    let mut aliases = Aliases::new();
    let mut projection: Option<&[Projection]> = None;
    for c in after {
        match c {
            Command::Filter(e) => rows.retain(|r| eval(e, r, &aliases).truthy()),
            Command::Sort(keys) => sort(&mut rows, keys),
            Command::Fields(p) => {
                add_aliases(&mut aliases, p);
                projection = Some(p);
            }
            Command::Limit(_) | Command::Stats(_) => {}
        }
    }
    rows.truncate(limit);
    rows.iter()
        .map(|r| output(r, projection, &aliases))
        .collect()
}

fn sort(rows: &mut [Record], keys: &[SortKey]) {
    rows.sort_by(|a, b| {
        keys.iter()
            .map(|k| {
                let (x, y) = (a.get(&k.field), b.get(&k.field));
                let o = match (x.num(), y.num()) {
                    (Some(p), Some(q)) => p.total_cmp(&q),
                    _ => x.display().cmp(&y.display()),
                };
                if k.descending {
                    o.reverse()
                } else {
                    o
                }
            })
            .find(|o| o.is_ne())
            .unwrap_or(std::cmp::Ordering::Equal)
    });
}

fn output(
    r: &Record,
    projection: Option<&[Projection]>,
    aliases: &Aliases,
) -> Vec<(String, String)> {
    let shown = |name: &str, v: Val| {
        let text = match (name, &v) {
            ("@timestamp" | "@ingestionTime", Val::Num(ms)) => format_timestamp(*ms as i64),
            _ => v.display(),
        };
        (name.to_string(), text)
    };
    match projection {
        Some(p) => p
            .iter()
            .map(|p| shown(&p.name, eval(&p.expr, r, aliases)))
            .filter(|(_, v)| !v.is_empty())
            .collect(),
        None => r
            .fields()
            .iter()
            .map(|(n, v)| shown(n, v.clone()))
            .collect(),
    }
}

/// A query without stats: matching events, newest first unless sorted otherwise.
fn list(
    query: &Query,
    groups: &[GroupData],
    start_ms: i64,
    end_ms: i64,
    limit: usize,
) -> Eval<(Rows, f64)> {
    let mut aliases = Aliases::new();
    let mut filters = Vec::new();
    let mut projection: Option<&[Projection]> = None;
    let mut sort_keys: Vec<SortKey> = vec![SortKey {
        field: "@timestamp".into(),
        descending: true,
    }];
    for c in &query.commands {
        match c {
            Command::Filter(e) => filters.push(e),
            Command::Fields(p) => {
                add_aliases(&mut aliases, p);
                projection = Some(p);
            }
            Command::Sort(keys) => sort_keys = keys.clone(),
            Command::Limit(_) | Command::Stats(_) => {}
        }
    }
    // Newest first, the first `limit` matches suffice; any other order needs every match.
    let by_time =
        sort_keys.len() == 1 && sort_keys[0].field == "@timestamp" && sort_keys[0].descending;
    let wanted = if by_time { limit } else { usize::MAX };
    let keep = |r: &Record| filters.iter().all(|f| eval(f, r, &aliases).truthy());
    let mut records = Vec::new();
    for g in groups {
        let mut found: Vec<Record> = g
            .events
            .iter()
            .rev()
            .map(|e| discover(e, &g.log))
            .filter(|r| keep(r))
            .take(wanted)
            .collect();
        if let Some(p) = &g.production {
            let budget = wanted.saturating_sub(found.len());
            found.extend(list_backfill(p, &g.log, start_ms, end_ms, budget, &keep)?);
        }
        records.extend(found);
    }
    let matched = records.len() as f64;
    sort(&mut records, &sort_keys);
    records.truncate(limit);
    Ok((
        records
            .iter()
            .map(|r| output(r, projection, &aliases))
            .collect(),
        matched,
    ))
}

/// Synthesized backfilled events that pass `keep`, newest first, at most `wanted`.
fn list_backfill(
    p: &Production,
    log: &str,
    start_ms: i64,
    end_ms: i64,
    wanted: usize,
    keep: &dyn Fn(&Record) -> bool,
) -> Eval<Vec<Record>> {
    let (lo, hi) = (start_ms.max(p.window.start_ms), end_ms.min(p.window.end_ms));
    let mut found = Vec::new();
    let mut scanned = 0u64;
    let mut minute = (hi - 1).div_euclid(MINUTE_MS);
    while found.len() < wanted && minute * MINUTE_MS >= floor_to(lo, MINUTE_MS) && hi > lo {
        for r in p.reports_in_minute(minute).into_iter().rev() {
            if r.timestamp_ms < start_ms || r.timestamp_ms >= end_ms {
                continue;
            }
            scanned += 1;
            let event = Event {
                timestamp_ms: r.timestamp_ms,
                log_stream: r.log_stream,
                message: r.message,
            };
            let record = discover(&event, log);
            if keep(&record) {
                found.push(record);
                if found.len() == wanted {
                    break;
                }
            }
        }
        if scanned > MAX_LISTED_SCAN {
            return Err(format!(
                "the lab lists at most {MAX_LISTED_SCAN} backfilled events per log group; use \
                 stats, sort by @timestamp desc with a limit, or a shorter time range"
            ));
        }
        minute -= 1;
    }
    Ok(found)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backfill::Backfill;
    use crate::insights_query::parse;
    use crate::profiles::{FunctionProfile, ProfileSet};

    fn profile() -> FunctionProfile {
        ProfileSet::parse(
            "[[function]]\nname = \"api\"\nmemory_mb = 512\n[function.workload]\ncpu_ms = 50.0\nio_ms = 20.0\ninit_ms = 300.0\nworking_set_mb = 80\n[function.traffic]\nrequests_per_day = 20000\ncold_start_ratio = 0.05\n",
            "t.toml",
        )
        .unwrap()
        .functions
        .remove(0)
    }

    const STARTED: i64 = 1_760_000_000_000;

    fn event(ms: i64, message: &str) -> Event {
        Event {
            timestamp_ms: ms,
            log_stream: "2025/10/09/[$LATEST]abc".into(),
            message: message.into(),
        }
    }

    fn cell<'a>(row: &'a [(String, String)], name: &str) -> &'a str {
        row.iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
            .unwrap_or("")
    }

    #[test]
    fn report_lines_give_lambda_fields_in_bytes() {
        let r = discover(
            &event(5, "REPORT RequestId: abc\tDuration: 469.40 ms\tBilled Duration: 470 ms\tMemory Size: 1024 MB\tMax Memory Used: 21 MB\tInit Duration: 100.99 ms\t\n"),
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

    #[test]
    fn stats_over_lab_events_only() {
        let groups = [GroupData {
            log: "g".into(),
            production: None,
            events: (1..=4)
                .map(|i| event(i * 1000, &format!("REPORT RequestId: r{i}\tDuration: {i}0.00 ms\tBilled Duration: {i}0 ms\tMemory Size: 128 MB\tMax Memory Used: 50 MB\t\n")))
                .chain([event(500, "START RequestId: r1 Version: $LATEST\n")])
                .collect(),
        }];
        let q = parse("filter @type = \"REPORT\" | stats count(*) as n, avg(@duration) as avg, pct(@duration, 50), max(@memorySize / 1000 / 1000) as mb").unwrap();
        let out = run(&q, &groups, 0, 10_000, None).unwrap();
        assert_eq!(out.rows.len(), 1);
        let row = &out.rows[0];
        assert_eq!(cell(row, "n"), "4");
        assert_eq!(cell(row, "avg"), "25");
        assert_eq!(cell(row, "pct(@duration, 50)"), "20");
        assert_eq!(cell(row, "mb"), "128");
        assert_eq!(out.records_scanned, 5.0);
        assert_eq!(out.records_matched, 4.0);
    }

    #[test]
    fn strcontains_counts_matching_lines() {
        let lines = [
            "REPORT RequestId: a\tDuration: 1.00 ms\tBilled Duration: 1 ms\tMemory Size: 128 MB\tMax Memory Used: 128 MB\tStatus: error\tError Type: Runtime.OutOfMemory\t\n",
            "REPORT RequestId: b\tDuration: 1.00 ms\tBilled Duration: 1 ms\tMemory Size: 128 MB\tMax Memory Used: 50 MB\t\n",
        ];
        let groups = [GroupData {
            log: "g".into(),
            production: None,
            events: lines.iter().map(|l| event(1000, l)).collect(),
        }];
        let q = parse("filter @type = \"REPORT\" | stats sum(strcontains(@message, \"Runtime.OutOfMemory\")) as oom, count(*) as n").unwrap();
        let out = run(&q, &groups, 0, 10_000, None).unwrap();
        assert_eq!(cell(&out.rows[0], "oom"), "1");
        assert_eq!(cell(&out.rows[0], "n"), "2");
        assert!(parse("stats sum(strcontains(@message, 3))")
            .unwrap_err()
            .message
            .contains("quoted string"));
    }

    #[test]
    fn backfill_populations_follow_the_counts_and_distribution() {
        let p = profile();
        let b = Backfill::new(3, STARTED);
        let prod = b.production(&p);
        let truth_n = prod.invocations_between(b.start_ms, b.end_ms);
        let truth_p99 = prod.durations.quantile(0.99);
        let groups = [GroupData {
            log: "g".into(),
            production: Some(prod),
            events: Vec::new(),
        }];
        let q = parse("filter @type = \"REPORT\" | stats count(*) as n, pct(@duration, 99) as p99, count(@initDuration) as cold by bin(1d)").unwrap();
        let out = run(&q, &groups, b.start_ms, b.end_ms, None).unwrap();
        // The 14 days start mid-day, so they touch 15 calendar days.
        assert_eq!(out.rows.len(), 15);
        let n: f64 = out
            .rows
            .iter()
            .map(|r| cell(r, "n").parse::<f64>().unwrap())
            .sum();
        assert!((n - truth_n as f64).abs() <= 14.0, "{n} vs {truth_n}");
        let p99: f64 = cell(&out.rows[3], "p99").parse().unwrap();
        assert!(
            (p99 - truth_p99).abs() / truth_p99 < 1e-3,
            "{p99} vs {truth_p99}"
        );
        let cold: f64 = out
            .rows
            .iter()
            .map(|r| cell(r, "cold").parse::<f64>().unwrap())
            .sum();
        assert!((cold / n - 0.05).abs() < 0.005, "{cold}");
    }

    #[test]
    fn a_duration_filter_truncates_and_hides_billed_duration() {
        let p = profile();
        let b = Backfill::new(3, STARTED);
        let prod = b.production(&p);
        let median = prod.durations.quantile(0.5);
        let total = prod.invocations_between(b.start_ms, b.end_ms) as f64;
        let groups = [GroupData {
            log: "g".into(),
            production: Some(prod),
            events: Vec::new(),
        }];
        let q = parse(&format!(
            "filter @duration > {median} | stats count(*) as n, min(@duration) as lo"
        ))
        .unwrap();
        let out = run(&q, &groups, b.start_ms, b.end_ms, None).unwrap();
        let n: f64 = cell(&out.rows[0], "n").parse().unwrap();
        assert!((n / total - 0.5).abs() < 0.01, "{n} of {total}");
        assert!(cell(&out.rows[0], "lo").parse::<f64>().unwrap() >= median);
        let q = parse(&format!(
            "filter @duration > {median} | stats avg(@billedDuration)"
        ))
        .unwrap();
        assert!(run(&q, &groups, b.start_ms, b.end_ms, None)
            .unwrap_err()
            .contains("@billedDuration"));
    }

    #[test]
    fn listing_returns_newest_backfilled_reports() {
        let p = profile();
        let b = Backfill::new(3, STARTED);
        let groups = [GroupData {
            log: "g".into(),
            production: Some(b.production(&p)),
            events: Vec::new(),
        }];
        let q = parse(
            "fields @timestamp, @requestId, @duration | filter ispresent(@initDuration) | limit 3",
        )
        .unwrap();
        let out = run(&q, &groups, b.start_ms, b.end_ms, None).unwrap();
        assert_eq!(out.rows.len(), 3);
        assert!(cell(&out.rows[0], "@timestamp") >= cell(&out.rows[1], "@timestamp"));
        assert_eq!(cell(&out.rows[0], "@requestId").len(), 36);
    }
}
