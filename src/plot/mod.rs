//! Charts for design reviews, drawn with plotters: every chart is a [`Chart`] drawn once
//! onto an SVG and once onto a PNG. One file per chart; style constants in `style`.

pub mod backlog;
pub mod breakdown;
pub mod compare;
pub mod cost;
pub mod duration;
pub mod progress;
pub mod service_rates;
pub mod style;
pub mod sweep;
pub mod timeline;
pub mod tornado;

use plotters::coord::Shift;
use plotters::element::DashedPathElement;
use plotters::prelude::*;

#[derive(Debug, thiserror::Error)]
#[error("cannot draw chart `{chart}`: {message}")]
pub struct PlotError {
    pub chart: String,
    pub message: String,
}

pub type DrawResult = Result<(), String>;

/// Turns any plotters error into a message.
pub fn e<T: std::fmt::Display>(x: T) -> String {
    x.to_string()
}

/// A chart: its file name, title and drawing.
pub trait Chart {
    /// File name without extension, e.g. `duration`.
    fn stem(&self) -> &'static str;
    fn title(&self) -> String;
    fn size(&self) -> (u32, u32) {
        style::SIZE
    }
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> DrawResult;
}

/// A chart drawn as SVG text and as PNG bytes.
pub struct Rendered {
    pub stem: &'static str,
    pub title: String,
    pub svg: String,
    pub png: Vec<u8>,
    pub size: (u32, u32),
}

pub fn render<C: Chart>(c: &C) -> Result<Rendered, PlotError> {
    style::init_fonts();
    let size = c.size();
    let fail = |message: String| PlotError { chart: c.stem().to_owned(), message };
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, size).into_drawing_area();
        root.fill(&WHITE).map_err(|x| fail(e(x)))?;
        c.draw(&root).map_err(fail)?;
        root.present().map_err(|x| fail(e(x)))?;
    }
    let mut rgb = vec![0u8; (size.0 * size.1 * 3) as usize];
    {
        let root = BitMapBackend::with_buffer(&mut rgb, size).into_drawing_area();
        root.fill(&WHITE).map_err(|x| fail(e(x)))?;
        c.draw(&root).map_err(fail)?;
        root.present().map_err(|x| fail(e(x)))?;
    }
    let png = encode_png(&rgb, size).map_err(fail)?;
    Ok(Rendered { stem: c.stem(), title: c.title(), svg, png, size })
}

fn encode_png(rgb: &[u8], (w, h): (u32, u32)) -> Result<Vec<u8>, String> {
    use image::ImageEncoder;
    let mut out = Vec::new();
    image::codecs::png::PngEncoder::new(&mut out).write_image(rgb, w, h, image::ColorType::Rgb8).map_err(e)?;
    Ok(out)
}

/// Seconds or minutes, whichever reads better for values up to `max_s`.
#[derive(Clone, Copy)]
pub struct TimeUnit {
    pub div: f64,
    pub name: &'static str,
}

impl TimeUnit {
    pub fn for_max(max_s: f64) -> TimeUnit {
        if max_s > 2.0 * 3600.0 {
            TimeUnit { div: 3600.0, name: "h" }
        } else if max_s > 300.0 {
            TimeUnit { div: 60.0, name: "min" }
        } else {
            TimeUnit { div: 1.0, name: "s" }
        }
    }
}

/// Quantile of sorted data (type 7), 0 for none.
pub fn q(sorted: &[f64], p: f64) -> f64 {
    crate::stats::quantile_sorted(sorted, p).unwrap_or(0.0)
}

/// A vertical marker line with a label at its top.
pub fn vline<DB: DrawingBackend, X, Y>(
    chart: &mut ChartContext<'_, DB, Cartesian2d<X, Y>>,
    x: f64,
    y_top: f64,
    label: &str,
    color: RGBColor,
) -> DrawResult
where
    X: Ranged<ValueType = f64>,
    Y: Ranged<ValueType = f64>,
{
    chart
        .draw_series(std::iter::once(DashedPathElement::new(vec![(x, 0.0), (x, y_top)], 6, 4, color.stroke_width(2))))
        .map_err(e)?;
    chart
        .draw_series(std::iter::once(Text::new(
            label.to_owned(),
            (x, y_top),
            (style::FONT, style::SMALL_PT).into_font().color(&color),
        )))
        .map_err(e)?;
    Ok(())
}

/// The legend of a chart, in the house style, at `pos`.
pub fn legend<'a, DB: DrawingBackend + 'a, CT: plotters::coord::CoordTranslate>(
    chart: &mut ChartContext<'a, DB, CT>,
    pos: SeriesLabelPosition,
    pt: u32,
) -> DrawResult {
    chart
        .configure_series_labels()
        .position(pos)
        .margin(12)
        .label_font((style::FONT, pt))
        .background_style(WHITE.mix(0.9))
        .border_style(style::GRID)
        .draw()
        .map_err(e)
}
