//! Backfilled production traffic described statistically: per time slice, a count of warm or
//! cold invocations whose REPORT fields are constants or distributions, narrowed by filters.

use std::sync::Arc;

use super::query::{BinaryOp, Expr, GroupKey, Stats};
use super::record::{binary, Aliases, Val};
use super::Eval;
use crate::backfill::{floor_to, Production, SyntheticReport, BYTES_PER_MB, DAY_MS, MINUTE_MS};
use crate::mixture::{Continuous, Uniform};
use crate::profiles::LogFormat;

/// The quantities a REPORT line carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Quantity {
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
pub(super) struct Population {
    pub(super) timestamp_ms: i64,
    pub(super) count: f64,
    format: LogFormat,
    fields: Vec<(Quantity, PopField)>,
}

/// The value of an expression over a population.
#[derive(Clone)]
pub(super) enum PopVal {
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
pub(super) struct Affine {
    pub(super) inner: Arc<dyn Continuous>,
    pub(super) a: f64,
    pub(super) b: f64,
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

impl Population {
    fn field(&self, q: Quantity) -> Option<&PopField> {
        self.fields.iter().find(|(k, _)| *k == q).map(|(_, f)| f)
    }

    pub(super) fn value(&self, expr: &Expr, aliases: &Aliases) -> Eval<PopVal> {
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
    pub(super) fn restrict(self, cond: &Expr, aliases: &Aliases) -> Eval<Option<Population>> {
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

/// The backfill of [start_ms, end_ms) as populations: per time slice, warm and cold.
pub(super) fn populations(
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
    let model = profile.model();
    let durations: Arc<dyn Continuous> = Arc::new(p.durations);
    let used = if model.out_of_memory(profile.memory_mb) {
        PopField::Const(Val::Num(profile.memory_mb as f64))
    } else {
        let ws = model.max_memory_used_mb(profile.memory_mb) as f64;
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
pub(super) fn representative(p: &Production, cold: bool) -> Option<SyntheticReport> {
    let minutes = (p.window.start_ms / MINUTE_MS)..(p.window.end_ms / MINUTE_MS);
    minutes
        .step_by(60)
        .flat_map(|m| p.reports_in_minute(m))
        .find(|r| r.init_ms.is_some() == cold)
}
