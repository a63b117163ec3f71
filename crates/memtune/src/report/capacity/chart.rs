//! Concurrency by hour of day with the recommended provisioned level drawn over it (plotters'
//! SVG backend, as the run report's charts).

use plotters::prelude::*;

use crate::capacity::FunctionCapacity;

const WIDTH: u32 = 640;
const HEIGHT: u32 = 320;
const FONT: &str = "sans-serif";
const PEAK: RGBColor = RGBColor(31, 119, 180);
const MEAN: RGBColor = RGBColor(158, 202, 225);
const PROVISIONED: RGBColor = RGBColor(44, 160, 44);

type DrawResult = Result<(), Box<dyn std::error::Error>>;

pub fn concurrency_by_hour(f: &FunctionCapacity) -> String {
    let mut out = String::new();
    {
        let root = SVGBackend::with_string(&mut out, (WIDTH, HEIGHT)).into_drawing_area();
        // Drawing into a String only fails on a plotters bug; keep what was drawn.
        let _ = root
            .fill(&WHITE)
            .map_err(Into::into)
            .and_then(|()| draw(&root, f));
        let _ = root.present();
    }
    out
}

fn draw(
    root: &DrawingArea<SVGBackend, plotters::coord::Shift>,
    f: &FunctionCapacity,
) -> DrawResult {
    let top = f
        .hours
        .iter()
        .map(|h| h.peak_concurrency.max(h.recommended_level))
        .max()
        .unwrap_or(1)
        .max(1) as f64
        * 1.15;
    let mut chart = ChartBuilder::on(root)
        .caption("Concurrency by hour of day (UTC)", (FONT, 16))
        .margin(10)
        .x_label_area_size(30)
        .y_label_area_size(40)
        .build_cartesian_2d(0f64..24f64, 0f64..top)?;
    chart
        .configure_mesh()
        .x_desc("hour")
        .y_desc("environments")
        .label_style((FONT, 12))
        .draw()?;
    chart
        .draw_series(f.hours.iter().map(|h| {
            let x = h.hour as f64;
            Rectangle::new(
                [(x + 0.1, 0.0), (x + 0.9, h.peak_concurrency as f64)],
                PEAK.mix(0.6).filled(),
            )
        }))?
        .label("peak")
        .legend(|(x, y)| Rectangle::new([(x, y - 5), (x + 10, y + 5)], PEAK.filled()));
    chart
        .draw_series(f.hours.iter().map(|h| {
            let x = h.hour as f64;
            Rectangle::new(
                [(x + 0.3, 0.0), (x + 0.7, h.mean_concurrency)],
                MEAN.filled(),
            )
        }))?
        .label("mean")
        .legend(|(x, y)| Rectangle::new([(x, y - 5), (x + 10, y + 5)], MEAN.filled()));
    let steps: Vec<(f64, f64)> = f
        .hours
        .iter()
        .flat_map(|h| {
            let level = h.recommended_level as f64;
            [(h.hour as f64, level), (h.hour as f64 + 1.0, level)]
        })
        .collect();
    chart
        .draw_series(LineSeries::new(steps, PROVISIONED.stroke_width(3)))?
        .label("provisioned (recommended)")
        .legend(|(x, y)| PathElement::new([(x, y), (x + 12, y)], PROVISIONED.stroke_width(3)));
    chart
        .configure_series_labels()
        .border_style(BLACK)
        .background_style(WHITE.mix(0.8))
        .label_font((FONT, 12))
        .draw()?;
    Ok(())
}
