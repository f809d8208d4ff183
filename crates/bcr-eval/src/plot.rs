//! `scaling.svg` and `scaling.png`: the task-scaling law in two panels,
//! accuracy vs N (left) and tokens per problem vs N (right), one line per
//! benchmark (BCR paper, Fig. 1 style).
//!
//! Text in the PNG is drawn with DejaVu Sans, bundled in `assets/` (Bitstream
//! Vera licence, `assets/LICENSE-DejaVu.txt`), through plotters' `ab_glyph`
//! feature: no system font libraries are needed.

use crate::report::Summary;
use crate::{Error, Result};
use plotters::coord::Shift;
use plotters::prelude::*;
use std::path::Path;
use std::sync::Once;

static FONT: &[u8] = include_bytes!("../assets/DejaVuSans.ttf");
static REGISTER: Once = Once::new();

const SIZE: (u32, u32) = (1200, 480);

/// One line of a panel: a benchmark's (N, value) points.
type Series = (String, Vec<(f64, f64)>);

/// Writes `scaling.svg` and `scaling.png` into `dir`.
pub fn write_plots(dir: &Path, summary: &Summary) -> Result<()> {
    let (acc, tok) = series(summary);
    draw_files(dir, &acc, &tok)
}

/// Writes `scaling.svg` and `scaling.png` into `dir` with one line per
/// model: `runs` are (model name, its summary), each drawn on `benchmark`.
pub fn write_model_plots(dir: &Path, runs: &[(String, Summary)], benchmark: &str) -> Result<()> {
    let (mut acc, mut tok) = (Vec::new(), Vec::new());
    for (name, s) in runs {
        let rows: Vec<_> = s.rows.iter().filter(|r| r.benchmark == benchmark && r.responses > 0).collect();
        acc.push((name.clone(), rows.iter().map(|r| (r.n as f64, 100.0 * r.accuracy)).collect()));
        tok.push((name.clone(), rows.iter().map(|r| (r.n as f64, r.tokens_per_problem)).collect()));
    }
    draw_files(dir, &acc, &tok)
}

fn draw_files(dir: &Path, acc: &[Series], tok: &[Series]) -> Result<()> {
    REGISTER.call_once(|| {
        // The bundled font is a valid TTF; if registration ever failed, the
        // draw below reports the font error with the file name.
        let _ = plotters::style::register_font("sans-serif", FontStyle::Normal, FONT);
    });
    let (acc, tok) = (acc.to_vec(), tok.to_vec());
    let svg = dir.join("scaling.svg");
    draw(SVGBackend::new(&svg, SIZE).into_drawing_area(), &acc, &tok).map_err(|m| plot_err(&svg, m))?;
    let png = dir.join("scaling.png");
    draw(BitMapBackend::new(&png, SIZE).into_drawing_area(), &acc, &tok).map_err(|m| plot_err(&png, m))
}

fn plot_err(path: &Path, message: String) -> Error {
    Error::Plot { path: path.to_path_buf(), message }
}

/// (accuracy %, tokens per problem) series per benchmark, only N with data.
fn series(s: &Summary) -> (Vec<Series>, Vec<Series>) {
    let (mut acc, mut tok) = (Vec::new(), Vec::new());
    for b in &s.run.benchmarks {
        let rows: Vec<_> = s.rows.iter().filter(|r| r.benchmark == b.name && r.responses > 0).collect();
        acc.push((b.name.clone(), rows.iter().map(|r| (r.n as f64, 100.0 * r.accuracy)).collect()));
        tok.push((b.name.clone(), rows.iter().map(|r| (r.n as f64, r.tokens_per_problem)).collect()));
    }
    (acc, tok)
}

fn draw<DB: DrawingBackend>(
    root: DrawingArea<DB, Shift>,
    acc: &[Series],
    tok: &[Series],
) -> std::result::Result<(), String> {
    root.fill(&WHITE).map_err(|e| e.to_string())?;
    let panels = root.split_evenly((1, 2));
    panel(&panels[0], "Accuracy vs N", "accuracy (%)", acc, Some(100.0))?;
    panel(&panels[1], "Tokens per problem vs N", "tokens per problem", tok, None)?;
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
        .y_label_formatter(&|y| format!("{y:.0}"))
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
