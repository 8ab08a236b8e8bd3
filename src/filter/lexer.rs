//! Characters -> tokens.
//!
//! The lexer only knows the shape of words, never what they mean: `@foo.bar`
//! is one identifier token here, and the parser decides whether it is a macro,
//! a request field or an error. Every token carries the 1-based column (in
//! characters) where it starts, so errors can say where.

use std::fmt;

use super::ast::Op;
use super::parser::ParseError;

/// What a token is.
#[derive(Debug, Clone, PartialEq)]
pub enum TokenKind {
    /// A quoted string, escapes already resolved.
    Str(String),
    /// A number, sign included (`-5` is one token).
    Num(f64),
    /// A raw identifier such as `@request.auth.id` or `tags:each`.
    Ident(String),
    True,
    False,
    Null,
    /// A comparison operator.
    Op(Op),
    /// `&&`
    And,
    /// `||`
    Or,
    LParen,
    RParen,
    /// `,` between function arguments.
    Comma,
}

/// A token and the column (1-based, in characters) where it starts.
#[derive(Debug, Clone, PartialEq)]
pub struct Token {
    pub kind: TokenKind,
    pub column: usize,
}

impl fmt::Display for TokenKind {
    /// How a token is named in error messages.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TokenKind::Str(s) => write!(f, "string {s:?}"),
            TokenKind::Num(n) => write!(f, "number {n}"),
            TokenKind::Ident(s) => write!(f, "'{s}'"),
            TokenKind::True => f.write_str("true"),
            TokenKind::False => f.write_str("false"),
            TokenKind::Null => f.write_str("null"),
            TokenKind::Op(op) => write!(f, "'{}'", op.as_str()),
            TokenKind::And => f.write_str("'&&'"),
            TokenKind::Or => f.write_str("'||'"),
            TokenKind::LParen => f.write_str("'('"),
            TokenKind::RParen => f.write_str("')'"),
            TokenKind::Comma => f.write_str("','"),
        }
    }
}

/// All comparison operators, for matching the written form.
const OPS: [Op; 16] = Op::ALL;

/// Can `c` start an identifier?
pub fn is_ident_start(c: char) -> bool {
    c.is_ascii_alphabetic() || c == '_' || c == '@'
}

/// Can `c` continue an identifier?
pub fn is_ident_continue(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | ':' | '@')
}

fn is_op_char(c: char) -> bool {
    matches!(c, '=' | '!' | '<' | '>' | '~' | '?')
}

/// Splits `input` into tokens, dropping whitespace and `//` comments.
///
/// Errors (unterminated string, malformed number, unknown operator, stray
/// character) carry the column where the offending token starts.
pub fn tokenize(input: &str) -> Result<Vec<Token>, ParseError> {
    let chars: Vec<char> = input.chars().collect();
    let mut lexer = Lexer {
        chars: &chars,
        pos: 0,
    };
    let mut tokens = Vec::new();
    while let Some(c) = lexer.peek() {
        let column = lexer.pos + 1;
        let kind = match c {
            c if c.is_whitespace() => {
                lexer.pos += 1;
                continue;
            }
            '/' if lexer.peek_at(1) == Some('/') => {
                while lexer.bump().is_some_and(|c| c != '\n') {}
                continue;
            }
            '\'' | '"' => lexer.string(column)?,
            '-' if lexer.peek_at(1).is_some_and(|c| c.is_ascii_digit()) => lexer.number(column)?,
            c if c.is_ascii_digit() => lexer.number(column)?,
            c if is_ident_start(c) => lexer.ident(),
            c if is_op_char(c) => lexer.operator(column)?,
            '&' | '|' => lexer.join(column)?,
            '(' | ')' | ',' => {
                lexer.pos += 1;
                match c {
                    '(' => TokenKind::LParen,
                    ')' => TokenKind::RParen,
                    _ => TokenKind::Comma,
                }
            }
            other => {
                return Err(ParseError::new(
                    format!("unexpected character {other:?}"),
                    column,
                ));
            }
        };
        tokens.push(Token { kind, column });
    }
    Ok(tokens)
}

struct Lexer<'a> {
    chars: &'a [char],
    /// Index of the next character (0-based; columns are `pos + 1`).
    pos: usize,
}

impl Lexer<'_> {
    fn peek(&self) -> Option<char> {
        self.chars.get(self.pos).copied()
    }

    fn peek_at(&self, ahead: usize) -> Option<char> {
        self.chars.get(self.pos.saturating_add(ahead)).copied()
    }

    fn bump(&mut self) -> Option<char> {
        let c = self.peek()?;
        self.pos += 1;
        Some(c)
    }

    /// Takes characters while `keep` holds.
    fn take_while(&mut self, keep: impl Fn(char) -> bool) -> String {
        let mut out = String::new();
        while let Some(c) = self.peek().filter(|&c| keep(c)) {
            out.push(c);
            self.pos += 1;
        }
        out
    }

    /// `'...'` or `"..."`. `\'`, `\"` and `\\` unescape; any other backslash
    /// is kept as written (`\n` stays two characters).
    fn string(&mut self, column: usize) -> Result<TokenKind, ParseError> {
        let unterminated = || ParseError::new("unterminated string", column);
        let quote = self.bump().ok_or_else(unterminated)?;
        let mut out = String::new();
        loop {
            match self.bump().ok_or_else(unterminated)? {
                '\\' => {
                    let next = self.bump().ok_or_else(unterminated)?;
                    if !matches!(next, '\'' | '"' | '\\') {
                        out.push('\\');
                    }
                    out.push(next);
                }
                c if c == quote => return Ok(TokenKind::Str(out)),
                c => out.push(c),
            }
        }
    }

    /// `-?\d+(\.\d+)?`, not directly followed by an identifier character.
    fn number(&mut self, column: usize) -> Result<TokenKind, ParseError> {
        let mut text = String::new();
        if self.peek() == Some('-') {
            text.push('-');
            self.pos += 1;
        }
        text.push_str(&self.take_while(|c| c.is_ascii_digit()));
        if self.peek() == Some('.') && self.peek_at(1).is_some_and(|c| c.is_ascii_digit()) {
            self.pos += 1;
            text.push('.');
            text.push_str(&self.take_while(|c| c.is_ascii_digit()));
        }
        if let Some(c) = self.peek().filter(|&c| is_ident_continue(c)) {
            let rest = self.take_while(is_ident_continue);
            return Err(ParseError::new(
                format!("invalid number '{text}{rest}'{}", hint(c)),
                column,
            ));
        }
        match text.parse::<f64>() {
            Ok(n) if n.is_finite() => Ok(TokenKind::Num(n)),
            _ => Err(ParseError::new(
                format!("number '{text}' is out of range"),
                column,
            )),
        }
    }

    /// An identifier, or one of the keywords `true`, `false`, `null`
    /// (case-insensitive, like PocketBase).
    fn ident(&mut self) -> TokenKind {
        let text = self.take_while(is_ident_continue);
        match text.to_ascii_lowercase().as_str() {
            "true" => TokenKind::True,
            "false" => TokenKind::False,
            "null" => TokenKind::Null,
            _ => TokenKind::Ident(text),
        }
    }

    /// The longest run of operator characters, which must be one operator.
    fn operator(&mut self, column: usize) -> Result<TokenKind, ParseError> {
        let text = self.take_while(is_op_char);
        OPS.iter()
            .find(|op| op.as_str() == text)
            .map(|&op| TokenKind::Op(op))
            .ok_or_else(|| ParseError::new(format!("unknown operator '{text}'"), column))
    }

    /// `&&` or `||`.
    fn join(&mut self, column: usize) -> Result<TokenKind, ParseError> {
        let text = self.take_while(|c| c == '&' || c == '|');
        match text.as_str() {
            "&&" => Ok(TokenKind::And),
            "||" => Ok(TokenKind::Or),
            _ => Err(ParseError::new(
                format!("unknown operator '{text}' (expected '&&' or '||')"),
                column,
            )),
        }
    }
}

fn hint(c: char) -> &'static str {
    if c == '.' {
        " (a decimal point needs digits on both sides)"
    } else {
        ""
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(input: &str) -> Vec<TokenKind> {
        tokenize(input)
            .unwrap_or_else(|e| panic!("{input:?}: {e}"))
            .into_iter()
            .map(|t| t.kind)
            .collect()
    }

    fn err(input: &str) -> ParseError {
        match tokenize(input) {
            Ok(tokens) => panic!("{input:?} lexed to {tokens:?}"),
            Err(e) => e,
        }
    }

    fn ident(s: &str) -> TokenKind {
        TokenKind::Ident(s.to_owned())
    }

    #[test]
    fn every_operator() {
        for op in OPS {
            let input = format!("a{}1", op.as_str());
            assert_eq!(
                kinds(&input),
                vec![ident("a"), TokenKind::Op(op), TokenKind::Num(1.0)],
                "{input}"
            );
        }
        assert_eq!(
            kinds("a&&b||(c),"),
            vec![
                ident("a"),
                TokenKind::And,
                ident("b"),
                TokenKind::Or,
                TokenKind::LParen,
                ident("c"),
                TokenKind::RParen,
                TokenKind::Comma,
            ]
        );
    }

    #[test]
    fn strings_and_escapes() {
        let cases: &[(&str, &str)] = &[
            (r"'abc'", "abc"),
            (r#""abc""#, "abc"),
            (r"''", ""),
            (r"'it\'s'", "it's"),
            (r#""say \"hi\"""#, r#"say "hi""#),
            (r#"'a"b'"#, r#"a"b"#),
            (r#""a'b""#, "a'b"),
            (r#"'a\"b'"#, r#"a"b"#),
            (r"'back\\slash'", r"back\slash"),
            (r"'\n\t\x'", r"\n\t\x"),
            (r"'// not a comment'", "// not a comment"),
            ("'multi\nline'", "multi\nline"),
            ("'ünïcødé ✓'", "ünïcødé ✓"),
        ];
        for (input, want) in cases {
            assert_eq!(
                kinds(input),
                vec![TokenKind::Str((*want).to_owned())],
                "{input}"
            );
        }
    }

    #[test]
    fn numbers() {
        let cases: &[(&str, f64)] = &[
            ("0", 0.0),
            ("42", 42.0),
            ("-7", -7.0),
            ("3.25", 3.25),
            ("-0.5", -0.5),
            ("007", 7.0),
        ];
        for (input, want) in cases {
            assert_eq!(kinds(input), vec![TokenKind::Num(*want)], "{input}");
        }
        assert_eq!(
            kinds("a>-1"),
            vec![ident("a"), TokenKind::Op(Op::Gt), TokenKind::Num(-1.0)]
        );
    }

    #[test]
    fn identifiers_and_keywords() {
        for s in [
            "a",
            "_x",
            "@request.auth.id",
            "author.name:lower",
            "@collection.users:u.email",
            "comments_via_post.title",
            "meta.a.0",
            "tags:each",
            "@now",
        ] {
            assert_eq!(kinds(s), vec![ident(s)], "{s}");
        }
        assert_eq!(
            kinds("true false null TRUE Null nullable"),
            vec![
                TokenKind::True,
                TokenKind::False,
                TokenKind::Null,
                TokenKind::True,
                TokenKind::Null,
                ident("nullable"),
            ]
        );
    }

    #[test]
    fn whitespace_comments_and_columns() {
        let tokens = tokenize("// head\n  a = 'é' // tail\n&& b").unwrap();
        let cols: Vec<(TokenKind, usize)> =
            tokens.into_iter().map(|t| (t.kind, t.column)).collect();
        assert_eq!(
            cols,
            vec![
                (ident("a"), 11),
                (TokenKind::Op(Op::Eq), 13),
                (TokenKind::Str("é".into()), 15),
                (TokenKind::And, 27),
                (ident("b"), 30),
            ]
        );
        assert_eq!(kinds("  // only a comment"), vec![]);
        assert_eq!(kinds(""), vec![]);
    }

    #[test]
    fn errors_with_columns() {
        let cases: &[(&str, &str, usize)] = &[
            ("a = 'abc", "unterminated string", 5),
            ("a = \"abc\\\"", "unterminated string", 5),
            ("a = 'abc\\", "unterminated string", 5),
            ("a == 1", "unknown operator '=='", 3),
            ("a =! 1", "unknown operator '=!'", 3),
            ("a ? 1", "unknown operator '?'", 3),
            ("a ! 1", "unknown operator '!'", 3),
            ("a & b", "unknown operator '&'", 3),
            ("a &&& b", "unknown operator '&&&'", 3),
            ("a |& b", "unknown operator '|&'", 3),
            ("a = 1.", "invalid number '1.'", 5),
            ("a = 1.2.3", "invalid number '1.2.3'", 5),
            ("a = 12abc", "invalid number '12abc'", 5),
            ("a = - 1", "unexpected character '-'", 5),
            ("a = $x", "unexpected character '$'", 5),
            ("é = 1", "unexpected character 'é'", 1),
            ("a / b", "unexpected character '/'", 3),
        ];
        for (input, message, column) in cases {
            let e = err(input);
            assert!(e.message.starts_with(message), "{input}: {e}");
            assert_eq!(e.column, *column, "{input}: {e}");
        }
        let huge = format!("a = {}", "9".repeat(400));
        assert!(err(&huge).message.contains("out of range"));
    }
}
