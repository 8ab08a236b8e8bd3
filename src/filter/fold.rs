//! Comparisons decided before the query runs.
//!
//! `@request.auth.roles ?= 'editor'` or `@request.auth.id != ''` compare
//! values known when a rule is compiled. Left to SQL they become a per-row
//! test (for roles an `EXISTS` over `json_each`, run for every row of a page
//! and of its count); decided here they become the constant `1` or `0`. The
//! answer must be exactly SQLite's, including PocketBase's "null is empty"
//! and "an empty set is one NULL" rules, which the test checks case by case.

use serde_json::Value;

use super::ast::{Op, Operand};
use super::compile::{CompileError, Param, Params, Resolver, Side, Source};

/// A request-time operand, or one that is not known yet but already
/// resolved (resolving twice would bind its parameters twice).
pub(super) enum Known {
    /// A literal or request value (`Null` = the literal `null`).
    One(Value),
    /// A multi-valued request value.
    List(Vec<Value>),
    /// Not known before the query runs.
    Later(Side),
}

impl Known {
    pub(super) fn into_side(self, p: &mut Params) -> Side {
        match self {
            Known::One(Value::Null) => Side::Null,
            Known::One(v) => Side::Sql(p.bind(Param::from_json(&v))),
            Known::List(list) => values_side(list, p),
            Known::Later(s) => s,
        }
    }
}

/// Resolves an operand of `=` / `!=`; `None` for functions and macros
/// (compiled the usual way).
pub(super) fn known(
    o: &Operand,
    any: bool,
    r: &mut dyn Resolver,
    p: &mut Params,
) -> Result<Option<Known>, CompileError> {
    Ok(Some(match o {
        Operand::Null => Known::One(Value::Null),
        Operand::Str(s) => Known::One(Value::String(s.clone())),
        // A float, as PocketBase binds it (see `compile::operand`).
        Operand::Num(n) => Known::One(Value::from(*n)),
        Operand::Bool(b) => Known::One(Value::from(i64::from(*b))),
        Operand::Ident(id) => match if any {
            r.resolve_any(id, p)?
        } else {
            r.resolve(id, p)?
        } {
            Source::Value(v) => Known::One(v),
            Source::Values(list) => Known::List(list),
            Source::Scalar(sql) => Known::Later(Side::Sql(sql)),
            Source::Many(sql) => Known::Later(Side::Many(sql)),
        },
        Operand::Macro(_) | Operand::Func(_) => return Ok(None),
    }))
}

/// `=` / `!=` between known values, exactly as the SQL would decide it;
/// `None` when a side is not a plain value.
pub(super) fn fold(a: &Known, op: Op, b: &Known) -> Option<bool> {
    // One value as SQL sees it: `None` is the NULL an empty set yields.
    fn item(v: &Value) -> Option<Option<&Value>> {
        match v {
            Value::Array(_) | Value::Object(_) => None,
            v => Some(Some(v)),
        }
    }
    fn items(k: &Known) -> Option<Vec<Option<&Value>>> {
        match k {
            Known::One(v) => Some(vec![item(v)?]),
            Known::List(l) if l.is_empty() => Some(vec![None]),
            Known::List(l) => l.iter().map(item).collect(),
            Known::Later(_) => None,
        }
    }
    let literal_null = |k: &Known| matches!(k, Known::One(Value::Null));
    let (xs, ys) = (items(a)?, items(b)?);
    if xs.len() > 1 && ys.len() > 1 {
        return None;
    }
    let eq = |x: Option<&Value>, y: Option<&Value>, x_lit: bool, y_lit: bool| -> bool {
        match (x, y) {
            // The literal `null` matches NULL, '' and '[]'.
            (Some(Value::Null), other) | (other, Some(Value::Null)) if x_lit || y_lit => {
                match other {
                    None | Some(Value::Null) => true,
                    Some(Value::String(s)) => s.is_empty() || s == "[]",
                    Some(_) => false,
                }
            }
            (None, None) => true,
            (None, _) | (_, None) => false,
            (Some(x), Some(y)) => sql_is(x, y),
        }
    };
    let (xl, yl) = (literal_null(a), literal_null(b));
    let test = |x: Option<&Value>, y: Option<&Value>| {
        let e = eq(x, y, xl, yl);
        if op.base() == Op::Eq { e } else { !e }
    };
    let mut results = xs
        .iter()
        .flat_map(|x| ys.iter().map(move |y| (*x, *y)))
        .map(|(x, y)| test(x, y));
    Some(if op.is_any() {
        results.any(|v| v)
    } else {
        results.all(|v| v)
    })
}

/// SQLite's `IS` between two bound values: numbers (booleans are 0/1)
/// compare as numbers, text as text, and text never equals a number.
fn sql_is(x: &Value, y: &Value) -> bool {
    fn num(v: &Value) -> Option<f64> {
        match v {
            Value::Number(n) => n.as_f64(),
            Value::Bool(b) => Some(f64::from(u8::from(*b))),
            _ => None,
        }
    }
    match (x, y) {
        (Value::String(a), Value::String(b)) => a == b,
        (Value::Null, Value::Null) => true,
        _ => match (num(x), num(y)) {
            (Some(a), Some(b)) => a == b,
            _ => false,
        },
    }
}

/// A known list as a multi-valued operand (one bound JSON array).
pub(super) fn values_side(list: Vec<Value>, p: &mut Params) -> Side {
    let ph = p.bind(Param::Text(Value::Array(list).to_string()));
    Side::Many(format!(
        "SELECT value AS v FROM {}",
        p.dialect.json_each(&ph, None, None)
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::filter::compile::cmp_sides;
    use serde_json::json;

    /// Folding `=` / `!=` between known values must agree with what SQLite
    /// answers for the same comparison left to the query.
    #[test]
    fn folded_comparisons_agree_with_sqlite() {
        let db = crate::store::scratch::Scratch::open();
        let one = |v: Value| Known::One(v);
        let samples = || {
            vec![
                one(Value::Null),
                one(json!("")),
                one(json!("[]")),
                one(json!("a")),
                one(json!("1")),
                one(json!(1)),
                one(json!(1.0)),
                one(json!(0)),
                one(json!(true)),
                one(json!(false)),
                Known::List(vec![]),
                Known::List(vec![json!("a")]),
                Known::List(vec![json!("a"), json!("b")]),
                Known::List(vec![json!(1), json!("1")]),
            ]
        };
        let ops = [Op::Eq, Op::Neq, Op::AnyEq, Op::AnyNeq];
        let (mut folded, mut checked) = (0, 0);
        for (i, a) in samples().into_iter().enumerate() {
            for (j, b) in samples().into_iter().enumerate() {
                for op in ops {
                    let a2 = samples().swap_remove(i);
                    let b2 = samples().swap_remove(j);
                    let Some(want) = fold(&a, op, &b) else {
                        continue;
                    };
                    let mut p = Params::new(1);
                    let (sa, sb) = (a2.into_side(&mut p), b2.into_side(&mut p));
                    let cmp = cmp_sides(p.dialect, sa, op, sb);
                    let sql = format!("SELECT COALESCE(({cmp}), 0)");
                    let got = db.query_i64(&sql, &p.values);
                    assert_eq!(got == 1, want, "{i} {} {j}: {sql}", op.as_str());
                    checked += 1;
                }
                folded += 1;
            }
        }
        assert!(checked > 500 && folded > 100, "{checked} {folded}");
    }
}
