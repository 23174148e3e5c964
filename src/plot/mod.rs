//! Charts for design reviews, drawn with plotters: every chart is a [`Chart`] drawn once
//! onto an SVG and once onto a PNG. One file per chart; style constants in `style`.

pub mod backlog;
pub mod breakdown;
pub mod cdf;
pub mod compare;
pub mod cost;
pub mod duration;
pub mod progress;
pub mod segments;
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

/// The area below a chart's title, the title drawn with a margin above it and below it.
pub fn titled<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    title: &str,
    pt: u32,
) -> Result<DrawingArea<DB, Shift>, String> {
    let area = root.margin(style::TITLE_TOP, 0, 0, 0);
    let area = area.titled(title, (style::FONT, pt).into_font().color(&style::INK)).map_err(e)?;
    Ok(area.margin(style::TITLE_BELOW, 0, 0, 0))
}

/// US dollars with `sig` significant digits and at least two decimals (`$0.0012`, `$0.00123`,
/// `$2.50`), `$0` for zero.
pub fn usd(x: f64, sig: u32) -> String {
    if x == 0.0 || !x.is_finite() {
        return "$0".into();
    }
    let mag = x.abs().log10().floor() as i32;
    let decimals = (sig as i32 - 1 - mag).clamp(2, 10) as usize;
    let mut s = format!("{:.*}", decimals, x.abs());
    // Trailing zeros past the cents carry no digit of the value.
    while s.ends_with('0') && s.len() - s.find('.').map_or(s.len(), |d| d + 1) > 2 {
        s.pop();
    }
    if x < 0.0 { format!("-${s}") } else { format!("${s}") }
}

/// The decimals the tick labels of an axis spanning `span` dollars need to tell its ticks
/// apart, at least two.
pub fn usd_tick_decimals(span: f64) -> usize {
    if span.is_nan() || span <= 0.0 || !span.is_finite() {
        return 2;
    }
    // Plotters puts about eight ticks on such an axis, on a 1, 2 or 5 step.
    let step = span / 8.0;
    (-(step.log10().floor()) as i32).clamp(2, 10) as usize
}

/// A tick label in dollars with `decimals` decimals.
pub fn usd_tick(x: f64, decimals: usize) -> String {
    if x.abs() < 0.5 * 10f64.powi(-(decimals as i32)) {
        return "$0".into();
    }
    if x < 0.0 { format!("-${:.*}", decimals, -x) } else { format!("${:.*}", decimals, x) }
}

/// The size of `text` in `font` on `area`, pixels (an estimate from its length if the font
/// cannot measure it).
pub fn text_size<DB: DrawingBackend>(area: &DrawingArea<DB, Shift>, text: &str, font: &FontDesc) -> (i32, i32) {
    let style: TextStyle = font.clone().into();
    area.estimate_text_size(text, &style).map_or((text.len() as i32 * 7, 14), |s| (s.0 as i32, s.1 as i32))
}

/// A box in pixels: left, top, right, bottom.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Rect {
    pub x0: i32,
    pub y0: i32,
    pub x1: i32,
    pub y1: i32,
}

impl Rect {
    pub fn new(x: i32, y: i32, w: i32, h: i32) -> Rect {
        Rect { x0: x, y0: y, x1: x + w, y1: y + h }
    }
    pub fn overlaps(&self, o: &Rect) -> bool {
        self.x0 < o.x1 && o.x0 < self.x1 && self.y0 < o.y1 && o.y0 < self.y1
    }
    pub fn inside(&self, b: &Rect) -> bool {
        self.x0 >= b.x0 && self.x1 <= b.x1 && self.y0 >= b.y0 && self.y1 <= b.y1
    }
}

/// Places a label of `size` (w, h) near `anchor`: the first of `offsets` (of the label's top
/// left corner from the anchor) where it lies inside `bounds` and overlaps nothing in
/// `taken`; the box found joins `taken`. None when no offset fits.
pub fn place(
    taken: &mut Vec<Rect>,
    anchor: (i32, i32),
    size: (i32, i32),
    offsets: &[(i32, i32)],
    bounds: &Rect,
) -> Option<Rect> {
    let found = offsets
        .iter()
        .map(|&(dx, dy)| Rect::new(anchor.0 + dx, anchor.1 + dy, size.0, size.1))
        .find(|b| b.inside(bounds) && !taken.iter().any(|t| t.overlaps(b)))?;
    taken.push(found);
    Some(found)
}

/// Offsets of a `w` x `h` label around a point, nearest first: right, left, above, below, then
/// rings further out in 16 directions (for a label joined to its point by a leader line).
pub fn around(w: i32, h: i32, gap: i32) -> Vec<(i32, i32)> {
    let mut out = vec![(gap, -h / 2), (-gap - w, -h / 2), (-w / 2, -gap - h), (-w / 2, gap)];
    for ring in 1..14 {
        let r = (gap + ring * 14) as f64;
        for k in 0..16 {
            let a = k as f64 * std::f64::consts::PI / 8.0;
            let (cx, cy) = (r * a.cos(), -r * a.sin());
            // The label's nearest corner or edge sits on the ring.
            let dx = if cx >= 0.0 { cx as i32 } else { cx as i32 - w };
            let dy = if cy.abs() < h as f64 {
                cy as i32 - h / 2
            } else if cy > 0.0 {
                cy as i32
            } else {
                cy as i32 - h
            };
            out.push((dx, dy));
        }
    }
    out
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

/// Where a distribution's axis ends: at its maximum, or (a long tail squeezing the body into
/// a few bins) at a high quantile, saying so.
#[derive(Debug, Clone, PartialEq)]
pub struct AxisEnd {
    /// The axis' end, in the values' unit.
    pub hi: f64,
    /// Name of the quantile it ends at ("p99.9"), None when it shows every value.
    pub at: Option<&'static str>,
    /// Values beyond the end.
    pub beyond: usize,
    /// The largest value.
    pub max: f64,
}

/// Bins of a histogram of `n` values: about the square root, 12 to 48.
pub fn bins_for(n: usize) -> usize {
    ((n as f64).sqrt().round() as usize).clamp(12, 48)
}

/// Share of `sorted` values in the fullest of `bins` equal bins over [lo, hi] (values past
/// `hi` are not counted).
pub fn fullest_bin(sorted: &[f64], lo: f64, hi: f64, bins: usize) -> f64 {
    if sorted.is_empty() || hi <= lo {
        return 1.0;
    }
    let w = (hi - lo) / bins as f64;
    let mut counts = vec![0usize; bins];
    for &x in sorted.iter().take_while(|&&x| x <= hi) {
        counts[(((x - lo) / w) as usize).min(bins - 1)] += 1;
    }
    *counts.iter().max().unwrap_or(&0) as f64 / sorted.len() as f64
}

/// The axis of a histogram of `sorted`: the whole range when its fullest bin holds at most a
/// quarter of the values and the last 0.1% of values take at most a quarter of the axis; else
/// the range to p99.9, or to p99 if the body still sits in few bins (never shorter: the p99
/// marker stays on the chart).
pub fn axis_end(sorted: &[f64], bins: usize) -> AxisEnd {
    let max = sorted.last().copied().unwrap_or(0.0);
    let lo = sorted.first().copied().unwrap_or(0.0);
    let whole = AxisEnd { hi: max, at: None, beyond: 0, max };
    if sorted.len() < 2 || max <= lo {
        return whole;
    }
    const BODY: f64 = 0.25;
    // The last 0.1% of values may take at most a quarter of the axis.
    let p999 = q(sorted, 0.999);
    if fullest_bin(sorted, lo, max, bins) <= BODY && max - p999 <= 0.25 * (max - lo) {
        return whole;
    }
    let mut best = whole;
    for (p, name) in [(0.999, "p99.9"), (0.99, "p99")] {
        let hi = q(sorted, p);
        if hi <= lo || hi >= max {
            continue;
        }
        let beyond = sorted.len() - sorted.partition_point(|&x| x <= hi);
        best = AxisEnd { hi, at: Some(name), beyond, max };
        if fullest_bin(sorted, lo, hi, bins) <= BODY {
            break;
        }
    }
    best
}

impl AxisEnd {
    /// The note a clipped axis carries, e.g. "axis ends at p99.9; 4 runs beyond, max 2.1h".
    pub fn note(&self, fmt: &dyn Fn(f64) -> String) -> Option<String> {
        let at = self.at?;
        let runs = if self.beyond == 1 { "run" } else { "runs" };
        Some(format!("axis ends at {at}; {} {runs} beyond, max {}", self.beyond, fmt(self.max)))
    }
}

/// Histogram counts of `sorted` in `bins` bins over [lo, hi]; values past `hi` are left out.
pub fn histogram(sorted: &[f64], lo: f64, hi: f64, bins: usize) -> Vec<usize> {
    let w = ((hi - lo) / bins as f64).max(f64::MIN_POSITIVE);
    let mut counts = vec![0usize; bins];
    for &x in sorted.iter().take_while(|&&x| x <= hi) {
        counts[(((x - lo) / w) as usize).min(bins - 1)] += 1;
    }
    counts
}

/// Marker labels set in a strip above a plot: each centred over its marker's x (pixels), in
/// the first of `rows` rows where it overlaps no other label, inside [x0, x1]. Returns each
/// label's box (None: no room in any row).
pub fn strip_labels(xs: &[i32], sizes: &[(i32, i32)], x0: i32, x1: i32, top: i32, rows: usize) -> Vec<Option<Rect>> {
    let mut taken = Vec::new();
    let bounds = Rect { x0, y0: top, x1, y1: top + sizes.iter().map(|s| s.1 + 2).max().unwrap_or(0) * rows as i32 };
    xs.iter()
        .zip(sizes)
        .map(|(&x, &(w, h))| {
            let shift = [0, -w / 2, w / 2];
            let mut offsets = Vec::new();
            for r in 0..rows as i32 {
                for s in shift {
                    // Centred, then slid along the row, kept inside the plot's width.
                    let left = (x - w / 2 + s).clamp(x0, (x1 - w).max(x0));
                    // The row nearest the plot first.
                    offsets.push((left - x, (rows as i32 - 1 - r) * (h + 2)));
                }
            }
            place(&mut taken, (x, top), (w, h), &offsets, &bounds)
        })
        .collect()
}

/// The plotting area under a one-row legend whose first entry lines up with the y axis.
pub fn under_legend<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    legend: &[(String, Swatch)],
) -> Result<DrawingArea<DB, Shift>, String> {
    let used = legend_row(root, legend, style::Y_LABEL_AREA as i32 + style::MARGIN as i32)?;
    Ok(root.margin(used as u32, 0, 0, 0))
}

/// A chart of two numeric axes on `area`, with the house margins and label areas.
pub fn xy_chart<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    x: std::ops::Range<f64>,
    y: std::ops::Range<f64>,
) -> Result<
    ChartContext<'_, DB, Cartesian2d<plotters::coord::types::RangedCoordf64, plotters::coord::types::RangedCoordf64>>,
    String,
> {
    ChartBuilder::on(area)
        .margin(style::MARGIN)
        .margin_top(6)
        .x_label_area_size(style::X_LABEL_AREA)
        .y_label_area_size(style::Y_LABEL_AREA)
        .build_cartesian_2d(x, y)
        .map_err(e)
}

/// A legend in one row (wrapping if it must) at the top of `area`: a swatch and a label per
/// entry. Returns the height used, pixels.
pub fn legend_row<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    entries: &[(String, Swatch)],
    x_start: i32,
) -> Result<i32, String> {
    let font = (style::FONT, style::SMALL_PT).into_font().color(&style::INK);
    let (w, _) = area.dim_in_pixel();
    let (mut x, mut y) = (x_start, 4);
    let row_h = style::SMALL_PT as i32 + 8;
    for (label, sw) in entries {
        let tw = area.estimate_text_size(label, &font).map_or(label.len() as i32 * 7, |s| s.0 as i32);
        if x + 22 + tw > w as i32 - 8 && x > x_start {
            x = x_start;
            y += row_h;
        }
        let cy = y + row_h / 2 - 2;
        match *sw {
            Swatch::Fill(c) => area.draw(&Rectangle::new([(x, cy - 5), (x + 16, cy + 5)], c.filled())).map_err(e)?,
            Swatch::Line(c) => {
                area.draw(&PathElement::new(vec![(x, cy), (x + 16, cy)], c.stroke_width(2))).map_err(e)?
            }
            Swatch::Dashed(c) => {
                area.draw(&DashedPathElement::new(vec![(x, cy), (x + 16, cy)], 4, 3, c.stroke_width(2))).map_err(e)?
            }
            Swatch::Dot(c) => area.draw(&Circle::new((x + 8, cy), 4, c.filled())).map_err(e)?,
            Swatch::Outline(c) => {
                area.draw(&Rectangle::new([(x, cy - 5), (x + 16, cy + 5)], c.stroke_width(2))).map_err(e)?
            }
            Swatch::Text => {}
        }
        let tx = if matches!(sw, Swatch::Text) { x } else { x + 22 };
        area.draw(&Text::new(label.clone(), (tx, cy - style::SMALL_PT as i32 / 2 - 1), font.clone())).map_err(e)?;
        x = tx + tw + 18;
    }
    Ok(y + row_h)
}

/// What a legend entry shows beside its label.
#[derive(Debug, Clone, Copy)]
pub enum Swatch {
    Fill(RGBAColor),
    Line(RGBAColor),
    Dashed(RGBAColor),
    Dot(RGBAColor),
    Outline(RGBAColor),
    /// No swatch: a note.
    Text,
}

/// Draws marker labels (text, colour, x in pixels of `area`) in the strip above a plot whose
/// top is at `top` (pixels of `area`), between x0 and x1; `rows` rows, nearest the plot last.
pub fn draw_strip<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    labels: &[(String, RGBColor, i32)],
    x0: i32,
    x1: i32,
    top: i32,
    rows: usize,
) -> DrawResult {
    let font = (style::FONT, style::SMALL_PT).into_font();
    let sizes: Vec<(i32, i32)> = labels.iter().map(|(t, _, _)| text_size(area, t, &font)).collect();
    let xs: Vec<i32> = labels.iter().map(|l| l.2).collect();
    for ((t, c, _), b) in labels.iter().zip(strip_labels(&xs, &sizes, x0, x1, top, rows)) {
        if let Some(b) = b {
            area.draw(&Text::new(t.clone(), (b.x0, b.y0), font.clone().color(c))).map_err(e)?;
        }
    }
    Ok(())
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn money_is_in_dollars_with_sensible_digits() {
        assert_eq!(usd(0.0012, 3), "$0.0012");
        assert_eq!(usd(0.001234, 3), "$0.00123");
        assert_eq!(usd(0.00272, 3), "$0.00272");
        assert_eq!(usd(2.5, 3), "$2.50");
        assert_eq!(usd(29.34, 3), "$29.34");
        assert_eq!(usd(0.0, 3), "$0");
        assert_eq!(usd_tick(0.001, usd_tick_decimals(0.01)), "$0.001");
        assert_eq!(usd_tick(0.005, usd_tick_decimals(0.021)), "$0.005");
        assert_eq!(usd_tick(0.08, usd_tick_decimals(0.084)), "$0.08");
        assert_eq!(usd_tick(3.6, usd_tick_decimals(1.0)), "$3.60");
        assert_eq!(usd_tick(0.0, 4), "$0");
        assert!(!usd(0.0012, 3).contains('¢'));
    }

    #[test]
    fn a_long_tail_ends_the_axis_at_a_quantile_and_says_so() {
        // 990 values spread over [0, 1) and 10 far out at 1000: over the whole range the body
        // sits in one bin; to p99 it spreads.
        let mut v: Vec<f64> = (0..990).map(|i| i as f64 / 990.0).collect();
        v.extend(std::iter::repeat_n(1000.0, 10));
        let a = axis_end(&v, 40);
        assert!(a.at.is_some(), "{a:?}");
        assert!(a.hi < 1000.0 && a.beyond > 0 && a.max == 1000.0, "{a:?}");
        assert!(fullest_bin(&v, 0.0, a.hi, 40) <= 0.25 || a.at == Some("p99"));
        let note = a.note(&|x| format!("{x}")).expect("a note");
        assert!(note.contains("runs beyond, max 1000"), "{note}");
        // Spread evenly: the whole range, no note.
        let u: Vec<f64> = (0..1000).map(|i| i as f64).collect();
        let a = axis_end(&u, 40);
        assert_eq!(a.at, None);
        assert_eq!(a.hi, 999.0);
        assert_eq!(a.note(&|x| format!("{x}")), None);
    }

    #[test]
    fn histogram_counts_every_value_up_to_the_end() {
        let v = [0.0, 0.5, 1.0, 1.5, 2.0, 10.0];
        let c = histogram(&v, 0.0, 2.0, 4);
        assert_eq!(c.iter().sum::<usize>(), 5);
        assert_eq!(c, vec![1, 1, 1, 2]);
    }

    #[test]
    fn strip_labels_never_overlap() {
        // Three markers a few pixels apart, labels 80 px wide: they go to other rows or slide.
        let xs = [300, 304, 310, 900];
        let sizes = [(80, 14); 4];
        let boxes = strip_labels(&xs, &sizes, 100, 920, 10, 3);
        let placed: Vec<Rect> = boxes.iter().flatten().copied().collect();
        assert_eq!(placed.len(), 4, "{boxes:?}");
        for (i, a) in placed.iter().enumerate() {
            assert!(a.x0 >= 100 && a.x1 <= 920, "{a:?}");
            for b in &placed[i + 1..] {
                assert!(!a.overlaps(b), "{a:?} and {b:?}");
            }
        }
    }

    #[test]
    fn place_avoids_taken_boxes_and_stays_inside() {
        let bounds = Rect { x0: 0, y0: 0, x1: 400, y1: 300 };
        let mut taken = vec![Rect::new(190, 140, 20, 20)];
        let mut placed = Vec::new();
        for _ in 0..12 {
            let b = place(&mut taken, (200, 150), (90, 14), &around(90, 14, 10), &bounds).expect("room");
            placed.push(b);
        }
        for (i, a) in taken.iter().enumerate() {
            assert!(a.inside(&bounds));
            for b in &taken[i + 1..] {
                assert!(!a.overlaps(b), "{a:?} and {b:?}");
            }
        }
        assert_eq!(placed.len(), 12);
    }
}
