//! Inline SVG charts for the HTML report, drawn with plotters' SVG backend (text is left to
//! the browser's sans-serif font, so no font files are needed).
//!
//! Per function: duration and cost per 1M invocations against memory (log scale), measured
//! points, the fitted curve with its band, and the current and recommended sizes. For a
//! fleet: savings by function.

use plotters::coord::combinators::WithKeyPoints;
use plotters::coord::types::RangedCoordf64;
use plotters::coord::Shift;
use plotters::prelude::*;

use crate::tune::document::FunctionDocument;

const WIDTH: u32 = 610;
const HEIGHT: u32 = 360;
/// Room right of the plot for the legend.
const LEGEND_WIDTH: u32 = 150;
const FONT: &str = "sans-serif";
const MEASURED: RGBColor = RGBColor(33, 33, 33);
const FIT: RGBColor = RGBColor(31, 119, 180);
const TAIL: RGBColor = RGBColor(255, 127, 14);
const CURRENT: RGBColor = RGBColor(120, 120, 120);
const RECOMMENDED: RGBColor = RGBColor(44, 160, 44);
const WORSE: RGBColor = RGBColor(214, 39, 40);

type Area<'a> = DrawingArea<SVGBackend<'a>, Shift>;
type DrawResult = Result<(), Box<dyn std::error::Error>>;
type MemoryChart<'a, 'b> =
    ChartContext<'a, SVGBackend<'b>, Cartesian2d<WithKeyPoints<LogCoord<f64>>, RangedCoordf64>>;

/// Memory sizes worth a tick: common sizes, one full vCPU (1769 MB), Power Tuning's 3008 MB.
const MEMORY_TICKS: [f64; 8] = [128.0, 256.0, 512.0, 1024.0, 1769.0, 3008.0, 6144.0, 10240.0];

fn svg(width: u32, height: u32, draw: impl FnOnce(&Area) -> DrawResult) -> String {
    let mut out = String::new();
    {
        let root = SVGBackend::with_string(&mut out, (width, height)).into_drawing_area();
        // Drawing into a String only fails on a plotters bug; show what was drawn so far.
        let _ = root
            .fill(&WHITE)
            .map_err(Into::into)
            .and_then(|()| draw(&root));
        let _ = root.present();
    }
    out
}

fn padded(lo: f64, hi: f64, from_zero: bool) -> std::ops::Range<f64> {
    let span = (hi - lo).max(hi.abs() * 0.05).max(1e-9);
    let lo = if from_zero {
        0.0
    } else {
        (lo - span * 0.1).max(0.0)
    };
    lo..hi + span * 0.12
}

fn mb_label(mb: &f64) -> String {
    format!("{mb:.0}")
}

/// The memory axis: the measured sizes, widened a little on the log scale.
fn memory_range(d: &FunctionDocument) -> Option<(f64, f64)> {
    let sizes = d.sizes.iter().map(|s| s.memory_mb as f64);
    let lo = sizes.clone().fold(f64::INFINITY, f64::min);
    let hi = sizes.fold(0.0, f64::max);
    (lo.is_finite() && hi > 0.0).then(|| (lo / 1.15, hi * 1.15))
}

fn in_range(x: f64, (lo, hi): (f64, f64)) -> bool {
    (lo..=hi).contains(&x)
}

/// A chart of something against memory (log scale) left of a legend column.
fn memory_chart<'a, 'b>(
    plot: &'a Area<'b>,
    title: String,
    xs: (f64, f64),
    y: std::ops::Range<f64>,
    y_desc: &str,
    y_label: &dyn Fn(&f64) -> String,
) -> Result<MemoryChart<'a, 'b>, Box<dyn std::error::Error>> {
    let mut ticks: Vec<f64> = MEMORY_TICKS
        .into_iter()
        .filter(|&t| in_range(t, xs))
        .collect();
    if ticks.len() < 3 {
        ticks.extend([(xs.0 * 1.15).round(), (xs.1 / 1.15).round()]);
    }
    let mut chart = ChartBuilder::on(plot)
        .caption(title, (FONT, 16))
        .margin(12)
        .x_label_area_size(42)
        .y_label_area_size(64)
        .build_cartesian_2d((xs.0..xs.1).log_scale().with_key_points(ticks), y)?;
    chart
        .configure_mesh()
        .x_desc("memory (MB, log scale)")
        .y_desc(y_desc)
        .x_label_formatter(&mb_label)
        .y_label_formatter(y_label)
        .axis_desc_style((FONT, 13))
        .label_style((FONT, 12))
        .light_line_style(BLACK.mix(0.05))
        .draw()?;
    Ok(chart)
}

/// What a legend entry shows before its label.
enum Swatch {
    Line(RGBColor),
    Dashed(RGBColor),
    Fill(RGBAColor),
    Dot(RGBColor),
}

/// Draws the legend in its own column (plotters' own legend sits inside the plot).
fn legend(area: &Area, keys: &[(Swatch, String)]) -> DrawResult {
    let font = (FONT, 12).into_font().color(&BLACK);
    for (i, (swatch, label)) in keys.iter().enumerate() {
        let y = 44 + 20 * i as i32;
        let (x0, x1) = (4, 24);
        match swatch {
            Swatch::Line(c) => {
                area.draw(&PathElement::new([(x0, y), (x1, y)], c.stroke_width(2)))?
            }
            Swatch::Dashed(c) => {
                for x in (x0..x1).step_by(7) {
                    area.draw(&PathElement::new([(x, y), (x + 4, y)], c.stroke_width(2)))?
                }
            }
            Swatch::Fill(c) => {
                area.draw(&Rectangle::new([(x0, y - 6), (x1, y + 6)], c.filled()))?
            }
            Swatch::Dot(c) => area.draw(&Circle::new((14, y), 4, c.filled()))?,
        }
        area.draw_text(label, &font, (x1 + 6, y - 7))?;
    }
    Ok(())
}

/// Vertical dashed lines at the current and recommended sizes.
fn markers(
    chart: &mut MemoryChart,
    d: &FunctionDocument,
    y: &std::ops::Range<f64>,
    keys: &mut Vec<(Swatch, String)>,
) -> DrawResult {
    let now = d.current.memory_mb;
    let mut lines = vec![(now, CURRENT, format!("current {now} MB"))];
    if let Some(r) = d.recommendation.as_ref().filter(|r| r.memory_mb != now) {
        let mb = r.memory_mb;
        lines.push((mb, RECOMMENDED, format!("recommended {mb} MB")));
    }
    for (mb, color, label) in lines {
        chart.draw_series(DashedLineSeries::new(
            [(mb as f64, y.start), (mb as f64, y.end)],
            6,
            4,
            color.stroke_width(2),
        ))?;
        keys.push((Swatch::Dashed(color), label));
    }
    Ok(())
}

/// A filled band between two curves over the same x values.
fn band(points: &[(f64, f64, f64)], color: RGBAColor) -> Polygon<(f64, f64)> {
    let upper = points.iter().map(|&(x, _, hi)| (x, hi));
    let lower = points.iter().rev().map(|&(x, lo, _)| (x, lo));
    Polygon::new(upper.chain(lower).collect::<Vec<_>>(), color.filled())
}

/// Duration against memory: measured p50 with the p50–p90 and p90–p99 bands, the fitted
/// mean with its 95% band, the fitted p99, and the current and recommended sizes.
pub fn duration(d: &FunctionDocument) -> String {
    let Some(xs) = memory_range(d) else {
        return String::new();
    };
    let measured: Vec<(f64, f64, f64, f64)> = d
        .sizes
        .iter()
        .filter_map(|s| Some((s.memory_mb as f64, s.p50_ms?, s.p90_ms?, s.p99_ms?)))
        .collect();
    let fit_in_range = || {
        d.fit
            .iter()
            .flat_map(|f| &f.points)
            .filter(|p| in_range(p.memory_mb as f64, xs))
    };
    // The axis fits what was measured and the fitted mean; a band wider than that is cut at
    // the top rather than squeezing the curves flat.
    let top = measured
        .iter()
        .map(|m| m.3)
        .chain(fit_in_range().map(|p| p.mean_ms))
        .fold(0.0, f64::max);
    let y = padded(0.0, top, true);
    let cut = |v: f64| v.min(y.end);
    // (MB, mean, band low, band high, p99)
    let fit: Vec<(f64, f64, f64, f64, f64)> = fit_in_range()
        .map(|p| {
            let m = p.memory_mb as f64;
            (
                m,
                cut(p.mean_ms),
                cut(p.mean_low_ms),
                cut(p.mean_high_ms),
                cut(p.p99_ms),
            )
        })
        .collect();
    svg(WIDTH, HEIGHT, |root| {
        let (plot, side) = root.split_horizontally(WIDTH - LEGEND_WIDTH);
        let title = format!("{}: duration by memory", d.function.name);
        let mut chart = memory_chart(&plot, title, xs, y.clone(), "warm duration (ms)", &|v| {
            format!("{v:.0}")
        })?;
        let mut keys = Vec::new();
        if measured.len() > 1 {
            let p90: Vec<_> = measured.iter().map(|m| (m.0, m.2, m.3)).collect();
            let p50: Vec<_> = measured.iter().map(|m| (m.0, m.1, m.2)).collect();
            chart.draw_series([band(&p90, TAIL.mix(0.15)), band(&p50, TAIL.mix(0.35))])?;
            keys.push((Swatch::Fill(TAIL.mix(0.35)), "measured p50–p90".into()));
            keys.push((Swatch::Fill(TAIL.mix(0.15)), "measured p90–p99".into()));
        }
        if fit.len() > 1 {
            let mean_band: Vec<_> = fit.iter().map(|p| (p.0, p.2, p.3)).collect();
            chart.draw_series([band(&mean_band, FIT.mix(0.2))])?;
            chart.draw_series(LineSeries::new(
                fit.iter().map(|p| (p.0, p.1)),
                FIT.stroke_width(2),
            ))?;
            chart.draw_series(DashedLineSeries::new(
                fit.iter().map(|p| (p.0, p.4)),
                4,
                3,
                FIT.stroke_width(1),
            ))?;
            keys.push((Swatch::Line(FIT), "fitted mean".into()));
            keys.push((Swatch::Fill(FIT.mix(0.2)), "its 95% band".into()));
            keys.push((Swatch::Dashed(FIT), "fitted p99".into()));
        }
        chart.draw_series(LineSeries::new(
            measured.iter().map(|m| (m.0, m.1)),
            MEASURED.stroke_width(1),
        ))?;
        chart.draw_series(
            measured
                .iter()
                .map(|m| Circle::new((m.0, m.1), 4, MEASURED.filled())),
        )?;
        keys.push((Swatch::Dot(MEASURED), "measured p50".into()));
        markers(&mut chart, d, &y, &mut keys)?;
        legend(&side, &keys)
    })
}

/// `a + b x MB x ms` fitted to the measured costs: the request price and INIT share in `a`,
/// the price per MB-ms in `b`. None without two distinct sampled sizes.
fn price_model(d: &FunctionDocument) -> Option<(f64, f64)> {
    let points: Vec<(f64, f64)> = d
        .sizes
        .iter()
        .filter_map(|s| {
            Some((
                s.memory_mb as f64 * s.mean_billed_ms?,
                s.cost_per_million_usd?,
            ))
        })
        .collect();
    let n = points.len() as f64;
    let mean_x = points.iter().map(|p| p.0).sum::<f64>() / n;
    let mean_y = points.iter().map(|p| p.1).sum::<f64>() / n;
    let sxx: f64 = points.iter().map(|p| (p.0 - mean_x).powi(2)).sum();
    let sxy: f64 = points.iter().map(|p| (p.0 - mean_x) * (p.1 - mean_y)).sum();
    (points.len() >= 2 && sxx > 0.0).then(|| {
        let b = sxy / sxx;
        (mean_y - b * mean_x, b)
    })
}

/// Cost per 1M invocations against memory: measured means with their 95% intervals, the
/// fitted duration priced like the measured sizes, and the current and recommended sizes.
pub fn cost(d: &FunctionDocument) -> String {
    let Some(xs) = memory_range(d) else {
        return String::new();
    };
    let measured: Vec<(f64, f64, Option<[f64; 2]>)> = d
        .sizes
        .iter()
        .filter_map(|s| {
            let ci = s.cost_ci95_usd.map(|[lo, hi]| [lo * 1e6, hi * 1e6]);
            Some((s.memory_mb as f64, s.cost_per_million_usd?, ci))
        })
        .collect();
    let fitted: Vec<(f64, f64, f64, f64)> = match (price_model(d), &d.fit) {
        (Some((a, b)), Some(fit)) => fit
            .points
            .iter()
            .filter(|p| in_range(p.memory_mb as f64, xs))
            .map(|p| {
                let m = p.memory_mb as f64;
                let price = |ms: f64| a + b * m * ms;
                (
                    m,
                    price(p.mean_ms),
                    price(p.mean_low_ms),
                    price(p.mean_high_ms),
                )
            })
            .collect(),
        _ => Vec::new(),
    };
    let values = measured
        .iter()
        .flat_map(|m| [m.1, m.2.map_or(m.1, |c| c[0]), m.2.map_or(m.1, |c| c[1])])
        .chain(fitted.iter().map(|f| f.1));
    let (lo, hi) = values.fold((f64::INFINITY, 0.0_f64), |(lo, hi), v| {
        (lo.min(v), hi.max(v))
    });
    // Nothing succeeded: empty axes still say so.
    let y = if lo.is_finite() {
        padded(lo, hi, false)
    } else {
        0.0..1.0
    };
    // As for duration, a band wider than the data is cut at the axis.
    let cut = |v: f64| v.clamp(y.start, y.end);
    let fitted: Vec<_> = fitted
        .into_iter()
        .map(|(m, mean, low, high)| (m, cut(mean), cut(low), cut(high)))
        .collect();
    svg(WIDTH, HEIGHT, |root| {
        let (plot, side) = root.split_horizontally(WIDTH - LEGEND_WIDTH);
        let title = format!("{}: cost by memory", d.function.name);
        let y_desc = "cost per 1M invocations (USD)";
        let mut chart = memory_chart(&plot, title, xs, y.clone(), y_desc, &|v| format!("{v:.2}"))?;
        let mut keys = Vec::new();
        if fitted.len() > 1 {
            let area: Vec<_> = fitted.iter().map(|f| (f.0, f.2, f.3)).collect();
            chart.draw_series([band(&area, FIT.mix(0.2))])?;
            chart.draw_series(LineSeries::new(
                fitted.iter().map(|f| (f.0, f.1)),
                FIT.stroke_width(2),
            ))?;
            keys.push((Swatch::Line(FIT), "fitted duration, priced".into()));
            keys.push((Swatch::Fill(FIT.mix(0.2)), "its 95% band".into()));
        }
        chart.draw_series(measured.iter().filter_map(|m| {
            let [lo, hi] = m.2?;
            Some(PathElement::new(
                [(m.0, lo), (m.0, hi)],
                MEASURED.stroke_width(2),
            ))
        }))?;
        chart.draw_series(
            measured
                .iter()
                .map(|m| Circle::new((m.0, m.1), 4, MEASURED.filled())),
        )?;
        keys.push((Swatch::Dot(MEASURED), "measured mean".into()));
        keys.push((Swatch::Line(MEASURED), "its 95% interval".into()));
        markers(&mut chart, d, &y, &mut keys)?;
        legend(&side, &keys)
    })
}

/// Savings by function as horizontal bars (green saves, red costs more), largest first.
pub fn savings(bars: &[(String, f64)], unit: &str) -> String {
    let n = bars.len() as i32;
    let height = (90 + 22 * n.max(1)) as u32;
    let (lo, hi) = bars
        .iter()
        .fold((0.0_f64, 0.0_f64), |(lo, hi), b| (lo.min(b.1), hi.max(b.1)));
    let span = (hi - lo).max(1e-9);
    let x = (lo - span * 0.05)..(hi + span * 0.05);
    svg(WIDTH + 180, height, |root| {
        let mut chart = ChartBuilder::on(root)
            .caption(format!("Savings by function ({unit})"), (FONT, 16))
            .margin(12)
            .x_label_area_size(40)
            .y_label_area_size(170)
            .build_cartesian_2d(x.clone(), (0..n).into_segmented())?;
        chart
            .configure_mesh()
            .disable_y_mesh()
            .x_desc(unit)
            .y_labels(bars.len())
            .y_label_formatter(&|v| match v {
                SegmentValue::CenterOf(i) => bars
                    .get(*i as usize)
                    .map(|b| b.0.clone())
                    .unwrap_or_default(),
                _ => String::new(),
            })
            .axis_desc_style((FONT, 13))
            .label_style((FONT, 11))
            .draw()?;
        chart.draw_series(bars.iter().enumerate().map(|(i, (_, v))| {
            let i = i as i32;
            let color = if *v >= 0.0 { RECOMMENDED } else { WORSE };
            let mut bar = Rectangle::new(
                [
                    (0.0, SegmentValue::Exact(i)),
                    (*v, SegmentValue::Exact(i + 1)),
                ],
                color.mix(0.8).filled(),
            );
            bar.set_margin(3, 3, 0, 0);
            bar
        }))?;
        Ok(())
    })
}
