//! Table tests for [`parse`]: input -> AST, input -> error + column, and a
//! property test that no input makes the parser panic.

use proptest::prelude::*;

use super::*;
use crate::filter::ast::Op;

fn ok(input: &str) -> Expr {
    parse(input).unwrap_or_else(|e| panic!("{input:?}: {e}"))
}

fn id(path: &str) -> Operand {
    Operand::Ident(Ident {
        parts: path.split('.').map(str::to_owned).collect(),
        alias: None,
        modifier: None,
    })
}

fn id_mod(path: &str, modifier: Modifier) -> Operand {
    Operand::Ident(Ident {
        parts: path.split('.').map(str::to_owned).collect(),
        alias: None,
        modifier: Some(modifier),
    })
}

fn s(v: &str) -> Operand {
    Operand::Str(v.to_owned())
}

fn cmp(left: Operand, op: Op, right: Operand) -> Expr {
    Expr::Cmp { left, op, right }
}

/// `name = 1`, the leaf used by the structure tests.
fn leaf(name: &str) -> Expr {
    cmp(id(name), Op::Eq, Operand::Num(1.0))
}

fn and(l: Expr, r: Expr) -> Expr {
    Expr::And(Box::new(l), Box::new(r))
}

fn or(l: Expr, r: Expr) -> Expr {
    Expr::Or(Box::new(l), Box::new(r))
}

#[test]
fn every_operator() {
    let ops = [
        ("=", Op::Eq),
        ("!=", Op::Neq),
        (">", Op::Gt),
        (">=", Op::Gte),
        ("<", Op::Lt),
        ("<=", Op::Lte),
        ("~", Op::Like),
        ("!~", Op::NotLike),
        ("?=", Op::AnyEq),
        ("?!=", Op::AnyNeq),
        ("?>", Op::AnyGt),
        ("?>=", Op::AnyGte),
        ("?<", Op::AnyLt),
        ("?<=", Op::AnyLte),
        ("?~", Op::AnyLike),
        ("?!~", Op::AnyNotLike),
    ];
    for (text, op) in ops {
        assert_eq!(
            ok(&format!("a {text} 'x'")),
            cmp(id("a"), op, s("x")),
            "{text}"
        );
        assert_eq!(
            ok(&format!("a{text}'x'")),
            cmp(id("a"), op, s("x")),
            "{text}"
        );
    }
}

#[test]
fn literals() {
    let cases: Vec<(&str, Operand)> = vec![
        ("'abc'", s("abc")),
        ("\"abc\"", s("abc")),
        ("''", s("")),
        (r"'it\'s'", s("it's")),
        (r#""a \"q\"""#, s("a \"q\"")),
        (r"'c:\\dir'", s(r"c:\dir")),
        (r"'%\_x'", s(r"%\_x")),
        ("12", Operand::Num(12.0)),
        ("-3.5", Operand::Num(-3.5)),
        ("0.25", Operand::Num(0.25)),
        ("true", Operand::Bool(true)),
        ("false", Operand::Bool(false)),
        ("TRUE", Operand::Bool(true)),
        ("null", Operand::Null),
        ("NULL", Operand::Null),
    ];
    for (text, want) in cases {
        assert_eq!(
            ok(&format!("a = {text}")),
            cmp(id("a"), Op::Eq, want),
            "{text}"
        );
    }
}

#[test]
fn macros() {
    let names = [
        ("@now", Macro::Now),
        ("@second", Macro::Second),
        ("@minute", Macro::Minute),
        ("@hour", Macro::Hour),
        ("@weekday", Macro::Weekday),
        ("@day", Macro::Day),
        ("@month", Macro::Month),
        ("@year", Macro::Year),
        ("@todayStart", Macro::TodayStart),
        ("@todayEnd", Macro::TodayEnd),
        ("@monthStart", Macro::MonthStart),
        ("@monthEnd", Macro::MonthEnd),
        ("@yearStart", Macro::YearStart),
        ("@yearEnd", Macro::YearEnd),
        ("@yesterday", Macro::Yesterday),
        ("@tomorrow", Macro::Tomorrow),
    ];
    for (text, m) in names {
        assert_eq!(
            ok(&format!("created < {text}")),
            cmp(id("created"), Op::Lt, Operand::Macro(m)),
            "{text}"
        );
    }
}

#[test]
fn identifiers_modifiers_and_alias() {
    let cases: Vec<(&str, Operand)> = vec![
        ("title", id("title")),
        ("_x1", id("_x1")),
        ("author.name", id("author.name")),
        ("comments_via_post.title", id("comments_via_post.title")),
        ("meta.a.0", id("meta.a.0")),
        ("@request.auth.id", id("@request.auth.id")),
        ("@request.method", id("@request.method")),
        ("@old.status", id("@old.status")),
        ("@old.tags:length", id_mod("@old.tags", Modifier::Length)),
        (
            "@request.body.tags:each",
            id_mod("@request.body.tags", Modifier::Each),
        ),
        ("tags:each", id_mod("tags", Modifier::Each)),
        ("tags:length", id_mod("tags", Modifier::Length)),
        ("author.name:lower", id_mod("author.name", Modifier::Lower)),
        (
            "@request.body.x:isset",
            id_mod("@request.body.x", Modifier::Isset),
        ),
        (
            "@request.body.x:changed",
            id_mod("@request.body.x", Modifier::Changed),
        ),
        ("@collection.users.email", id("@collection.users.email")),
        ("strftime", id("strftime")),
        ("nullable", id("nullable")),
        (
            "@collection.users:u.email",
            Operand::Ident(Ident {
                parts: vec!["@collection".into(), "users".into(), "email".into()],
                alias: Some("u".into()),
                modifier: None,
            }),
        ),
        (
            "@collection.users:u.tags:length",
            Operand::Ident(Ident {
                parts: vec!["@collection".into(), "users".into(), "tags".into()],
                alias: Some("u".into()),
                modifier: Some(Modifier::Length),
            }),
        ),
    ];
    for (text, want) in cases {
        assert_eq!(
            ok(&format!("{text} != ''")),
            cmp(want, Op::Neq, s("")),
            "{text}"
        );
    }
}

#[test]
fn functions() {
    assert_eq!(
        ok("strftime('%Y', created) = '2024'"),
        cmp(
            Operand::Func(Func::Strftime(vec![s("%Y"), id("created")])),
            Op::Eq,
            s("2024")
        )
    );
    assert_eq!(
        ok("strftime('%s') > 0"),
        cmp(
            Operand::Func(Func::Strftime(vec![s("%s")])),
            Op::Gt,
            Operand::Num(0.0)
        )
    );
    assert_eq!(
        ok("geoDistance(loc.lon, loc.lat, 23.3, -42) < 25"),
        cmp(
            Operand::Func(Func::GeoDistance(vec![
                id("loc.lon"),
                id("loc.lat"),
                Operand::Num(23.3),
                Operand::Num(-42.0),
            ])),
            Op::Lt,
            Operand::Num(25.0)
        )
    );
    assert_eq!(
        ok("@now >= strftime('%Y-%m-%d', strftime('%s', @request.body.d), 'start of day')"),
        cmp(
            Operand::Macro(Macro::Now),
            Op::Gte,
            Operand::Func(Func::Strftime(vec![
                s("%Y-%m-%d"),
                Operand::Func(Func::Strftime(vec![s("%s"), id("@request.body.d")])),
                s("start of day"),
            ]))
        )
    );
}

#[test]
fn precedence_and_grouping() {
    let cases: Vec<(&str, Expr)> = vec![
        ("a=1 && b=1", and(leaf("a"), leaf("b"))),
        ("a=1 || b=1", or(leaf("a"), leaf("b"))),
        (
            "a=1 || b=1 && c=1",
            or(leaf("a"), and(leaf("b"), leaf("c"))),
        ),
        (
            "a=1 && b=1 || c=1",
            or(and(leaf("a"), leaf("b")), leaf("c")),
        ),
        (
            "a=1 && b=1 && c=1",
            and(and(leaf("a"), leaf("b")), leaf("c")),
        ),
        ("a=1 || b=1 || c=1", or(or(leaf("a"), leaf("b")), leaf("c"))),
        (
            "(a=1 || b=1) && c=1",
            and(or(leaf("a"), leaf("b")), leaf("c")),
        ),
        (
            "a=1 && (b=1 || c=1)",
            and(leaf("a"), or(leaf("b"), leaf("c"))),
        ),
        (
            "a=1 && (b=1 && c=1)",
            and(leaf("a"), and(leaf("b"), leaf("c"))),
        ),
        ("((a=1))", leaf("a")),
        (
            "((a=1 || (b=1)) && ((c=1)))",
            and(or(leaf("a"), leaf("b")), leaf("c")),
        ),
    ];
    for (text, want) in cases {
        assert_eq!(ok(text), want, "{text}");
    }
}

#[test]
fn comments_and_whitespace() {
    let text = "// who may see it\n  owner = @request.auth.id // the owner\n\t|| public = true // or anyone\n";
    assert_eq!(
        ok(text),
        or(
            cmp(id("owner"), Op::Eq, id("@request.auth.id")),
            cmp(id("public"), Op::Eq, Operand::Bool(true))
        )
    );
}

#[test]
fn limits_accept_their_maximum() {
    let deep = format!("{}a=1{}", "(".repeat(MAX_DEPTH), ")".repeat(MAX_DEPTH));
    assert_eq!(ok(&deep), leaf("a"));
    let many = vec!["a=1"; MAX_EXPRS].join("&&");
    assert!(parse(&many).is_ok());
    let path = ["a"; MAX_PATH].join(".");
    assert!(parse(&format!("{path}=1")).is_ok());
    let long = format!("a='{}'", "x".repeat(MAX_LEN - 4));
    assert_eq!(long.len(), MAX_LEN);
    assert!(parse(&long).is_ok());
}

#[test]
fn errors_with_columns() {
    let too_long = format!("a='{}'", "x".repeat(MAX_LEN));
    let too_deep = format!(
        "{}a=1{}",
        "(".repeat(MAX_DEPTH + 1),
        ")".repeat(MAX_DEPTH + 1)
    );
    let very_deep = "(".repeat(5000);
    let too_many = vec!["a=1"; MAX_EXPRS + 1].join("&&");
    let too_many_column = MAX_EXPRS * 5 + 1;
    let too_long_path = format!("{}=1", ["a"; MAX_PATH + 1].join("."));
    let nested_calls = format!(
        "{}1{}=1",
        "strftime(".repeat(MAX_DEPTH + 1),
        ")".repeat(MAX_DEPTH + 1)
    );
    let cases: Vec<(&str, &str, usize)> = vec![
        ("", "empty expression", 1),
        ("   // nothing\n", "empty expression", 1),
        (&too_long, "expression is too long", MAX_LEN + 1),
        (&too_deep, "expression is nested too deeply", MAX_DEPTH + 1),
        (&very_deep, "expression is nested too deeply", MAX_DEPTH + 1),
        (
            &nested_calls,
            "expression is nested too deeply",
            9 * MAX_DEPTH + 1,
        ),
        (&too_many, "too many comparisons", too_many_column),
        (&too_long_path, "too many parts", 1),
        // unbalanced parentheses
        ("(a = 1", "unclosed '('", 1),
        ("a = 1 && (b = 2 || (c = 3)", "unclosed '('", 10),
        ("a = 1)", "unmatched ')'", 6),
        ("(a = 1))", "unmatched ')'", 8),
        ("(a = 1 b = 2)", "expected ')', '&&' or '||'", 8),
        ("()", "expected an operand, found ')'", 2),
        // missing pieces
        ("a =", "expected an operand, found the end", 4),
        ("a = && b = 1", "expected an operand, found '&&'", 5),
        ("= 1", "expected an operand, found '='", 1),
        ("a", "expected a comparison operator, found the end", 2),
        ("a 1", "expected a comparison operator, found number 1", 3),
        ("a = 1 &&", "expected an operand, found the end", 9),
        ("a = 1 || || b = 2", "expected an operand, found '||'", 10),
        ("a = b = c", "unexpected '=' after a complete expression", 7),
        // unknown operators (from the lexer)
        ("a == 1", "unknown operator '=='", 3),
        ("a <> 1", "unknown operator '<>'", 3),
        ("a = 1 & b = 2", "unknown operator '&'", 7),
        // trailing garbage
        ("a = 1 b", "unexpected 'b' after a complete expression", 7),
        ("a = 1 'x'", "unexpected string \"x\"", 7),
        ("a = 1,", "unexpected ','", 6),
        // macros, variables, identifiers
        ("@foo = 1", "unknown macro or variable '@foo'", 1),
        ("a = @Now", "unknown macro or variable '@Now'", 5),
        ("a = @now.x", "macro @now takes no fields", 5),
        ("a = @", "unknown macro or variable '@'", 5),
        ("@request = 1", "@request needs a field", 1),
        ("a != @old", "@old needs a field", 6),
        ("a != @old:lower", "@old needs a field", 6),
        ("a != @olds.a", "unknown macro or variable '@olds'", 6),
        (
            "@collection.users = 1",
            "@collection needs a collection name and a field",
            1,
        ),
        (
            "@collection.users:u = 1",
            "@collection needs a collection name and a field",
            1,
        ),
        ("a.b:u.c = 1", "':u' is only allowed at the end", 5),
        ("a:lower.b = 1", "':lower' is only allowed at the end", 3),
        ("@collection.users:u:v.x = 1", "invalid alias 'u:v'", 19),
        ("a..b = 1", "empty part in identifier", 3),
        ("a. = 1", "empty part in identifier", 3),
        ("a.@b = 1", "invalid identifier part '@b'", 3),
        ("a@b = 1", "invalid identifier part 'a@b'", 1),
        // modifiers
        ("tags:upper = 1", "unknown modifier ':upper'", 6),
        ("x = a.b:", "unknown modifier ':'", 9),
        ("a:each:length = 1", "unknown modifier ':each:length'", 3),
        // functions
        ("foo(a) = 1", "unknown function 'foo'", 1),
        (
            "strftime() = 1",
            "strftime takes at least 1 argument(s), got 0",
            1,
        ),
        (
            "geoDistance(1, 2, 3) < 5",
            "geoDistance takes exactly 4 argument(s), got 3",
            1,
        ),
        ("geoDistance(1, 2, 3, 4, 5) < 5", "takes exactly 4", 1),
        (
            "strftime('%Y', a = 1",
            "expected ',' or ')' in strftime(...), found '='",
            18,
        ),
        ("strftime('%Y', a", "unclosed '(' of strftime", 9),
        ("strftime('%Y',) = 1", "expected an operand, found ')'", 15),
        ("strftime(&&) = 1", "expected an operand, found '&&'", 10),
        // lexer errors surface unchanged
        ("a = 'x", "unterminated string", 5),
        ("a = 1.", "invalid number", 5),
        ("a = #", "unexpected character '#'", 5),
    ];
    for (input, message, column) in cases {
        match parse(input) {
            Ok(expr) => panic!("{input:?} parsed to {expr:?}"),
            Err(e) => {
                assert!(
                    e.message.contains(message),
                    "{input:?}: got {e}, want {message}"
                );
                assert_eq!(e.column, column, "{input:?}: {e}");
            }
        }
    }
}

#[test]
fn error_display_names_the_column() {
    let e = parse("a ==").unwrap_err();
    assert_eq!(e.to_string(), "unknown operator '==' (column 3)");
    let boxed: Box<dyn std::error::Error> = Box::new(e);
    assert!(boxed.to_string().ends_with("(column 3)"));
}

/// Fragments that exercise every path through the lexer and parser.
const SOUP: &[&str] = &[
    "a",
    "b.c",
    "@request.auth.id",
    "@collection.u:x.y",
    "@now",
    "@nope",
    "tags:each",
    "x:bad",
    "strftime",
    "geoDistance",
    "foo",
    "'s'",
    "\"d\"",
    "'\\'",
    "'",
    "\"",
    "1",
    "-2.5",
    "1.",
    "true",
    "null",
    "=",
    "!=",
    "?=",
    "?!~",
    "~",
    "==",
    "?",
    "!",
    "&&",
    "||",
    "&",
    "|",
    "(",
    ")",
    ",",
    "//",
    "\n",
    " ",
    "-",
    ".",
    ":",
    "@",
    "#",
    "é",
];

const GLUE: &[&str] = &["", " "];

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn never_panics_on_arbitrary_strings(input in any::<String>()) {
        let _ = parse(&input);
    }

    #[test]
    fn never_panics_on_token_characters(input in r#"[a-z0-9_@.:'"\\ ()=!<>~?&|,/\n-]{0,80}"#) {
        let _ = parse(&input);
    }

    #[test]
    fn never_panics_on_token_soup(
        pieces in proptest::collection::vec(proptest::sample::select(SOUP), 0..40),
        glue in proptest::sample::select(GLUE),
    ) {
        let input = pieces.join(glue);
        if let Err(e) = parse(&input) {
            // Errors always point into the input (or just past it).
            prop_assert!(e.column >= 1 && e.column <= input.chars().count() + 1, "{input:?}: {e}");
        }
    }
}

#[test]
fn policies_stand_alone_as_conditions() {
    let e = parse("@policy.is_owner || (status = 'x' && @policy._team2)").expect("parses");
    assert_eq!(e.policies(), vec!["is_owner", "_team2"]);
    assert_eq!(
        e.to_string(),
        "@policy.is_owner || status = 'x' && @policy._team2"
    );
    assert_eq!(parse(&e.to_string()).expect("reparses"), e);
    // A policy is a whole condition, not an operand, and names are plain.
    assert!(parse("@policy.a = true").is_err());
    assert!(parse("@policy.1abc").is_err());
    assert!(parse("@policy.a.b").is_err());
    assert!(parse("@policy").is_err());
}
