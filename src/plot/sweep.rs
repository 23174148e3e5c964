//! Sweep charts: mean cost against p95 duration per variant with the Pareto front, and for
//! `--set` sweeps the outcome against the swept value.

use super::style::*;
use super::{Chart, DrawResult, TimeUnit, e};
use crate::sweep::{Row, Sweep, short_path, variant_label};
use plotters::coord::Shift;
use plotters::coord::types::RangedCoordf64;
use plotters::prelude::*;

/// Draws a legend's marker centred at (x, y) of an area.
type Marker<DB> = dyn Fn(i32, i32, &DrawingArea<DB, Shift>) -> DrawResult;

/// Width of the legend panel beside the cost-duration chart, pixels.
const LEGEND_W: u32 = 260;
/// Variants drawn at most this many pixels apart share one label block.
const CLUSTER_PX: i32 = 10;

/// Groups points (pixels) lying within `d` of a point of the same group (single linkage),
/// each group in order of its first member.
pub fn clusters(px: &[(i32, i32)], d: i32) -> Vec<Vec<usize>> {
    let mut group: Vec<usize> = (0..px.len()).collect();
    fn root(g: &mut [usize], mut i: usize) -> usize {
        while g[i] != i {
            g[i] = g[g[i]];
            i = g[i];
        }
        i
    }
    for i in 0..px.len() {
        for j in 0..i {
            if (px[i].0 - px[j].0).abs() <= d && (px[i].1 - px[j].1).abs() <= d {
                let (a, b) = (root(&mut group, i), root(&mut group, j));
                group[a.max(b)] = a.min(b);
            }
        }
    }
    let mut out: Vec<Vec<usize>> = Vec::new();
    let mut index: Vec<Option<usize>> = vec![None; px.len()];
    for i in 0..px.len() {
        let r = root(&mut group, i);
        match index[r] {
            Some(k) => out[k].push(i),
            None => {
                index[r] = Some(out.len());
                out.push(vec![i]);
            }
        }
    }
    out
}

/// US dollars per 1,000 runs: the numbers are small per run.
fn per_1000(r: &Row) -> f64 {
    r.cost_usd.per_1000_runs
}

/// A padded axis range around the values, at least a tenth of the largest value wide, so
/// that differences of a fraction of a percent do not fill the chart.
fn range(vals: impl Iterator<Item = f64>, pad_lo: f64, pad_hi: f64) -> (f64, f64) {
    let (lo, hi) = vals.fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), x| (a.min(x), b.max(x)));
    if !lo.is_finite() {
        return (0.0, 1.0);
    }
    let span = (hi - lo).max(hi.abs() * 0.1).max(1e-9);
    let extra = span - (hi - lo);
    ((lo - extra / 2.0 - span * pad_lo).max(0.0), hi + extra / 2.0 + span * pad_hi)
}

/// The picks naming a row, e.g. `cost, balanced`.
fn picks(sw: &Sweep, i: usize) -> Vec<&'static str> {
    let r = &sw.recommended;
    [("cost", &r.cost), ("speed", &r.speed), ("balanced", &r.balanced)]
        .iter()
        .filter(|(_, p)| p.as_ref().is_some_and(|p| p.row == i))
        .map(|(n, _)| *n)
        .collect()
}

/// Mean cost against p95 duration, one point per variant.
pub struct SweepChart<'a> {
    pub sweep: &'a Sweep,
}

impl Chart for SweepChart<'_> {
    fn stem(&self) -> &'static str {
        "sweep"
    }
    fn title(&self) -> String {
        match &self.sweep.task {
            Some(t) => format!("Cost against p95 duration: {t} in {}", self.sweep.scenario),
            None => format!("Cost against p95 duration: {}", self.sweep.scenario),
        }
    }
    fn size(&self) -> (u32, u32) {
        WIDE
    }
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> DrawResult {
        let root = super::titled(root, &self.title(), TITLE_PT)?;
        let (w, _) = root.dim_in_pixel();
        let (area, legend) = root.split_horizontally(w.saturating_sub(LEGEND_W));
        let rows = &self.sweep.rows;
        let tmax = rows.iter().map(|r| r.duration_s.p95).fold(0.0, f64::max).max(1e-6);
        let u = TimeUnit::for_max(tmax);
        let (x0, x1) = range(rows.iter().map(|r| r.duration_s.p95 / u.div), 0.1, 0.35);
        let (y0, y1) = range(rows.iter().map(per_1000), 0.12, 0.15);
        let mut chart = ChartBuilder::on(&area)
            .margin(MARGIN)
            .x_label_area_size(X_LABEL_AREA)
            .y_label_area_size(Y_LABEL_AREA)
            .build_cartesian_2d(x0..x1, y0..y1)
            .map_err(e)?;
        chart
            .configure_mesh()
            .light_line_style(GRID)
            .y_label_formatter(&|v| super::usd_tick(*v, super::usd_tick_decimals(y1 - y0)))
            .x_desc(format!("p95 duration of a workflow run ({})", u.name))
            .y_desc("mean cost (US$ per 1,000 runs)")
            .label_style((FONT, LABEL_PT))
            .draw()
            .map_err(e)?;
        let xy = |r: &Row| (r.duration_s.p95 / u.div, per_1000(r));
        let mut front: Vec<(f64, f64)> = rows.iter().filter(|r| r.pareto).map(xy).collect();
        front.sort_by(|a, b| a.0.total_cmp(&b.0).then(b.1.total_cmp(&a.1)));
        chart.draw_series(LineSeries::new(front, OK.stroke_width(2))).map_err(e)?;
        chart
            .draw_series(
                rows.iter().filter(|r| r.feasible && !r.pareto).map(|r| Circle::new(xy(r), 6, PRIMARY.filled())),
            )
            .map_err(e)?;
        chart.draw_series(rows.iter().filter(|r| r.pareto).map(|r| Circle::new(xy(r), 7, OK.filled()))).map_err(e)?;
        chart
            .draw_series(rows.iter().filter(|r| !r.feasible).map(|r| Cross::new(xy(r), 7, FAIL.stroke_width(3))))
            .map_err(e)?;
        chart
            .draw_series(rows.iter().filter(|r| r.oom_rate > 0.0).map(|r| Circle::new(xy(r), 11, OOM.stroke_width(2))))
            .map_err(e)?;
        // Labels: variants drawn within a few pixels of each other share one block of lines
        // (each with its values, so they can be told apart); each block goes to the nearest
        // place around its points that overlaps no point and no other block, joined to them by
        // a leader line when it had to move away.
        let px: Vec<(i32, i32)> = rows.iter().map(|r| chart.backend_coord(&xy(r))).collect();
        let clusters = clusters(&px, CLUSTER_PX);
        let font = (FONT, SMALL_PT).into_font();
        let line_h = SMALL_PT as i32 + 4;
        let (xr, yr) = chart.plotting_area().get_pixel_range();
        let bounds = super::Rect { x0: xr.start, y0: yr.start, x1: xr.end, y1: yr.end };
        let mut taken: Vec<super::Rect> = px.iter().map(|&(x, y)| super::Rect::new(x - 12, y - 12, 24, 24)).collect();
        let (bx, by) = area.get_base_pixel();
        for members in &clusters {
            let lines: Vec<(String, RGBColor)> = members
                .iter()
                .map(|&i| {
                    let r = &rows[i];
                    let mut label = variant_label(self.sweep, r);
                    if r.oom_rate > 0.0 {
                        label.push_str(&format!(" (OOM {:.0}%)", r.oom_rate * 100.0));
                    }
                    let p = picks(self.sweep, i);
                    if !p.is_empty() {
                        label.push_str(&format!(" [{}]", p.join(", ")));
                    }
                    if members.len() > 1 {
                        let (x, y) = xy(r);
                        label.push_str(&format!(": {x:.3}{}, {}", u.name, super::usd(y, 3)));
                    }
                    let color = if !r.feasible {
                        FAIL
                    } else if r.oom_rate > 0.0 {
                        OOM
                    } else {
                        INK
                    };
                    (label, color)
                })
                .collect();
            let w = lines.iter().map(|(l, _)| super::text_size(&area, l, &font).0).max().unwrap_or(0);
            let h = line_h * lines.len() as i32;
            let n = members.len() as i32;
            let cx = members.iter().map(|&i| px[i].0).sum::<i32>() / n;
            let cy = members.iter().map(|&i| px[i].1).sum::<i32>() / n;
            let offsets = super::around(w, h, 14);
            let placed = super::place(&mut taken, (cx, cy), (w, h), &offsets, &bounds);
            let b = placed.unwrap_or(super::Rect::new(cx + 14, cy - h / 2, w, h));
            let near = |v: i32, lo: i32, hi: i32| v.clamp(lo, hi);
            let (lx, ly) = (near(cx, b.x0, b.x1), near(cy, b.y0, b.y1));
            if (lx - cx).abs() + (ly - cy).abs() > 24 {
                area.draw(&PathElement::new(
                    vec![(cx - bx, cy - by), (lx - bx, ly - by)],
                    INK.mix(0.6).stroke_width(1),
                ))
                .map_err(e)?;
            }
            for (k, (l, color)) in lines.iter().enumerate() {
                area.draw(&Text::new(l.clone(), (b.x0 - bx, b.y0 - by + k as i32 * line_h), font.clone().color(color)))
                    .map_err(e)?;
            }
        }

        // The legend beside the chart, listing only what is drawn.
        let lf = (FONT, LABEL_PT).into_font();
        let mut y = 60;
        let mut entry = |shape: &Marker<DB>, text: &str| -> DrawResult {
            shape(16, y, &legend)?;
            legend.draw(&Text::new(text.to_owned(), (34, y - 8), lf.clone().color(&INK))).map_err(e)?;
            y += 28;
            Ok(())
        };
        if rows.iter().any(|r| r.pareto) {
            entry(
                &|x, y, a| {
                    a.draw(&PathElement::new(vec![(x - 10, y), (x + 10, y)], OK.stroke_width(2))).map_err(e)?;
                    a.draw(&Circle::new((x, y), 6, OK.filled())).map_err(e)
                },
                "Pareto front",
            )?;
        }
        if rows.iter().any(|r| r.feasible && !r.pareto) {
            entry(&|x, y, a| a.draw(&Circle::new((x, y), 6, PRIMARY.filled())).map_err(e), "feasible, dominated")?;
        }
        if rows.iter().any(|r| !r.feasible) {
            entry(
                &|x, y, a| a.draw(&Cross::new((x, y), 6, FAIL.stroke_width(3))).map_err(e),
                "infeasible (SLO, success)",
            )?;
        }
        if rows.iter().any(|r| r.oom_rate > 0.0) {
            entry(&|x, y, a| a.draw(&Circle::new((x, y), 9, OOM.stroke_width(2))).map_err(e), "ran out of memory")?;
        }
        let b = self.sweep.balance;
        let notes = [
            "feasible: every SLO passes and".to_owned(),
            "the success rate is within".to_owned(),
            format!("{} standard errors of the best", crate::sweep::SUCCESS_SE),
            String::new(),
            format!("balanced: {b:.2} x cost/cheapest"),
            format!("  + {:.2} x p95/fastest", 1.0 - b),
        ];
        let sf = (FONT, SMALL_PT).into_font();
        for n in notes {
            legend.draw(&Text::new(n, (8, y), sf.clone().color(&INK))).map_err(e)?;
            y += 18;
        }
        Ok(())
    }
}

/// For `--set` sweeps: p50 and p95 duration (left) and mean cost (right) against the first
/// `--set` path that takes more than one value, one line per machine and other values.
pub struct ValuesChart<'a> {
    pub sweep: &'a Sweep,
}

struct Series {
    name: String,
    /// (x, row index)
    points: Vec<(f64, usize)>,
}

impl ValuesChart<'_> {
    /// Whether the sweep has a `--set` path with several values to draw against.
    pub fn applies(sweep: &Sweep) -> bool {
        ValuesChart { sweep }.axis().is_some()
    }
    /// Index of the `--set` path on the x axis.
    fn axis(&self) -> Option<usize> {
        let rows = &self.sweep.rows;
        let n = rows.first().map_or(0, |r| r.set.0.len());
        (0..n).find(|&k| rows.iter().any(|r| r.set.0.get(k) != rows[0].set.0.get(k)))
    }
    fn path(&self) -> Option<&str> {
        let k = self.axis()?;
        self.sweep.rows.first().and_then(|r| r.set.0.get(k)).map(|(p, _)| p.as_str())
    }
    /// The x values in order of first appearance, numeric when all of them are numbers.
    fn xs(&self, k: usize) -> (Vec<String>, bool) {
        let mut vals: Vec<String> = Vec::new();
        for r in &self.sweep.rows {
            if let Some((_, v)) = r.set.0.get(k)
                && !vals.contains(v)
            {
                vals.push(v.clone());
            }
        }
        let numeric = vals.iter().all(|v| v.parse::<f64>().is_ok_and(f64::is_finite));
        (vals, numeric)
    }
    fn series(&self, k: usize, vals: &[String], numeric: bool) -> Vec<Series> {
        let rows = &self.sweep.rows;
        let varies = |j: usize| rows.iter().any(|o| o.set.0.get(j) != rows[0].set.0.get(j));
        let machines_vary = rows.iter().any(|o| o.machine != rows[0].machine);
        let mut out: Vec<Series> = Vec::new();
        for (i, r) in rows.iter().enumerate() {
            let Some((_, v)) = r.set.0.get(k) else { continue };
            let x = if numeric {
                v.parse::<f64>().unwrap_or(0.0)
            } else {
                vals.iter().position(|w| w == v).unwrap_or(0) as f64
            };
            let mut parts: Vec<String> = r.machine.iter().filter(|_| machines_vary).map(|m| m.to_string()).collect();
            parts.extend(
                r.set
                    .0
                    .iter()
                    .enumerate()
                    .filter(|(j, _)| *j != k && varies(*j))
                    .map(|(_, (p, v))| format!("{}={v}", short_path(p))),
            );
            let name = parts.join(" ");
            match out.iter_mut().find(|s| s.name == name) {
                Some(s) => s.points.push((x, i)),
                None => out.push(Series { name, points: vec![(x, i)] }),
            }
        }
        for s in &mut out {
            s.points.sort_by(|a, b| a.0.total_cmp(&b.0));
        }
        out
    }
}

impl Chart for ValuesChart<'_> {
    fn stem(&self) -> &'static str {
        "sweep-values"
    }
    fn size(&self) -> (u32, u32) {
        WIDE
    }
    fn title(&self) -> String {
        format!("{}: duration and cost against {}", self.sweep.scenario, self.path().map_or("the value", short_path))
    }
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> DrawResult {
        let root = super::titled(root, &self.title(), TITLE_PT)?;
        let k = self.axis().ok_or("no --set path takes more than one value")?;
        let (vals, numeric) = self.xs(k);
        let series = self.series(k, &vals, numeric);
        let rows = &self.sweep.rows;
        let mut legend: Vec<(String, super::Swatch)> = series
            .iter()
            .enumerate()
            .filter(|(_, s)| !s.name.is_empty())
            .map(|(i, s)| (s.name.clone(), super::Swatch::Line(SERIES[i % SERIES.len()].to_rgba())))
            .collect();
        legend.push(("p95 solid, p50 dashed".into(), super::Swatch::Dashed(INK.to_rgba())));
        if rows.iter().any(|r| !r.feasible) {
            legend.push(("infeasible variant (red cross)".into(), super::Swatch::Dot(FAIL.to_rgba())));
        }
        let used = super::legend_row(&root, &legend, Y_LABEL_AREA as i32 + MARGIN as i32)?;
        let root = root.margin(used as u32, 0, 0, 0);
        let (left, right) = root.split_horizontally(WIDE.0 / 2);
        let (x0, x1) = if numeric {
            let (lo, hi) = range(vals.iter().filter_map(|v| v.parse::<f64>().ok()), 0.0, 0.0);
            let pad = ((hi - lo) * 0.06).max(0.5);
            (lo - pad, hi + pad)
        } else {
            (-0.5, vals.len() as f64 - 0.5)
        };
        let path = self.path().unwrap_or("value").to_owned();
        let x_desc = short_path(&path).to_owned();
        let fmt_x = |x: &f64| -> String {
            if numeric {
                let r = x.round();
                if (x - r).abs() < 1e-9 { format!("{r}") } else { format!("{x:.2}") }
            } else {
                let i = x.round();
                if (x - i).abs() < 1e-6 && i >= 0.0 {
                    vals.get(i as usize).cloned().unwrap_or_default()
                } else {
                    String::new()
                }
            }
        };
        let n_labels = if numeric { 10 } else { vals.len().max(1) };

        let tmax = rows.iter().map(|r| r.duration_s.p95).fold(0.0, f64::max).max(1e-6);
        let u = TimeUnit::for_max(tmax);
        let mut dc = ChartBuilder::on(&left)
            .margin(MARGIN)
            .x_label_area_size(X_LABEL_AREA)
            .y_label_area_size(Y_LABEL_AREA)
            .build_cartesian_2d(x0..x1, 0f64..tmax / u.div * 1.1)
            .map_err(e)?;
        dc.configure_mesh()
            .light_line_style(GRID)
            .x_labels(n_labels)
            .x_label_formatter(&fmt_x)
            .x_desc(x_desc.clone())
            .y_desc(format!("duration ({}): p95 solid, p50 dashed", u.name))
            .label_style((FONT, LABEL_PT))
            .draw()
            .map_err(e)?;
        let (c0, c1) = range(rows.iter().map(per_1000), 0.2, 0.2);
        let mut cc = ChartBuilder::on(&right)
            .margin(MARGIN)
            .x_label_area_size(X_LABEL_AREA)
            .y_label_area_size(Y_LABEL_AREA)
            .build_cartesian_2d(x0..x1, c0..c1)
            .map_err(e)?;
        cc.configure_mesh()
            .light_line_style(GRID)
            .x_labels(n_labels)
            .x_label_formatter(&fmt_x)
            .y_label_formatter(&|v| super::usd_tick(*v, super::usd_tick_decimals(c1 - c0)))
            .x_desc(x_desc)
            .y_desc("mean cost (US$ per 1,000 runs)")
            .label_style((FONT, LABEL_PT))
            .draw()
            .map_err(e)?;
        for (k, s) in series.iter().enumerate() {
            let color = SERIES[k % SERIES.len()];
            let p95: Vec<(f64, f64)> = s.points.iter().map(|&(x, i)| (x, rows[i].duration_s.p95 / u.div)).collect();
            let p50: Vec<(f64, f64)> = s.points.iter().map(|&(x, i)| (x, rows[i].duration_s.p50 / u.div)).collect();
            let cost: Vec<(f64, f64)> = s.points.iter().map(|&(x, i)| (x, per_1000(&rows[i]))).collect();
            dc.draw_series(LineSeries::new(p95.clone(), color.stroke_width(3))).map_err(e)?;
            dc.draw_series(std::iter::once(plotters::element::DashedPathElement::new(
                p50.clone(),
                6,
                4,
                color.stroke_width(2),
            )))
            .map_err(e)?;
            cc.draw_series(LineSeries::new(cost.clone(), color.stroke_width(3))).map_err(e)?;
            let idx: Vec<usize> = s.points.iter().map(|&(_, i)| i).collect();
            markers(&mut dc, &p95, &idx, rows, color)?;
            markers(&mut dc, &p50, &idx, rows, color)?;
            markers(&mut cc, &cost, &idx, rows, color)?;
        }
        Ok(())
    }
}

/// A filled dot for each feasible variant, a red cross for each infeasible one.
fn markers<DB: DrawingBackend>(
    chart: &mut ChartContext<'_, DB, Cartesian2d<RangedCoordf64, RangedCoordf64>>,
    pts: &[(f64, f64)],
    idx: &[usize],
    rows: &[Row],
    color: RGBColor,
) -> DrawResult {
    let both = || pts.iter().zip(idx).map(|(&p, &i)| (p, rows[i].feasible));
    chart.draw_series(both().filter(|x| x.1).map(|(p, _)| Circle::new(p, 5, color.filled()))).map_err(e)?;
    chart.draw_series(both().filter(|x| !x.1).map(|(p, _)| Cross::new(p, 7, FAIL.stroke_width(3)))).map_err(e)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::clusters;

    #[test]
    fn points_a_few_pixels_apart_share_a_cluster() {
        let px = [(100, 100), (104, 103), (300, 300), (109, 108), (500, 100)];
        assert_eq!(clusters(&px, 10), vec![vec![0, 1, 3], vec![2], vec![4]]);
        assert_eq!(clusters(&px, 0), vec![vec![0], vec![1], vec![2], vec![3], vec![4]]);
    }
}
