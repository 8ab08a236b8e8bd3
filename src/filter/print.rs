//! [`Expr`] -> canonical text.
//!
//! The printed form parses back to the same tree: parentheses appear only
//! where the tree differs from what precedence and left-associativity would
//! give (an `Or` under an `And`, a right-nested `And`/`Or`), strings are
//! single-quoted with `\` and `'` escaped, and numbers use Rust's shortest
//! round-trip decimal form (`5`, `-0.25`, never an exponent).
//!
//! Only trees the parser can produce are guaranteed to round-trip: an
//! [`Ident`] whose parts contain `.` or spaces, a non-finite number or a
//! single-part identifier named `true` prints fine but reads back differently.

use std::fmt::{self, Display, Formatter, Write};

use super::ast::{Expr, Func, Ident, Operand};

impl Display for Expr {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        match self {
            Expr::Cmp { left, op, right } => write!(f, "{left} {} {right}", op.as_str()),
            Expr::Policy(name) => write!(f, "@policy.{name}"),
            Expr::And(left, right) => {
                // `Or` binds looser than `&&`, and `a && (b && c)` must keep
                // its grouping to give back the same tree.
                write_grouped(f, left, matches!(**left, Expr::Or(..)))?;
                f.write_str(" && ")?;
                write_grouped(
                    f,
                    right,
                    !matches!(**right, Expr::Cmp { .. } | Expr::Policy(_)),
                )
            }
            Expr::Or(left, right) => {
                write_grouped(f, left, false)?;
                f.write_str(" || ")?;
                write_grouped(f, right, matches!(**right, Expr::Or(..)))
            }
        }
    }
}

fn write_grouped(f: &mut Formatter<'_>, expr: &Expr, parens: bool) -> fmt::Result {
    if parens {
        write!(f, "({expr})")
    } else {
        write!(f, "{expr}")
    }
}

impl Display for Operand {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        match self {
            Operand::Str(s) => {
                f.write_char('\'')?;
                for c in s.chars() {
                    if c == '\\' || c == '\'' {
                        f.write_char('\\')?;
                    }
                    f.write_char(c)?;
                }
                f.write_char('\'')
            }
            Operand::Num(n) => write!(f, "{n}"),
            Operand::Bool(b) => write!(f, "{b}"),
            Operand::Null => f.write_str("null"),
            Operand::Macro(m) => f.write_str(m.as_str()),
            Operand::Ident(ident) => write!(f, "{ident}"),
            Operand::Func(func) => write!(f, "{func}"),
        }
    }
}

impl Display for Ident {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        for (i, part) in self.parts.iter().enumerate() {
            if i > 0 {
                f.write_char('.')?;
            }
            f.write_str(part)?;
            if i == 1
                && let Some(alias) = &self.alias
            {
                write!(f, ":{alias}")?;
            }
        }
        if let Some(modifier) = self.modifier {
            write!(f, ":{}", modifier.as_str())?;
        }
        Ok(())
    }
}

impl Display for Func {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        let (name, args) = match self {
            Func::Strftime(args) => ("strftime", args),
            Func::GeoDistance(args) => ("geoDistance", args),
        };
        write!(f, "{name}(")?;
        for (i, arg) in args.iter().enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            write!(f, "{arg}")?;
        }
        f.write_char(')')
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;
    use crate::filter::ast::limits::MAX_LEN;
    use crate::filter::ast::{Macro, Modifier, Op};
    use crate::filter::parse;

    /// Input -> canonical form; the canonical form must itself be stable.
    #[test]
    fn canonical_forms() {
        let cases = [
            ("a=1", "a = 1"),
            ("a = 1.50", "a = 1.5"),
            ("a = -0.125", "a = -0.125"),
            ("a = 007", "a = 7"),
            (r#"a = "it's \"x\" \\ \n""#, r#"a = 'it\'s "x" \\ \\n'"#),
            ("a ?!~ NULL", "a ?!~ null"),
            ("a = TRUE && b != False", "a = true && b != false"),
            ("created > @todayStart", "created > @todayStart"),
            (
                "@collection.users:u.tags:length >= 2",
                "@collection.users:u.tags:length >= 2",
            ),
            ("tags:each ?= 'x'", "tags:each ?= 'x'"),
            (
                "strftime( '%Y',created )='2024'",
                "strftime('%Y', created) = '2024'",
            ),
            (
                "geoDistance(a.lon,a.lat,1,2)<3",
                "geoDistance(a.lon, a.lat, 1, 2) < 3",
            ),
            ("((a=1))", "a = 1"),
            ("a=1 && b=1 && c=1", "a = 1 && b = 1 && c = 1"),
            ("a=1 && (b=1 && c=1)", "a = 1 && (b = 1 && c = 1)"),
            ("a=1 || b=1 && c=1", "a = 1 || b = 1 && c = 1"),
            ("(a=1 || b=1) && c=1", "(a = 1 || b = 1) && c = 1"),
            ("a=1 && (b=1 || c=1)", "a = 1 && (b = 1 || c = 1)"),
            ("a=1 || (b=1 || c=1)", "a = 1 || (b = 1 || c = 1)"),
            ("(a=1 && b=1) || c=1 // note", "a = 1 && b = 1 || c = 1"),
        ];
        for (input, want) in cases {
            let expr = parse(input).unwrap_or_else(|e| panic!("{input:?}: {e}"));
            let printed = expr.to_string();
            assert_eq!(printed, want, "{input}");
            assert_eq!(parse(&printed), Ok(expr), "{input}");
        }
    }

    fn word() -> impl Strategy<Value = String> {
        "[a-z_][a-z0-9_]{0,6}".prop_filter("keywords are not identifiers", |w| {
            !matches!(w.as_str(), "true" | "false" | "null")
        })
    }

    /// A later identifier part: a word or a JSON array index.
    fn part() -> impl Strategy<Value = String> {
        prop_oneof![4 => word(), 1 => "[0-9]{1,2}"]
    }

    fn modifier() -> impl Strategy<Value = Option<Modifier>> {
        proptest::option::of(proptest::sample::select(vec![
            Modifier::Each,
            Modifier::Length,
            Modifier::Lower,
            Modifier::Isset,
            Modifier::Changed,
        ]))
    }

    fn ident() -> impl Strategy<Value = Ident> {
        let plain = (word(), proptest::collection::vec(part(), 0..4), modifier()).prop_map(
            |(first, rest, modifier)| Ident {
                parts: std::iter::once(first).chain(rest).collect(),
                alias: None,
                modifier,
            },
        );
        let request = (
            proptest::sample::select(vec!["auth", "body", "query", "headers", "method"]),
            proptest::collection::vec(part(), 0..3),
            modifier(),
        )
            .prop_map(|(kind, rest, modifier)| Ident {
                parts: ["@request".to_owned(), kind.to_owned()]
                    .into_iter()
                    .chain(rest)
                    .collect(),
                alias: None,
                modifier,
            });
        let collection = (
            word(),
            proptest::option::of(word()),
            proptest::collection::vec(part(), 1..3),
            modifier(),
        )
            .prop_map(|(name, alias, rest, modifier)| Ident {
                parts: ["@collection".to_owned(), name]
                    .into_iter()
                    .chain(rest)
                    .collect(),
                alias,
                modifier,
            });
        prop_oneof![3 => plain, 1 => request, 1 => collection]
    }

    fn number() -> impl Strategy<Value = f64> {
        prop_oneof![
            any::<i32>().prop_map(f64::from),
            -1e6..1e6f64,
            any::<f64>().prop_filter("finite", |n| n.is_finite()),
        ]
    }

    fn macro_() -> impl Strategy<Value = Macro> {
        proptest::sample::select(vec![
            Macro::Now,
            Macro::Second,
            Macro::Minute,
            Macro::Hour,
            Macro::Weekday,
            Macro::Day,
            Macro::Month,
            Macro::Year,
            Macro::TodayStart,
            Macro::TodayEnd,
            Macro::MonthStart,
            Macro::MonthEnd,
            Macro::YearStart,
            Macro::YearEnd,
            Macro::Yesterday,
            Macro::Tomorrow,
        ])
    }

    fn operand() -> impl Strategy<Value = Operand> {
        let leaf = prop_oneof![
            any::<String>().prop_map(Operand::Str),
            number().prop_map(Operand::Num),
            any::<bool>().prop_map(Operand::Bool),
            Just(Operand::Null),
            macro_().prop_map(Operand::Macro),
            ident().prop_map(Operand::Ident),
        ];
        leaf.prop_recursive(2, 8, 4, |inner| {
            prop_oneof![
                proptest::collection::vec(inner.clone(), 1..4)
                    .prop_map(|args| Operand::Func(Func::Strftime(args))),
                proptest::collection::vec(inner, 4..=4)
                    .prop_map(|args| Operand::Func(Func::GeoDistance(args))),
            ]
        })
    }

    fn op() -> impl Strategy<Value = Op> {
        proptest::sample::select(Op::ALL.to_vec())
    }

    fn expr() -> impl Strategy<Value = Expr> {
        let leaf = (operand(), op(), operand()).prop_map(|(left, op, right)| Expr::Cmp {
            left,
            op,
            right,
        });
        leaf.prop_recursive(5, 24, 2, |inner| {
            prop_oneof![
                (inner.clone(), inner.clone())
                    .prop_map(|(l, r)| Expr::And(Box::new(l), Box::new(r))),
                (inner.clone(), inner).prop_map(|(l, r)| Expr::Or(Box::new(l), Box::new(r))),
            ]
        })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(1000))]

        #[test]
        fn print_then_parse_gives_the_same_tree(expr in expr()) {
            let printed = expr.to_string();
            prop_assume!(printed.len() <= MAX_LEN);
            prop_assert_eq!(parse(&printed), Ok(expr), "{}", printed);
        }
    }
}
