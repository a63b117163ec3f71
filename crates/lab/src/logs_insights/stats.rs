//! `stats ... by ...`: aggregates over concrete records and backfilled populations alike,
//! weighted by how many invocations each stands for.

use std::collections::BTreeMap;
use std::sync::Arc;

use super::population::{populations, Affine, PopVal, Population};
use super::query::{AggregateFn, Command, GroupKey, Stats};
use super::record::{discover, eval, format_timestamp, prefix_commands, Aliases, Record, Val};
use super::{Eval, GroupData};
use crate::backfill::floor_to;
use crate::mixture::{Continuous, Mixture, Uniform};

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

pub(super) fn aggregate(
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
