//! The rows of a TRQL `runs` export, CSV or JSON, as cells that remember where they are in the
//! file: the dashboard's CSV download, its JSON download (an array of row objects) and the
//! query API's responses (`{"format": "json", "results": [...]}` and `{"format": "csv",
//! "results": "<csv text>"}`).

use super::csv;
use crate::error::{Diagnostic, Severity};

/// One value of a row.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// An empty CSV field or a JSON `null`.
    Null,
    Text(String),
    Num(f64),
    Bool(bool),
}

#[derive(Debug, Clone, PartialEq)]
pub struct Cell {
    pub value: Value,
    pub line: u32,
    pub column: u32,
}

/// The rows of one file, each with one cell per column (a column a JSON row leaves out is
/// `Null` there, located at the row's start).
#[derive(Debug, Clone)]
pub struct Table {
    pub file: String,
    pub columns: Vec<String>,
    /// Where the header (CSV) or the first row (JSON) is: missing columns point there.
    pub header_at: (u32, u32),
    pub rows: Vec<Vec<Cell>>,
    /// The source lines, for the snippet under an error.
    pub lines: Vec<String>,
}

impl Table {
    pub fn column(&self, name: &str) -> Option<usize> {
        self.columns.iter().position(|c| c == name)
    }

    /// An error located at a cell (or at the header for a column: `cell` None).
    pub fn error(&self, at: (u32, u32), column: &str, message: String, help: Option<String>) -> Box<Diagnostic> {
        Box::new(Diagnostic {
            severity: Severity::Error,
            file: self.file.clone(),
            line: at.0,
            column: at.1,
            key: if column.is_empty() { String::new() } else { format!("column {column}") },
            message,
            help,
            source_line: self.lines.get(at.0.saturating_sub(1) as usize).map(|l| l.chars().take(200).collect()),
        })
    }
}

fn diag(file: &str, src: &str, line: u32, column: u32, message: String, help: Option<String>) -> Box<Diagnostic> {
    Box::new(Diagnostic {
        severity: Severity::Error,
        file: file.to_owned(),
        line,
        column,
        key: String::new(),
        message,
        help,
        source_line: src.lines().nth(line.saturating_sub(1) as usize).map(|l| l.chars().take(200).collect()),
    })
}

/// Reads a file's rows: JSON when its first non-blank character is `[` or `{`, else CSV.
pub fn read(file: &str, src: &str) -> Result<Table, Box<Diagnostic>> {
    let trimmed = src.trim_start_matches('\u{feff}').trim_start();
    if trimmed.is_empty() {
        return Err(diag(
            file,
            src,
            1,
            1,
            "the file is empty".into(),
            Some("export the query's results again (the dashboard's Query page: download as CSV or JSON)".into()),
        ));
    }
    if trimmed.starts_with('[') || trimmed.starts_with('{') { read_json(file, src) } else { read_csv(file, src, 0) }
}

/// CSV text; `line_offset`: lines before it in the file (a CSV inside a JSON string).
fn read_csv(file: &str, src: &str, line_offset: u32) -> Result<Table, Box<Diagnostic>> {
    let records = csv::parse(src).map_err(|e| diag(file, src, e.line + line_offset, e.column, e.message, None))?;
    let lines: Vec<String> = src.lines().map(str::to_owned).collect();
    let mut it = records.into_iter();
    let Some(header) = it.next() else {
        return Err(diag(file, src, 1, 1, "the file has no header line".into(), None));
    };
    let columns: Vec<String> = header.iter().map(|f| f.text.trim().to_owned()).collect();
    let mut rows = Vec::new();
    for rec in it {
        if rec.len() != columns.len() {
            let f = &rec[rec.len().min(columns.len()).saturating_sub(1)];
            return Err(diag(
                file,
                src,
                f.line + line_offset,
                f.column,
                format!("this row has {} fields, the header {}", rec.len(), columns.len()),
                Some("every row needs one value per column (empty between two commas when there is none)".into()),
            ));
        }
        rows.push(
            rec.into_iter()
                .map(|f| {
                    let value = if f.text.is_empty() && !f.quoted { Value::Null } else { Value::Text(f.text) };
                    Cell { value, line: f.line + line_offset, column: f.column }
                })
                .collect(),
        );
    }
    let h = header.first().map_or((1, 1), |f| (f.line + line_offset, f.column));
    Ok(Table { file: file.to_owned(), columns, header_at: h, rows, lines })
}

fn read_json(file: &str, src: &str) -> Result<Table, Box<Diagnostic>> {
    let doc: serde_json::Value = serde_json::from_str(src.trim_start_matches('\u{feff}'))
        .map_err(|e| diag(file, src, e.line() as u32, e.column() as u32, format!("not valid JSON: {e}"), None))?;
    let pos = Positions::new(src);
    let root = skip_ws(src.as_bytes(), 0);
    let (rows, at) = match &doc {
        serde_json::Value::Array(a) => (a, root),
        serde_json::Value::Object(o) => {
            let key = ["results", "rows", "data"].into_iter().find(|k| o.contains_key(*k));
            let Some(key) = key else {
                let (l, c) = pos.at(root);
                return Err(diag(
                    file,
                    src,
                    l,
                    c,
                    "a JSON export is an array of rows, or an object with `results`".into(),
                    Some("use the dashboard's JSON download, or the body of POST /api/v1/query".into()),
                ));
            };
            let at = object_members(src.as_bytes(), root).into_iter().find(|(k, _)| k == key).map_or(root, |m| m.1);
            match &o[key] {
                serde_json::Value::Array(a) => (a, at),
                serde_json::Value::String(csv_text) => {
                    // The API's CSV format: the CSV text is one JSON string. Its lines are
                    // reported as lines of that text, after the line the string starts on.
                    let (l, _) = pos.at(at);
                    let mut t = read_csv(file, csv_text, l - 1)?;
                    t.lines = src.lines().map(str::to_owned).collect();
                    return Ok(t);
                }
                _ => {
                    let (l, c) = pos.at(at);
                    return Err(diag(file, src, l, c, format!("`{key}` should be an array of rows"), None));
                }
            }
        }
        _ => return Err(diag(file, src, 1, 1, "a JSON export is an array of rows".into(), None)),
    };
    let starts = array_elements(src.as_bytes(), at);
    let mut columns: Vec<String> = Vec::new();
    let mut out = Vec::with_capacity(rows.len());
    let mut row_at: Vec<(u32, u32)> = Vec::with_capacity(rows.len());
    for (i, row) in rows.iter().enumerate() {
        let start = starts.get(i).copied().unwrap_or(at);
        let (rl, rc) = pos.at(start);
        let serde_json::Value::Object(obj) = row else {
            return Err(diag(file, src, rl, rc, format!("row {} is not an object", i + 1), None));
        };
        let members = object_members(src.as_bytes(), start);
        for k in obj.keys() {
            if !columns.contains(k) {
                columns.push(k.clone());
                for (r, &(line, column)) in out.iter_mut().zip(&row_at) {
                    let r: &mut Vec<Cell> = r;
                    r.push(Cell { value: Value::Null, line, column });
                }
            }
        }
        let cells = columns
            .iter()
            .map(|c| {
                let (line, column) = members.iter().find(|(k, _)| k == c).map_or((rl, rc), |m| pos.at(m.1));
                let value = match obj.get(c) {
                    None | Some(serde_json::Value::Null) => Value::Null,
                    Some(serde_json::Value::String(s)) => Value::Text(s.clone()),
                    Some(serde_json::Value::Number(n)) => n.as_f64().map_or(Value::Null, Value::Num),
                    Some(serde_json::Value::Bool(b)) => Value::Bool(*b),
                    Some(v) => Value::Text(v.to_string()),
                };
                Cell { value, line, column }
            })
            .collect();
        out.push(cells);
        row_at.push((rl, rc));
    }
    let header_at = starts.first().map_or((1, 1), |&s| pos.at(s));
    Ok(Table { file: file.to_owned(), columns, header_at, rows: out, lines: src.lines().map(str::to_owned).collect() })
}

/// Line and column (1-based, in characters) of byte offsets.
struct Positions {
    line_starts: Vec<usize>,
    src: String,
}

impl Positions {
    fn new(src: &str) -> Self {
        let mut line_starts = vec![0];
        line_starts.extend(src.bytes().enumerate().filter(|(_, b)| *b == b'\n').map(|(i, _)| i + 1));
        Positions { line_starts, src: src.to_owned() }
    }
    fn at(&self, off: usize) -> (u32, u32) {
        let l = self.line_starts.partition_point(|&s| s <= off).max(1);
        let start = self.line_starts[l - 1];
        let col = self.src.get(start..off).map_or(1, |s| s.chars().count() + 1);
        (l as u32, col as u32)
    }
}

fn skip_ws(b: &[u8], mut i: usize) -> usize {
    while let Some(&c) = b.get(i) {
        match c {
            // 0xEF: a UTF-8 byte order mark (EF BB BF) before the document.
            0xef => i += 3,
            c if c.is_ascii_whitespace() => i += 1,
            _ => break,
        }
    }
    i
}

/// The offset just past the JSON value starting at `i` (the document is already known to be
/// valid JSON, so this only has to find the end).
fn skip_value(b: &[u8], i: usize) -> usize {
    let mut i = skip_ws(b, i);
    let mut depth = 0usize;
    while i < b.len() {
        match b[i] {
            b'"' => {
                i += 1;
                while i < b.len() && b[i] != b'"' {
                    i += if b[i] == b'\\' { 2 } else { 1 };
                }
                i += 1;
                if depth == 0 {
                    return i;
                }
                continue;
            }
            b'[' | b'{' => depth += 1,
            b']' | b'}' => {
                if depth == 0 {
                    return i;
                }
                depth -= 1;
                if depth == 0 {
                    return i + 1;
                }
            }
            b',' | b':' if depth == 0 => return i,
            c if depth == 0 && (c as char).is_ascii_whitespace() => return i,
            _ => {}
        }
        i += 1;
    }
    i
}

/// Offsets of the elements of the array starting at `i`.
fn array_elements(b: &[u8], i: usize) -> Vec<usize> {
    let mut out = Vec::new();
    let mut i = skip_ws(b, i);
    if b.get(i) != Some(&b'[') {
        return out;
    }
    i = skip_ws(b, i + 1);
    while i < b.len() && b[i] != b']' {
        out.push(i);
        i = skip_ws(b, skip_value(b, i));
        if b.get(i) == Some(&b',') {
            i = skip_ws(b, i + 1);
        }
    }
    out
}

/// Keys and value offsets of the object starting at `i`.
fn object_members(b: &[u8], i: usize) -> Vec<(String, usize)> {
    let mut out = Vec::new();
    let mut i = skip_ws(b, i);
    if b.get(i) != Some(&b'{') {
        return out;
    }
    i = skip_ws(b, i + 1);
    while i < b.len() && b[i] == b'"' {
        let end = skip_value(b, i);
        let key: String = serde_json::from_slice(&b[i..end]).unwrap_or_default();
        i = skip_ws(b, end);
        if b.get(i) != Some(&b':') {
            break;
        }
        let v = skip_ws(b, i + 1);
        out.push((key, v));
        i = skip_ws(b, skip_value(b, v));
        if b.get(i) == Some(&b',') {
            i = skip_ws(b, i + 1);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_rows_are_located() {
        let src = "{\"format\":\"json\",\"results\":[\n {\"a\": 1, \"b\": \"x\"},\n {\"a\": 2,\n  \"b\": null, \"c\": true}\n]}\n";
        let t = read("f.json", src).unwrap();
        assert_eq!(t.columns, vec!["a", "b", "c"]);
        assert_eq!(t.rows.len(), 2);
        assert_eq!(t.rows[0][0], Cell { value: Value::Num(1.0), line: 2, column: 8 });
        assert_eq!(t.rows[1][1], Cell { value: Value::Null, line: 4, column: 8 });
        assert_eq!(t.rows[1][2].value, Value::Bool(true));
        // A column the first row leaves out is null there, at the row's start.
        assert_eq!((t.rows[0][2].line, t.rows[0][2].column), (2, 2));
    }

    #[test]
    fn the_apis_csv_format_and_a_bare_array() {
        let t = read("f.json", "{\"format\":\"csv\",\"results\":\"a,b\\n1,2\\n\"}").unwrap();
        assert_eq!(t.columns, vec!["a", "b"]);
        assert_eq!(t.rows[0][1].value, Value::Text("2".into()));
        let t = read("f.json", "[{\"a\": \"q\"}]").unwrap();
        assert_eq!(t.rows[0][0].value, Value::Text("q".into()));
    }

    #[test]
    fn bad_files_say_where() {
        let e = read("f.csv", "  \n").unwrap_err();
        assert!(e.message.contains("empty"), "{e}");
        let e = read("f.csv", "a,b\n1,2,3\n").unwrap_err();
        assert_eq!((e.line, e.column), (2, 3));
        let e = read("f.json", "[{\"a\": 1,}]").unwrap_err();
        assert_eq!(e.line, 1);
        assert!(e.message.contains("JSON"));
    }
}
