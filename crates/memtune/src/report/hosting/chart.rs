//! Monthly cost against request rate for each option (log-log, the cheaper architecture at
//! each rate), today's rate marked: drawn with plotters' SVG backend like the tuning report.

use plotters::prelude::*;

use crate::hosting::{Comparison, HostingOption};

const WIDTH: u32 = 720;
const HEIGHT: u32 = 380;
const FONT: &str = "sans-serif";

fn color(option: HostingOption) -> RGBColor {
    match option {
        HostingOption::OnDemand => RGBColor(31, 119, 180),
        HostingOption::Provisioned => RGBColor(148, 103, 189),
        HostingOption::ManagedInstances => RGBColor(255, 127, 14),
        HostingOption::Fargate => RGBColor(44, 160, 44),
    }
}

type DrawResult = Result<(), Box<dyn std::error::Error>>;

fn draw(
    root: &DrawingArea<SVGBackend, plotters::coord::Shift>,
    name: &str,
    c: &Comparison,
) -> DrawResult {
    let points = c.curves.iter().flat_map(|k| k.points.iter());
    let (mut x0, mut x1, mut y0, mut y1) = (f64::INFINITY, 0.0f64, f64::INFINITY, 0.0f64);
    for p in points {
        x0 = x0.min(p[0]);
        x1 = x1.max(p[0]);
        if p[1] > 0.0 {
            y0 = y0.min(p[1]);
            y1 = y1.max(p[1]);
        }
    }
    if !(x0 < x1 && y0 < y1) {
        return Ok(());
    }
    let mut chart = ChartBuilder::on(root)
        .caption(format!("{name}: cost against traffic"), (FONT, 16))
        .margin(12)
        .x_label_area_size(42)
        .y_label_area_size(70)
        .build_cartesian_2d((x0..x1).log_scale(), (y0 * 0.8..y1 * 1.2).log_scale())?;
    chart
        .configure_mesh()
        .x_desc("requests per second (log scale)")
        .y_desc("USD a month (log scale)")
        .axis_desc_style((FONT, 13))
        .label_style((FONT, 12))
        .light_line_style(BLACK.mix(0.05))
        .draw()?;
    for curve in &c.curves {
        let col = color(curve.option);
        chart
            .draw_series(LineSeries::new(
                curve
                    .points
                    .iter()
                    .filter(|p| p[1] > 0.0)
                    .map(|p| (p[0], p[1])),
                col.stroke_width(2),
            ))?
            .label(curve.option.label())
            .legend(move |(x, y)| PathElement::new([(x, y), (x + 18, y)], col.stroke_width(2)));
    }
    if c.current_rps > 0.0 {
        let today = c.current_rps;
        chart
            .draw_series(DashedLineSeries::new(
                [(today, y0 * 0.8), (today, y1 * 1.2)],
                6,
                4,
                BLACK.mix(0.6).stroke_width(1),
            ))?
            .label(format!("today: {today:.2} req/s"))
            .legend(|(x, y)| PathElement::new([(x, y), (x + 18, y)], BLACK.mix(0.6)));
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperLeft)
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK.mix(0.2))
        .label_font((FONT, 12))
        .draw()?;
    Ok(())
}

pub fn cost_against_rate(name: &str, c: &Comparison) -> String {
    let mut out = String::new();
    {
        let root = SVGBackend::with_string(&mut out, (WIDTH, HEIGHT)).into_drawing_area();
        // Drawing into a String only fails on a plotters bug; keep what was drawn.
        let _ = root
            .fill(&WHITE)
            .map_err(Into::into)
            .and_then(|()| draw(&root, name, c));
        let _ = root.present();
    }
    out
}
