//! YAML to a tree of located nodes.
//!
//! serde-saphyr parses the text (with its budgets against alias bombs and deep nesting);
//! every node keeps the line and column it came from, so the compiler can point at the
//! exact key or value to fix.

use serde::de::{Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_saphyr::Spanned;
use std::fmt;

#[derive(Debug, Clone, PartialEq)]
pub enum Kind {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(String),
    Seq(Vec<Node>),
    Map(Vec<(Node, Node)>),
}

#[derive(Debug, Clone, PartialEq)]
pub struct Node {
    pub line: u32,
    pub column: u32,
    pub kind: Kind,
}

impl Node {
    pub fn as_str(&self) -> Option<&str> {
        match &self.kind {
            Kind::Str(s) => Some(s),
            _ => None,
        }
    }
    pub fn as_f64(&self) -> Option<f64> {
        match self.kind {
            Kind::Int(i) => Some(i as f64),
            Kind::Float(f) => Some(f),
            _ => None,
        }
    }
    pub fn as_map(&self) -> Option<&[(Node, Node)]> {
        match &self.kind {
            Kind::Map(m) => Some(m),
            _ => None,
        }
    }
    pub fn as_seq(&self) -> Option<&[Node]> {
        match &self.kind {
            Kind::Seq(s) => Some(s),
            _ => None,
        }
    }
    /// What kind of value this is, for messages.
    pub fn type_name(&self) -> &'static str {
        match self.kind {
            Kind::Null => "nothing",
            Kind::Bool(_) => "a boolean",
            Kind::Int(_) => "an integer",
            Kind::Float(_) => "a number",
            Kind::Str(_) => "a string",
            Kind::Seq(_) => "a list",
            Kind::Map(_) => "a mapping",
        }
    }
    /// The value of a key of a mapping.
    pub fn get(&self, key: &str) -> Option<&Node> {
        self.as_map()?.iter().find(|(k, _)| k.as_str() == Some(key)).map(|(_, v)| v)
    }
}

struct KindVisitor;

impl<'de> Visitor<'de> for KindVisitor {
    type Value = Kind;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a YAML value")
    }
    fn visit_bool<E>(self, v: bool) -> Result<Kind, E> {
        Ok(Kind::Bool(v))
    }
    fn visit_i64<E>(self, v: i64) -> Result<Kind, E> {
        Ok(Kind::Int(v))
    }
    fn visit_u64<E>(self, v: u64) -> Result<Kind, E> {
        Ok(i64::try_from(v).map(Kind::Int).unwrap_or(Kind::Float(v as f64)))
    }
    fn visit_i128<E>(self, v: i128) -> Result<Kind, E> {
        Ok(Kind::Float(v as f64))
    }
    fn visit_u128<E>(self, v: u128) -> Result<Kind, E> {
        Ok(Kind::Float(v as f64))
    }
    fn visit_f64<E>(self, v: f64) -> Result<Kind, E> {
        Ok(Kind::Float(v))
    }
    fn visit_str<E>(self, v: &str) -> Result<Kind, E> {
        Ok(Kind::Str(v.to_owned()))
    }
    fn visit_string<E>(self, v: String) -> Result<Kind, E> {
        Ok(Kind::Str(v))
    }
    fn visit_bytes<E>(self, v: &[u8]) -> Result<Kind, E> {
        Ok(Kind::Str(String::from_utf8_lossy(v).into_owned()))
    }
    fn visit_unit<E>(self) -> Result<Kind, E> {
        Ok(Kind::Null)
    }
    fn visit_none<E>(self) -> Result<Kind, E> {
        Ok(Kind::Null)
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Kind, D::Error> {
        d.deserialize_any(KindVisitor)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Kind, A::Error> {
        let mut v = Vec::new();
        while let Some(n) = seq.next_element::<Node>()? {
            v.push(n);
        }
        Ok(Kind::Seq(v))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Kind, A::Error> {
        let mut v = Vec::new();
        while let Some(entry) = map.next_entry::<Node, Node>()? {
            v.push(entry);
        }
        Ok(Kind::Map(v))
    }
}

struct KindWrap(Kind);

impl<'de> Deserialize<'de> for KindWrap {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(KindVisitor).map(KindWrap)
    }
}

impl<'de> Deserialize<'de> for Node {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = Spanned::<KindWrap>::deserialize(d)?;
        Ok(Node { line: s.referenced.line() as u32, column: s.referenced.column() as u32, kind: s.value.0 })
    }
}

/// A YAML syntax error: where, and serde-saphyr's message.
pub struct SyntaxError {
    pub line: u32,
    pub column: u32,
    pub message: String,
}

pub fn parse(src: &str) -> Result<Node, SyntaxError> {
    // YAML 1.2 booleans only: an attribute called `n` or `on` stays a name, not `false`/`true`.
    let mut options = serde_saphyr::Options::default();
    options.strict_booleans = true;
    serde_saphyr::from_str_with_options::<Node>(src, options).map_err(|e| {
        let (line, column) = e.location().map_or((0, 0), |l| (l.line() as u32, l.column() as u32));
        let full = e.without_snippet().to_string();
        // serde-saphyr prefixes "error: line L column C: "; keep just the message.
        let message = full
            .split_once(": ")
            .and_then(|(_, rest)| rest.split_once(": ").map(|(_, m)| m))
            .filter(|_| full.starts_with("error: line"))
            .unwrap_or(&full)
            .lines()
            .next()
            .unwrap_or("")
            .trim()
            .to_owned();
        SyntaxError { line, column, message }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nodes_carry_locations() {
        let n = parse("a:\n  b: [1, 2s]\n").ok().unwrap();
        let b = n.get("a").unwrap().get("b").unwrap();
        assert_eq!((b.line, b.column), (2, 6));
        let s = b.as_seq().unwrap();
        assert_eq!(s[1].as_str(), Some("2s"));
        assert_eq!((s[1].line, s[1].column), (2, 10));
    }

    #[test]
    fn yaml_1_1_booleans_stay_strings() {
        let n = parse("n: y\non: true\n").ok().unwrap();
        let m = n.as_map().unwrap();
        assert_eq!(m[0].0.as_str(), Some("n"));
        assert_eq!(m[0].1.as_str(), Some("y"));
        assert_eq!(m[1].0.as_str(), Some("on"));
        assert_eq!(m[1].1.kind, Kind::Bool(true));
    }

    #[test]
    fn syntax_error_is_located() {
        let e = parse("a: [1, 2\nb: 3\n").err().unwrap();
        assert!(e.line >= 1 && !e.message.is_empty());
        let e = parse("a: 1\na: 2\n").err().unwrap();
        assert_eq!(e.line, 2);
        assert!(e.message.contains("duplicate"), "{}", e.message);
    }
}
