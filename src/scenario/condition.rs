//! Conditions on a run's input attributes, read from text: a branch's `when:`, the filter
//! of an SLO (`p95(duration | tier == pro) < 5m`) and the segments of `--by`.

use crate::dist::Shape;
use crate::error::closest;
use crate::model::{AttrId, CmpOp, Cond, InputAttr, Model, Segment};

/// What is wrong with a condition, and how to fix it.
#[derive(Debug, Clone, PartialEq)]
pub struct CondError {
    /// What was found and what was expected.
    pub message: String,
    /// The fix (valid names, an example).
    pub hint: Option<String>,
}

impl CondError {
    fn new(message: impl Into<String>, hint: Option<String>) -> CondError {
        CondError { message: message.into(), hint }
    }
}

impl std::fmt::Display for CondError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.hint {
            Some(h) => write!(f, "{} ({h})", self.message),
            None => f.write_str(&self.message),
        }
    }
}

/// The attribute called `name`, with the closest name when there is none.
pub fn attribute(name: &str, inputs: &[InputAttr]) -> Result<AttrId, CondError> {
    if let Some(i) = inputs.iter().position(|a| a.name == name) {
        return Ok(i as AttrId);
    }
    let names: Vec<&str> = inputs.iter().map(|a| a.name.as_str()).collect();
    let hint = match closest(name, &names) {
        Some(c) => format!("did you mean `{c}`? input attributes: {}", names.join(", ")),
        None if names.is_empty() => "declare it under `input:`".to_owned(),
        None => format!("input attributes: {}", names.join(", ")),
    };
    Err(CondError::new(format!("unknown input attribute `{name}`"), Some(hint)))
}

/// The comparison operators, longest first where one starts another.
const OPS: [(&str, CmpOp); 6] =
    [("==", CmpOp::Eq), ("!=", CmpOp::Ne), ("<=", CmpOp::Le), (">=", CmpOp::Ge), ("<", CmpOp::Lt), (">", CmpOp::Gt)];

/// The first comparison operator in `text`: its position, spelling and meaning.
fn find_op(text: &str) -> Option<(usize, &'static str, CmpOp)> {
    OPS.iter()
        .filter_map(|(s, op)| text.find(s).map(|p| (p, *s, *op)))
        .min_by_key(|(p, s, _)| (*p, std::cmp::Reverse(s.len())))
}

/// `scanned`, `!scanned`, `not scanned`, `tier == pro`, `pages > 50`.
pub fn parse(text: &str, inputs: &[InputAttr]) -> Result<Cond, CondError> {
    let text = text.trim();
    let Some((p, s, op)) = find_op(text) else {
        let (negate, name) = match text.strip_prefix('!').or_else(|| text.strip_prefix("not ")) {
            Some(r) => (true, r.trim()),
            None => (false, text),
        };
        let attr = attribute(name, inputs)?;
        if let Some(first) = inputs[attr as usize].categories.first() {
            return Err(CondError::new(
                format!("`{name}` is a choice of names: compare it with == or !="),
                Some(format!("e.g. `{name} == {first}`")),
            ));
        }
        return Ok(Cond { attr, cmp: None, negate });
    };
    let name = text[..p].trim();
    let rhs = text[p + s.len()..].trim();
    let attr = attribute(name, inputs)?;
    let a = &inputs[attr as usize];
    let value = if a.categories.is_empty() {
        match rhs.parse::<f64>() {
            Ok(x) if x.is_finite() => x,
            _ => match rhs {
                "true" => 1.0,
                "false" => 0.0,
                _ => {
                    return Err(CondError::new(
                        format!("`{name}` is a number: compare it with a number, found `{rhs}`"),
                        None,
                    ));
                }
            },
        }
    } else {
        match a.categories.iter().position(|c| c == rhs) {
            Some(i) if matches!(op, CmpOp::Eq | CmpOp::Ne) => i as f64,
            Some(_) => {
                return Err(CondError::new(format!("`{name}` is a choice of names: compare it with == or !="), None));
            }
            None => {
                let cats: Vec<&str> = a.categories.iter().map(|s| s.as_str()).collect();
                let hint = match closest(rhs, &cats) {
                    Some(c) => format!("did you mean `{c}`? values: {}", cats.join(", ")),
                    None => format!("values: {}", cats.join(", ")),
                };
                return Err(CondError::new(format!("`{rhs}` is not a value of `{name}`"), Some(hint)));
            }
        }
    };
    Ok(Cond { attr, cmp: Some((op, value)), negate: false })
}

/// Most values a numeric attribute may take to be a segment each (`--by retries`).
const MAX_VALUE_SEGMENTS: f64 = 12.0;

/// Adds the segments of `--by BY` to `model`, recording the conditions they need:
/// - an attribute that is a choice of names: one segment per name;
/// - a yes/no attribute (`bernoulli`): `true` and `false`;
/// - a whole-number attribute of at most 12 values: one segment per value;
/// - `NAME:CUT,CUT,...`: the ranges between increasing cut points (`pages <= 10`,
///   `10 < pages <= 50`, `pages > 50`);
/// - a condition (`pages > 50`, `tier == pro`): the runs that meet it and those that do not.
pub fn add_segments(model: &mut Model, by: &str) -> Result<(), CondError> {
    let by = by.trim();
    let mut segs: Vec<(String, Vec<Cond>)> = Vec::new();
    if find_op(by).is_some() {
        let c = parse(by, &model.inputs)?;
        segs.push((by.to_owned(), vec![c]));
        segs.push((format!("not ({by})"), vec![Cond { negate: !c.negate, ..c }]));
    } else if let Some((name, cuts)) = by.split_once(':') {
        let name = name.trim();
        let attr = attribute(name, &model.inputs)?;
        if !model.inputs[attr as usize].categories.is_empty() {
            return Err(CondError::new(
                format!("`{name}` is a choice of names: it has no cut points"),
                Some(format!("--by {name}")),
            ));
        }
        let cuts: Vec<f64> = cuts
            .split(',')
            .map(|c| c.trim().parse::<f64>().ok().filter(|x| x.is_finite()))
            .collect::<Option<_>>()
            .filter(|v: &Vec<f64>| !v.is_empty() && v.windows(2).all(|w| w[0] < w[1]))
            .ok_or_else(|| {
                CondError::new(
                    format!("cut points `{cuts}` are not increasing numbers"),
                    Some(format!("e.g. --by {name}:10,50")),
                )
            })?;
        let le = |x: f64| Cond { attr, cmp: Some((CmpOp::Le, x)), negate: false };
        let gt = |x: f64| Cond { attr, cmp: Some((CmpOp::Gt, x)), negate: false };
        segs.push((format!("{name} <= {}", cuts[0]), vec![le(cuts[0])]));
        for w in cuts.windows(2) {
            segs.push((format!("{} < {name} <= {}", w[0], w[1]), vec![gt(w[0]), le(w[1])]));
        }
        let last = cuts[cuts.len() - 1];
        segs.push((format!("{name} > {last}"), vec![gt(last)]));
    } else {
        let attr = attribute(by, &model.inputs)?;
        let a = &model.inputs[attr as usize];
        let eq = |x: f64| Cond { attr, cmp: Some((CmpOp::Eq, x)), negate: false };
        if !a.categories.is_empty() {
            for (i, c) in a.categories.iter().enumerate() {
                segs.push((c.clone(), vec![eq(i as f64)]));
            }
        } else if matches!(a.dist.shape, Shape::Bernoulli { .. }) {
            segs.push(("true".to_owned(), vec![Cond { attr, cmp: None, negate: false }]));
            segs.push(("false".to_owned(), vec![Cond { attr, cmp: None, negate: true }]));
        } else {
            let (lo, hi) = (a.dist.lower_bound(), a.dist.upper_bound());
            let whole = a.dist.round || matches!(a.dist.shape, Shape::UniformInt { .. } | Shape::Fixed(_));
            if !whole || !lo.is_finite() || !hi.is_finite() || hi - lo + 1.0 > MAX_VALUE_SEGMENTS {
                return Err(CondError::new(
                    format!("`{by}` takes too many values to be a segment each"),
                    Some(format!("give cut points (--by {by}:10,50) or a condition (--by '{by} > 50')")),
                ));
            }
            let mut v = lo.ceil();
            while v <= hi {
                segs.push((format!("{v}"), vec![eq(v)]));
                v += 1.0;
            }
        }
    }
    let name = if find_op(by).is_some() { by } else { by.split(':').next().unwrap_or(by).trim() };
    for (label, conds) in segs {
        let mut mask = 0;
        for c in conds {
            mask |= model.mark(c).ok_or_else(|| {
                CondError::new(format!("too many segments and SLO filters (at most {})", crate::model::MAX_MARKS), None)
            })?;
        }
        model.segments.push(Segment { by: name.to_owned(), label, mask });
    }
    Ok(())
}

/// Adds `slos` to `model`, recording the condition of each filter (`| tier == pro`) so the
/// outcomes say which runs it counts. On error: the index of the SLO and what is wrong.
pub fn bind_slos(model: &mut Model, slos: Vec<crate::slo::Slo>) -> Result<(), (usize, CondError)> {
    for (i, mut slo) in slos.into_iter().enumerate() {
        if let Some(f) = &mut slo.filter {
            let c = parse(&f.text, &model.inputs).map_err(|e| (i, e))?;
            f.mask = model.mark(c).ok_or_else(|| {
                (
                    i,
                    CondError::new(
                        format!("too many segments and SLO filters (at most {})", crate::model::MAX_MARKS),
                        None,
                    ),
                )
            })?;
        }
        model.slos.push(slo);
    }
    Ok(())
}
