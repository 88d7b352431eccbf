//! PNG plots, drawn with plotters and a bundled font (no system fonts needed).

use std::path::Path;
use std::sync::Once;

use anyhow::Context;
use plotters::coord::ranged1d::{AsRangedCoord, ValueFormatter};
use plotters::prelude::*;
use plotters::style::{register_font, FontStyle};

use crate::metrics::EpisodeMetrics;

static FONT: Once = Once::new();

fn ensure_font() {
    FONT.call_once(|| {
        // The bundled DejaVu Sans is a valid TrueType font; registering it cannot fail.
        let _ = register_font(
            "sans-serif",
            FontStyle::Normal,
            include_bytes!("../assets/DejaVuSans.ttf"),
        );
    });
}

fn draw_error<E: std::fmt::Display>(path: &Path) -> impl FnOnce(E) -> anyhow::Error + '_ {
    move |e| {
        let text = e.to_string();
        // A failed write (disk full) arrives as the backend's nested debug text around the
        // system's message: `… IoError(Os { …, message: "No space left on device" })`.
        match text
            .split_once("message: \"")
            .and_then(|(_, rest)| rest.split_once('"'))
        {
            Some((message, _)) => {
                anyhow::anyhow!("cannot write plot {}: {message}", path.display())
            }
            None => anyhow::anyhow!("cannot draw {}: {text}", path.display()),
        }
    }
}

/// A canvas of `size` pixels that will be saved as `path`. The file is opened for writing
/// first, so that a folder that cannot be written to is reported as such, in the system's
/// words, rather than by the drawing library's nested error after all the drawing.
fn canvas(
    path: &Path,
    size: (u32, u32),
) -> anyhow::Result<DrawingArea<BitMapBackend<'_>, plotters::coord::Shift>> {
    std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(false)
        .open(path)
        .with_context(|| format!("cannot write plot {}", path.display()))?;
    Ok(BitMapBackend::new(path, size).into_drawing_area())
}

/// Moving average over a window of about 1 % of the run (at least 1 episode).
fn smooth(values: &[f64]) -> Vec<f64> {
    let window = (values.len() / 100).max(1);
    let mut out = Vec::with_capacity(values.len());
    let mut running = 0.0;
    for (i, v) in values.iter().enumerate() {
        running += v;
        if i >= window {
            running -= values[i - window];
        }
        out.push(running / (i + 1).min(window) as f64);
    }
    out
}

/// One panel per metric against the episode (or update: `x_label`), raw in grey and
/// smoothed in colour.
pub fn learning_curve(
    metrics: &[EpisodeMetrics],
    names: &[&str],
    x_label: &str,
    path: &Path,
) -> anyhow::Result<()> {
    ensure_font();
    let root = canvas(path, (900, 300 * names.len() as u32))?;
    root.fill(&WHITE).map_err(draw_error(path))?;
    let panels = root.split_evenly((names.len(), 1));
    for (panel, name) in panels.iter().zip(names) {
        let points: Vec<(f64, f64)> = metrics
            .iter()
            .filter_map(|m| m.get(name).map(|v| (m.episode as f64, v)))
            .filter(|(_, v)| v.is_finite())
            .collect();
        if points.is_empty() {
            continue;
        }
        let x_max = points.last().map(|p| p.0).unwrap_or(1.0).max(1.0);
        let y_max = points.iter().map(|p| p.1).fold(f64::MIN, f64::max);
        let y_min = points.iter().map(|p| p.1).fold(f64::MAX, f64::min).min(0.0);
        let mut chart = ChartBuilder::on(panel)
            .caption(*name, ("sans-serif", 20))
            .margin(10)
            .x_label_area_size(35)
            .y_label_area_size(60)
            .build_cartesian_2d(0.0..x_max, y_min..(y_max * 1.05).max(y_min + 1e-9))
            .map_err(draw_error(path))?;
        chart
            .configure_mesh()
            .x_desc(x_label)
            .draw()
            .map_err(draw_error(path))?;
        chart
            .draw_series(LineSeries::new(
                points.iter().copied(),
                RGBColor(200, 200, 200),
            ))
            .map_err(draw_error(path))?;
        let smoothed = smooth(&points.iter().map(|p| p.1).collect::<Vec<_>>());
        chart
            .draw_series(LineSeries::new(
                points.iter().zip(smoothed).map(|(p, s)| (p.0, s)),
                BLUE.stroke_width(2),
            ))
            .map_err(draw_error(path))?;
    }
    root.present().map_err(draw_error(path))
}

/// Largest side, in cells, drawn for a matrix; bigger ones are averaged down in blocks.
const MAX_CELLS: usize = 200;

/// Square matrices side by side, blue negative, red positive, each on its own symmetric scale.
pub fn heatmaps(matrices: &[(&str, &[f32], usize)], path: &Path) -> anyhow::Result<()> {
    ensure_font();
    let panel = 420u32;
    let root = canvas(path, (panel * matrices.len() as u32, panel + 40))?;
    root.fill(&WHITE).map_err(draw_error(path))?;
    let areas = root.split_evenly((1, matrices.len()));
    for (area, (title, values, side)) in areas.iter().zip(matrices) {
        let (cells, cell_side) = pool(values, *side);
        let limit = cells.iter().fold(0f32, |m, v| m.max(v.abs())).max(1e-12);
        let mut chart = ChartBuilder::on(area)
            .caption(format!("{title}  (±{limit:.3})"), ("sans-serif", 18))
            .margin(10)
            .build_cartesian_2d(0..cell_side, 0..cell_side)
            .map_err(draw_error(path))?;
        chart
            .draw_series((0..cell_side * cell_side).map(|k| {
                let (row, col) = (k / cell_side, k % cell_side);
                let v = cells[k] / limit;
                // Row 0 at the top, as a matrix is printed.
                let top = cell_side - row;
                Rectangle::new([(col, top), (col + 1, top - 1)], diverging(v).filled())
            }))
            .map_err(draw_error(path))?;
    }
    root.present().map_err(draw_error(path))
}

/// Functions on the square [−1, 1]², sampled on `side × side` points (row = y from −1 up,
/// column = x from −1 right), side by side on one symmetric colour scale, blue negative,
/// red positive.
pub fn fields(
    panels: &[(String, Vec<f32>)],
    side: usize,
    x_label: &str,
    y_label: &str,
    path: &Path,
) -> anyhow::Result<()> {
    ensure_font();
    let panel = 420u32;
    let root = canvas(path, (panel * panels.len() as u32, panel + 40))?;
    root.fill(&WHITE).map_err(draw_error(path))?;
    let limit = panels
        .iter()
        .flat_map(|(_, values)| values.iter())
        .fold(0f32, |m, v| m.max(v.abs()))
        .max(1e-12);
    let step = 2.0 / side as f64;
    for (area, (title, values)) in root.split_evenly((1, panels.len())).iter().zip(panels) {
        let mut chart = ChartBuilder::on(area)
            .caption(format!("{title}  (±{limit:.3})"), ("sans-serif", 16))
            .margin(10)
            .x_label_area_size(35)
            .y_label_area_size(45)
            .build_cartesian_2d(-1.0..1.0, -1.0..1.0)
            .map_err(draw_error(path))?;
        chart
            .configure_mesh()
            .disable_mesh()
            .x_desc(x_label)
            .y_desc(y_label)
            .draw()
            .map_err(draw_error(path))?;
        chart
            .draw_series((0..side * side).map(|k| {
                let (row, col) = (k / side, k % side);
                let (x, y) = (-1.0 + col as f64 * step, -1.0 + row as f64 * step);
                let colour = diverging(values[k] / limit);
                Rectangle::new([(x, y), (x + step, y + step)], colour.filled())
            }))
            .map_err(draw_error(path))?;
    }
    root.present().map_err(draw_error(path))
}

/// Averages `side × side` values down to at most [`MAX_CELLS`] per side.
fn pool(values: &[f32], side: usize) -> (Vec<f32>, usize) {
    let block = side.div_ceil(MAX_CELLS).max(1);
    let cells = side.div_ceil(block);
    let mut out = vec![0f32; cells * cells];
    let mut counts = vec![0u32; cells * cells];
    for i in 0..side {
        for j in 0..side {
            let k = (i / block) * cells + j / block;
            out[k] += values[i * side + j];
            counts[k] += 1;
        }
    }
    for (v, c) in out.iter_mut().zip(counts) {
        *v /= c.max(1) as f32;
    }
    (out, cells)
}

/// -1 → blue, 0 → white, +1 → red.
fn diverging(v: f32) -> RGBColor {
    let v = v.clamp(-1.0, 1.0);
    let fade = |x: f32| (255.0 * (1.0 - x)) as u8;
    if v >= 0.0 {
        RGBColor(255, fade(v), fade(v))
    } else {
        RGBColor(fade(-v), fade(-v), 255)
    }
}

/// One line of a panel: its label and (x, y) points.
pub struct Series {
    pub label: String,
    pub points: Vec<(f64, f64)>,
}

/// One panel of [`lines`] or [`log_log`]: title, y-axis label, lines.
pub type Panel<'a> = (&'a str, &'a str, Vec<Series>);

/// Panels side by side, each with log-log axes, points marked; only positive points count.
pub fn log_log(panels: &[Panel], x_label: &str, path: &Path) -> anyhow::Result<()> {
    draw_panels(panels, (560, 480), path, |area, panel| {
        let Some((xs, ys)) = extent(panel, true) else {
            return Ok(());
        };
        let log_range = |(low, high): (f64, f64)| ((low / 1.5)..(high * 1.5)).log_scale();
        let style = PanelStyle {
            x_label,
            markers: true,
            legend: SeriesLabelPosition::UpperLeft,
        };
        chart_panel(area, panel, log_range(xs), log_range(ys), true, style, path)
    })
}

/// Panels stacked vertically, each with linear axes and unmarked lines.
pub fn lines(panels: &[Panel], x_label: &str, path: &Path) -> anyhow::Result<()> {
    stacked_lines(panels, x_label, false, path)
}

/// [`lines`] with a logarithmic y axis (only positive values are drawn): for errors that fall
/// over decades.
pub fn lines_log_y(panels: &[Panel], x_label: &str, path: &Path) -> anyhow::Result<()> {
    stacked_lines(panels, x_label, true, path)
}

fn stacked_lines(panels: &[Panel], x_label: &str, log_y: bool, path: &Path) -> anyhow::Result<()> {
    draw_panels(panels, (900, 320), path, |area, panel| {
        let Some((xs, ys)) = extent(panel, log_y) else {
            return Ok(());
        };
        let padded = |(low, high): (f64, f64)| {
            let pad = ((high - low) * 0.05).max(1e-9);
            (low - pad)..(high + pad)
        };
        let style = PanelStyle {
            x_label,
            markers: false,
            legend: SeriesLabelPosition::UpperRight,
        };
        if log_y {
            let ys = ((ys.0 / 1.5)..(ys.1 * 1.5)).log_scale();
            chart_panel(area, panel, padded(xs), ys, true, style, path)
        } else {
            chart_panel(area, panel, padded(xs), padded(ys), false, style, path)
        }
    })
}

/// The smallest and largest x and y of a panel's finite points (positive ones only when
/// `positive`); `None` when it has none.
fn extent(panel: &Panel, positive: bool) -> Option<((f64, f64), (f64, f64))> {
    let points: Vec<(f64, f64)> = panel
        .2
        .iter()
        .flat_map(|s| s.points.iter().copied())
        .filter(|(x, y)| x.is_finite() && y.is_finite() && (!positive || (*x > 0.0 && *y > 0.0)))
        .collect();
    if points.is_empty() {
        return None;
    }
    let bounds = |values: &mut dyn Iterator<Item = f64>| {
        values.fold((f64::MAX, f64::MIN), |(lo, hi), v| (lo.min(v), hi.max(v)))
    };
    Some((
        bounds(&mut points.iter().map(|p| p.0)),
        bounds(&mut points.iter().map(|p| p.1)),
    ))
}

/// How a panel's lines are drawn.
struct PanelStyle<'a> {
    x_label: &'a str,
    markers: bool,
    legend: SeriesLabelPosition,
}

/// One panel on `area` over the given axis ranges: caption, mesh (y labels in scientific
/// notation when `scientific_y`), and every series with a legend.
fn chart_panel<X, Y>(
    area: &DrawingArea<BitMapBackend, plotters::coord::Shift>,
    (title, y_label, series): &Panel,
    x_range: X,
    y_range: Y,
    scientific_y: bool,
    style: PanelStyle,
    path: &Path,
) -> anyhow::Result<()>
where
    X: AsRangedCoord<Value = f64>,
    Y: AsRangedCoord<Value = f64>,
    X::CoordDescType: ValueFormatter<f64>,
    Y::CoordDescType: ValueFormatter<f64>,
{
    let mut chart = ChartBuilder::on(area)
        .caption(*title, ("sans-serif", 20))
        .margin(10)
        .x_label_area_size(40)
        .y_label_area_size(70)
        .build_cartesian_2d(x_range, y_range)
        .map_err(draw_error(path))?;
    let scientific = |v: &f64| format!("{v:.1e}");
    let mut mesh = chart.configure_mesh();
    mesh.x_desc(style.x_label).y_desc(*y_label);
    if scientific_y {
        mesh.y_label_formatter(&scientific);
    }
    mesh.draw().map_err(draw_error(path))?;
    draw_series(&mut chart, series, style.markers, style.legend, path)
}

/// One area per panel, side by side for log-log (wide `size`), stacked otherwise.
fn draw_panels<F>(
    panels: &[Panel],
    size: (u32, u32),
    path: &Path,
    mut draw: F,
) -> anyhow::Result<()>
where
    F: FnMut(&DrawingArea<BitMapBackend, plotters::coord::Shift>, &Panel) -> anyhow::Result<()>,
{
    ensure_font();
    let count = panels.len().max(1) as u32;
    let stacked = size.0 > size.1 * 2;
    let (width, height) = if stacked {
        (size.0, size.1 * count)
    } else {
        (size.0 * count, size.1)
    };
    let root = canvas(path, (width, height))?;
    root.fill(&WHITE).map_err(draw_error(path))?;
    let areas = if stacked {
        root.split_evenly((panels.len(), 1))
    } else {
        root.split_evenly((1, panels.len()))
    };
    for (area, panel) in areas.iter().zip(panels) {
        draw(area, panel)?;
    }
    root.present().map_err(draw_error(path))?;
    Ok(())
}

/// Every series of a panel in its own colour, with a legend.
fn draw_series<'a, X, Y>(
    chart: &mut ChartContext<'a, BitMapBackend<'a>, Cartesian2d<X, Y>>,
    series: &[Series],
    markers: bool,
    legend: SeriesLabelPosition,
    path: &Path,
) -> anyhow::Result<()>
where
    X: Ranged<ValueType = f64>,
    Y: Ranged<ValueType = f64>,
{
    for (index, s) in series.iter().enumerate() {
        let color = Palette99::pick(index).to_rgba();
        chart
            .draw_series(LineSeries::new(
                s.points.iter().copied(),
                color.stroke_width(2),
            ))
            .map_err(draw_error(path))?
            .label(s.label.clone())
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], color));
        if markers {
            chart
                .draw_series(s.points.iter().map(|&p| Circle::new(p, 3, color.filled())))
                .map_err(draw_error(path))?;
        }
    }
    chart
        .configure_series_labels()
        .position(legend)
        .background_style(WHITE.mix(0.8))
        .border_style(BLACK)
        .draw()
        .map_err(draw_error(path))?;
    Ok(())
}
