//! A CSV reader (RFC 4180: quoted fields, doubled quotes, line breaks inside quotes, CRLF or LF)
//! that keeps where each field starts, so a bad value can be reported at its line and column.

/// One field: its text (quotes removed) and where it starts (1-based line and column).
#[derive(Debug, Clone, PartialEq)]
pub struct Field {
    pub text: String,
    pub line: u32,
    pub column: u32,
    /// Written in quotes (an empty quoted field is an empty string, not a missing value).
    pub quoted: bool,
}

/// A malformed record: where, and what.
#[derive(Debug, Clone, PartialEq)]
pub struct CsvError {
    pub line: u32,
    pub column: u32,
    pub message: String,
}

/// The records of `src`, each a list of fields. Blank lines are skipped.
pub fn parse(src: &str) -> Result<Vec<Vec<Field>>, CsvError> {
    let src = src.strip_prefix('\u{feff}').unwrap_or(src);
    let mut records = Vec::new();
    let mut record: Vec<Field> = Vec::new();
    let (mut line, mut column) = (1u32, 1u32);
    let mut chars = src.chars().peekable();
    // At the start of a field: read it, then expect a separator, a line end or the end.
    loop {
        let (fl, fc) = (line, column);
        let mut text = String::new();
        let mut quoted = false;
        if chars.peek() == Some(&'"') {
            quoted = true;
            chars.next();
            column += 1;
            loop {
                match chars.next() {
                    None => {
                        return Err(CsvError {
                            line: fl,
                            column: fc,
                            message: "a quoted field is not closed before the end of the file".into(),
                        });
                    }
                    Some('"') => {
                        column += 1;
                        if chars.peek() == Some(&'"') {
                            chars.next();
                            column += 1;
                            text.push('"');
                        } else {
                            break;
                        }
                    }
                    Some('\n') => {
                        line += 1;
                        column = 1;
                        text.push('\n');
                    }
                    Some(c) => {
                        column += 1;
                        text.push(c);
                    }
                }
            }
            match chars.peek() {
                None | Some(',') | Some('\n') | Some('\r') => {}
                Some(_) => {
                    return Err(CsvError {
                        line,
                        column,
                        message: "text after a closing quote: a quote inside a quoted field must be doubled (\"\")"
                            .into(),
                    });
                }
            }
        } else {
            while let Some(&c) = chars.peek() {
                if c == ',' || c == '\n' || c == '\r' {
                    break;
                }
                chars.next();
                column += 1;
                text.push(c);
            }
        }
        record.push(Field { text, line: fl, column: fc, quoted });
        match chars.next() {
            Some(',') => column += 1,
            Some('\r') => {
                if chars.peek() == Some(&'\n') {
                    chars.next();
                }
                end_record(&mut records, &mut record);
                line += 1;
                column = 1;
            }
            Some('\n') => {
                end_record(&mut records, &mut record);
                line += 1;
                column = 1;
            }
            None => {
                end_record(&mut records, &mut record);
                return Ok(records);
            }
            Some(_) => unreachable!("a field stops only at a separator, a line end or the end"),
        }
        if chars.peek().is_none() {
            return Ok(records);
        }
    }
}

fn end_record(records: &mut Vec<Vec<Field>>, record: &mut Vec<Field>) {
    let blank = record.len() == 1 && record[0].text.is_empty() && !record[0].quoted;
    let r = std::mem::take(record);
    if !blank {
        records.push(r);
    }
}

/// `s` as a CSV field: quoted when it holds a separator, a quote or a line break.
pub fn escape(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) { format!("\"{}\"", s.replace('"', "\"\"")) } else { s.to_owned() }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts(src: &str) -> Vec<Vec<String>> {
        parse(src).unwrap().into_iter().map(|r| r.into_iter().map(|f| f.text).collect()).collect()
    }

    #[test]
    fn fields_quotes_and_positions() {
        assert_eq!(texts("a,b\n1,2\n"), vec![vec!["a", "b"], vec!["1", "2"]]);
        assert_eq!(texts("a,b\r\n\"x,\"\"y\"\"\",\r\n"), vec![vec!["a", "b"], vec!["x,\"y\"", ""]]);
        assert_eq!(texts("a\n\"two\nlines\"\nz"), vec![vec!["a"], vec!["two\nlines"], vec!["z"]]);
        let r = parse("a,b\n\"q\nq\",zz\n").unwrap();
        assert_eq!((r[1][1].line, r[1][1].column), (3, 4));
        assert_eq!((r[1][0].line, r[1][0].column), (2, 1));
        assert_eq!(texts("a\n\n\nb\n"), vec![vec!["a"], vec!["b"]]);
    }

    #[test]
    fn malformed_records_are_located() {
        let e = parse("a,b\n\"open,1\n").unwrap_err();
        assert_eq!((e.line, e.column), (2, 1));
        let e = parse("a,b\n\"x\"y,1\n").unwrap_err();
        assert_eq!((e.line, e.column), (2, 4));
    }

    #[test]
    fn escape_round_trips() {
        for s in ["plain", "a,b", "say \"hi\"", "two\nlines"] {
            assert_eq!(texts(&format!("{}\n", escape(s))), vec![vec![s]]);
        }
    }
}
