//! Every visual constant of the charts, in one place.

use plotters::style::{FontStyle, RGBColor};
use std::sync::Once;

/// Chart size in pixels (SVG and PNG alike).
pub const SIZE: (u32, u32) = (960, 540);
pub const WIDE: (u32, u32) = (1200, 540);
pub const FONT: &str = "sans-serif";
pub const TITLE_PT: u32 = 22;
pub const LABEL_PT: u32 = 15;
pub const SMALL_PT: u32 = 12;
pub const MARGIN: u32 = 16;
/// Space above a chart's title and between it and the chart, pixels.
pub const TITLE_TOP: u32 = 12;
pub const TITLE_BELOW: u32 = 6;
pub const X_LABEL_AREA: u32 = 48;
pub const Y_LABEL_AREA: u32 = 72;

pub const INK: RGBColor = RGBColor(33, 37, 41);
pub const GRID: RGBColor = RGBColor(222, 226, 230);
pub const PRIMARY: RGBColor = RGBColor(37, 99, 235);
pub const SECONDARY: RGBColor = RGBColor(220, 38, 38);
pub const OK: RGBColor = RGBColor(22, 163, 74);
pub const FAIL: RGBColor = RGBColor(220, 38, 38);
pub const OOM: RGBColor = RGBColor(147, 51, 234);
pub const TIMEOUT: RGBColor = RGBColor(234, 88, 12);
pub const WAIT_PAUSED: RGBColor = RGBColor(253, 230, 138);
pub const WAIT_BILLED: RGBColor = RGBColor(217, 119, 6);
/// Start latency: from a slot to the attempt running.
pub const QUEUED: RGBColor = RGBColor(203, 213, 225);
/// Waiting in a queue for a concurrency slot.
pub const SLOT_WAIT: RGBColor = RGBColor(167, 139, 250);
pub const MARKERS: [RGBColor; 3] = [RGBColor(15, 118, 110), RGBColor(180, 83, 9), RGBColor(190, 18, 60)];
/// Colours of the variants of a comparison, in order.
pub const SERIES: [RGBColor; 6] = [
    RGBColor(37, 99, 235),
    RGBColor(220, 38, 38),
    RGBColor(22, 163, 74),
    RGBColor(147, 51, 234),
    RGBColor(234, 88, 12),
    RGBColor(8, 145, 178),
];
/// Opacity of the outer and inner bands of fan charts.
pub const BAND_OUTER: f64 = 0.15;
pub const BAND_INNER: f64 = 0.30;

/// DejaVu Sans (free license, see assets/fonts/LICENSE-DejaVu), so PNG text renders the
/// same on every machine, with no system fonts.
static FONT_BYTES: &[u8] = include_bytes!("../../assets/fonts/DejaVuSans.ttf");

pub fn init_fonts() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        for style in [FontStyle::Normal, FontStyle::Bold] {
            let _ = plotters::style::register_font(FONT, style, FONT_BYTES);
        }
    });
}
