//! `scaling.svg` and `scaling.png`: the task-scaling law in three panels,
//! accuracy, tokens per problem and reflection phrases per problem against
//! N, one line per benchmark (BCR paper, Fig. 1 style, plus finding 3).
//!
//! Text in the PNG is drawn with DejaVu Sans, bundled in `assets/` (Bitstream
//! Vera licence, `assets/LICENSE-DejaVu.txt`), through plotters' `ab_glyph`
//! feature: no system font libraries are needed.

use crate::report::{Row, Summary};
use crate::{Error, Result};
use plotters::coord::Shift;
use plotters::prelude::*;
use std::path::Path;
use std::sync::Once;

static FONT: &[u8] = include_bytes!("../assets/DejaVuSans.ttf");
static REGISTER: Once = Once::new();

const SIZE: (u32, u32) = (1650, 480);

/// One line of a panel: a benchmark's (N, value) points.
type Series = (String, Vec<(f64, f64)>);

/// The three panels' series: accuracy (%), tokens per problem, reflections per problem.
#[derive(Default)]
struct Panels {
    acc: Vec<Series>,
    tok: Vec<Series>,
    refl: Vec<Series>,
}

impl Panels {
    /// Adds one line named `name` from the rows with data.
    fn add(&mut self, name: &str, rows: &[&Row]) {
        let pts = |f: fn(&Row) -> f64| rows.iter().map(|r| (r.n as f64, f(r))).collect();
        self.acc.push((name.to_string(), pts(|r| 100.0 * r.accuracy)));
        self.tok.push((name.to_string(), pts(|r| r.tokens_per_problem)));
        self.refl.push((name.to_string(), pts(|r| r.reflections_per_problem)));
    }
}

/// Writes `scaling.svg` and `scaling.png` into `dir`, one line per benchmark.
pub fn write_plots(dir: &Path, summary: &Summary) -> Result<()> {
    let mut panels = Panels::default();
    for b in &summary.run.benchmarks {
        let rows: Vec<&Row> = summary.rows.iter().filter(|r| r.benchmark == b.name && r.responses > 0).collect();
        panels.add(&b.name, &rows);
    }
    draw_files(dir, &panels)
}

/// Writes `scaling.svg` and `scaling.png` into `dir` with one line per
/// model: `runs` are (model name, its summary), each drawn on `benchmark`.
pub fn write_model_plots(dir: &Path, runs: &[(String, Summary)], benchmark: &str) -> Result<()> {
    let mut panels = Panels::default();
    for (name, s) in runs {
        let rows: Vec<&Row> = s.rows.iter().filter(|r| r.benchmark == benchmark && r.responses > 0).collect();
        panels.add(name, &rows);
    }
    draw_files(dir, &panels)
}

fn draw_files(dir: &Path, panels: &Panels) -> Result<()> {
    REGISTER.call_once(|| {
        // The bundled font is a valid TTF; if registration ever failed, the
        // draw below reports the font error with the file name.
        let _ = plotters::style::register_font("sans-serif", FontStyle::Normal, FONT);
    });
    let svg = dir.join("scaling.svg");
    draw(SVGBackend::new(&svg, SIZE).into_drawing_area(), panels).map_err(|m| plot_err(&svg, m))?;
    let png = dir.join("scaling.png");
    draw(BitMapBackend::new(&png, SIZE).into_drawing_area(), panels).map_err(|m| plot_err(&png, m))
}

fn plot_err(path: &Path, message: String) -> Error {
    Error::Plot { path: path.to_path_buf(), message }
}

fn draw<DB: DrawingBackend>(root: DrawingArea<DB, Shift>, p: &Panels) -> std::result::Result<(), String> {
    root.fill(&WHITE).map_err(|e| e.to_string())?;
    let areas = root.split_evenly((1, 3));
    panel(&areas[0], "Accuracy vs N", "accuracy (%)", &p.acc, Some(100.0))?;
    panel(&areas[1], "Tokens per problem vs N", "tokens per problem", &p.tok, None)?;
    panel(&areas[2], "Reflections per problem vs N", "reflection phrases per problem", &p.refl, None)?;
    root.present().map_err(|e| e.to_string())
}

fn panel<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    title: &str,
    y_label: &str,
    data: &[Series],
    y_cap: Option<f64>,
) -> std::result::Result<(), String> {
    let pts = data.iter().flat_map(|(_, p)| p.iter());
    let x_max = pts.clone().map(|p| p.0).fold(1.0f64, f64::max);
    let y_top = pts.map(|p| p.1).fold(0.0f64, f64::max) * 1.1;
    let y_max = match y_cap {
        Some(cap) => y_top.clamp(10.0, cap),
        None => y_top.max(1.0),
    };
    let mut chart = ChartBuilder::on(area)
        .caption(title, ("sans-serif", 22))
        .margin(14)
        .x_label_area_size(44)
        .y_label_area_size(64)
        .build_cartesian_2d(0.5f64..x_max + 0.5, 0f64..y_max)
        .map_err(|e| e.to_string())?;
    chart
        .configure_mesh()
        .x_desc("problems per context N")
        .y_desc(y_label)
        .x_labels(x_max as usize + 1)
        .x_label_formatter(&|x| {
            if (x - x.round()).abs() < 1e-9 && *x >= 1.0 {
                format!("{x:.0}")
            } else {
                String::new()
            }
        })
        .y_label_formatter(&|y| if y_max < 10.0 { format!("{y:.1}") } else { format!("{y:.0}") })
        .light_line_style(TRANSPARENT)
        .label_style(("sans-serif", 15))
        .draw()
        .map_err(|e| e.to_string())?;
    for (i, (name, points)) in data.iter().enumerate() {
        let color = Palette99::pick(i).to_rgba();
        chart
            .draw_series(LineSeries::new(points.iter().copied(), color.stroke_width(2)))
            .map_err(|e| e.to_string())?
            .label(name.as_str())
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], color.stroke_width(2)));
        chart.draw_series(points.iter().map(|&p| Circle::new(p, 4, color.filled()))).map_err(|e| e.to_string())?;
    }
    chart
        .configure_series_labels()
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK)
        .label_font(("sans-serif", 15))
        .position(SeriesLabelPosition::UpperRight)
        .draw()
        .map_err(|e| e.to_string())
}
