//! A table as data: a header, column alignments and rows of cells, drawn by each output
//! format (aligned text, Markdown, HTML, CSV), so every format shows the same table with the
//! same cells.

use std::fmt::Write;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Align {
    Left,
    Right,
}

#[derive(Debug, Clone, Default)]
pub struct Grid {
    pub header: Vec<String>,
    pub align: Vec<Align>,
    pub rows: Vec<Vec<String>>,
}

impl Grid {
    pub fn new(columns: &[(&str, Align)]) -> Grid {
        Grid {
            header: columns.iter().map(|(h, _)| (*h).to_owned()).collect(),
            align: columns.iter().map(|(_, a)| *a).collect(),
            rows: Vec::new(),
        }
    }

    pub fn push(&mut self, row: Vec<String>) {
        self.rows.push(row);
    }

    /// Columns padded to their widest cell, `gap` spaces apart; trailing spaces trimmed.
    pub fn text(&self, gap: usize) -> String {
        let all = || std::iter::once(&self.header).chain(&self.rows);
        let cols = all().map(Vec::len).max().unwrap_or(0);
        let width: Vec<usize> =
            (0..cols).map(|c| all().filter_map(|r| r.get(c)).map(|s| s.chars().count()).max().unwrap_or(0)).collect();
        let mut o = String::new();
        for r in all() {
            let mut line = String::new();
            for (c, cell) in r.iter().enumerate() {
                if c > 0 {
                    line.push_str(&" ".repeat(gap));
                }
                let pad = " ".repeat(width[c].saturating_sub(cell.chars().count()));
                if self.align.get(c) == Some(&Align::Right) {
                    line.push_str(&pad);
                    line.push_str(cell);
                } else {
                    line.push_str(cell);
                    line.push_str(&pad);
                }
            }
            o.push_str(line.trim_end());
            o.push('\n');
        }
        o
    }

    /// A GitHub-flavoured Markdown table (`|` in cells escaped).
    pub fn markdown(&self) -> String {
        let cell = |s: &str| s.replace('|', "\\|");
        let mut o = String::new();
        let _ = writeln!(o, "| {} |", self.header.iter().map(|h| cell(h)).collect::<Vec<_>>().join(" | "));
        let rule: Vec<&str> = self.align.iter().map(|a| if *a == Align::Right { "---:" } else { "---" }).collect();
        let _ = writeln!(o, "|{}|", rule.join("|"));
        for r in &self.rows {
            let _ = writeln!(o, "| {} |", r.iter().map(|c| cell(c)).collect::<Vec<_>>().join(" | "));
        }
        o
    }

    /// An HTML `<table>`, cells escaped; `class` per cell from `classify` (e.g. PASS/FAIL).
    pub fn html(&self, classify: &dyn Fn(usize, &str) -> Option<&'static str>) -> String {
        let mut o = String::from("<table><tr>");
        for h in &self.header {
            let _ = write!(o, "<th>{}</th>", escape(h));
        }
        o.push_str("</tr>\n");
        for r in &self.rows {
            o.push_str("<tr>");
            for (c, x) in r.iter().enumerate() {
                match classify(c, x) {
                    Some(cls) => {
                        let _ = write!(o, "<td class=\"{cls}\">{}</td>", escape(x));
                    }
                    None => {
                        let _ = write!(o, "<td>{}</td>", escape(x));
                    }
                }
            }
            o.push_str("</tr>\n");
        }
        o.push_str("</table>\n");
        o
    }

    /// RFC 4180 CSV: a header line, then one line per row; cells with a comma, a quote or a
    /// line break are quoted.
    pub fn csv(&self) -> String {
        let mut o = String::new();
        for r in std::iter::once(&self.header).chain(&self.rows) {
            let cells: Vec<String> = r.iter().map(|c| csv_cell(c)).collect();
            o.push_str(&cells.join(","));
            o.push('\n');
        }
        o
    }
}

pub fn csv_cell(c: &str) -> String {
    if c.contains([',', '"', '\n', '\r']) { format!("\"{}\"", c.replace('"', "\"\"")) } else { c.to_owned() }
}

/// A number for CSV: as Rust prints an `f64` (shortest text that reads back exactly); empty
/// when not finite.
pub fn num(v: f64) -> String {
    if v.is_finite() { format!("{v}") } else { String::new() }
}

/// Text for HTML: `&`, `<`, `>` and `"` as entities.
pub fn escape(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

#[cfg(test)]
mod tests {
    use super::*;
    #[test]
    fn each_format_draws_the_same_cells() {
        let mut g = Grid::new(&[("name", Align::Left), ("value", Align::Right)]);
        g.push(vec!["a|b".into(), "1".into()]);
        g.push(vec!["say \"hi\", then".into(), "22".into()]);
        assert_eq!(g.text(2), "name            value\na|b                 1\nsay \"hi\", then     22\n");
        assert_eq!(g.markdown(), "| name | value |\n|---|---:|\n| a\\|b | 1 |\n| say \"hi\", then | 22 |\n");
        assert_eq!(g.csv(), "name,value\na|b,1\n\"say \"\"hi\"\", then\",22\n");
        assert!(g.html(&|_, _| None).contains("<td>say &quot;hi&quot;, then</td>"));
    }
}
