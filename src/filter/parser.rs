//! Tokens -> [`Expr`].
//!
//! Grammar (`&&` binds tighter than `||`, both left-associative):
//!
//! ```text
//! expr    := and ( '||' and )*
//! and     := primary ( '&&' primary )*
//! primary := '(' expr ')' | operand OP operand
//! operand := STRING | NUMBER | true | false | null | MACRO | IDENT
//!          | IDENT '(' operand ( ',' operand )* ')'
//! ```
//!
//! Recursion only happens through `(` and function calls, and both count
//! against [`MAX_DEPTH`], so no input can grow the stack beyond that. The
//! other limits in [`limits`](super::ast::limits) are checked here too, before
//! any tree is built from an oversized input.

use std::fmt;
use std::iter::Peekable;
use std::vec::IntoIter;

use super::ast::limits::{MAX_DEPTH, MAX_EXPRS, MAX_LEN, MAX_PATH};
use super::ast::{Expr, Func, Ident, Macro, Modifier, Operand};
use super::lexer::{Token, TokenKind, tokenize};

/// Why an expression was rejected, and where.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseError {
    pub message: String,
    /// 1-based column, counted in characters; one past the end for
    /// "unexpected end of input".
    pub column: usize,
}

impl ParseError {
    pub fn new(message: impl Into<String>, column: usize) -> Self {
        ParseError {
            message: message.into(),
            column,
        }
    }
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} (column {})", self.message, self.column)
    }
}

impl std::error::Error for ParseError {}

/// Parses a filter or rule expression.
///
/// An empty (or whitespace/comment-only) input is an error: callers decide
/// what an empty rule means before calling this.
pub fn parse(input: &str) -> Result<Expr, ParseError> {
    if input.len() > MAX_LEN {
        let column = input
            .char_indices()
            .take_while(|&(byte, _)| byte < MAX_LEN)
            .count()
            + 1;
        return Err(ParseError::new(
            format!("expression is too long (max {MAX_LEN} bytes)"),
            column,
        ));
    }
    let tokens = tokenize(input)?;
    if tokens.is_empty() {
        return Err(ParseError::new("empty expression", 1));
    }
    let mut parser = Parser {
        tokens: tokens.into_iter().peekable(),
        end: input.chars().count() + 1,
        depth: 0,
        comparisons: 0,
    };
    let expr = parser.or()?;
    match parser.tokens.next() {
        None => Ok(expr),
        Some(Token {
            kind: TokenKind::RParen,
            column,
        }) => Err(ParseError::new("unmatched ')'", column)),
        Some(token) => Err(ParseError::new(
            format!("unexpected {} after a complete expression", token.kind),
            token.column,
        )),
    }
}

struct Parser {
    tokens: Peekable<IntoIter<Token>>,
    /// Column just past the input, for "unexpected end" errors.
    end: usize,
    /// Open parentheses and function calls around the current position.
    depth: usize,
    /// Comparisons seen so far.
    comparisons: usize,
}

impl Parser {
    fn peek_kind(&mut self) -> Option<&TokenKind> {
        self.tokens.peek().map(|t| &t.kind)
    }

    fn peek_column(&mut self) -> usize {
        self.tokens.peek().map_or(self.end, |t| t.column)
    }

    /// Consumes the next token if it is `kind`.
    fn eat(&mut self, kind: &TokenKind) -> bool {
        self.tokens.next_if(|t| &t.kind == kind).is_some()
    }

    /// Goes one level deeper (a `(` or a function call at `column`).
    fn enter(&mut self, column: usize) -> Result<(), ParseError> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(ParseError::new(
                format!("expression is nested too deeply (max {MAX_DEPTH} levels)"),
                column,
            ));
        }
        Ok(())
    }

    fn leave(&mut self) {
        self.depth = self.depth.saturating_sub(1);
    }

    fn or(&mut self) -> Result<Expr, ParseError> {
        let mut left = self.and()?;
        while self.eat(&TokenKind::Or) {
            let right = self.and()?;
            left = Expr::Or(Box::new(left), Box::new(right));
        }
        Ok(left)
    }

    fn and(&mut self) -> Result<Expr, ParseError> {
        let mut left = self.primary()?;
        while self.eat(&TokenKind::And) {
            let right = self.primary()?;
            left = Expr::And(Box::new(left), Box::new(right));
        }
        Ok(left)
    }

    fn primary(&mut self) -> Result<Expr, ParseError> {
        let column = self.peek_column();
        if !self.eat(&TokenKind::LParen) {
            return self.comparison();
        }
        self.enter(column)?;
        let expr = self.or()?;
        match self.tokens.next() {
            Some(Token {
                kind: TokenKind::RParen,
                ..
            }) => {}
            None => return Err(ParseError::new("unclosed '('", column)),
            Some(token) => {
                return Err(ParseError::new(
                    format!("expected ')', '&&' or '||', found {}", token.kind),
                    token.column,
                ));
            }
        }
        self.leave();
        Ok(expr)
    }

    fn comparison(&mut self) -> Result<Expr, ParseError> {
        let column = self.peek_column();
        self.comparisons += 1;
        if self.comparisons > MAX_EXPRS {
            return Err(ParseError::new(
                format!("too many comparisons (max {MAX_EXPRS})"),
                column,
            ));
        }
        if let Some(TokenKind::Ident(text)) = self.peek_kind()
            && let Some(name) = text.strip_prefix("@policy.")
        {
            if !is_policy_name(name) {
                return Err(ParseError::new(
                    format!("invalid policy name '{name}'"),
                    column,
                ));
            }
            let name = name.to_owned();
            self.tokens.next();
            return Ok(Expr::Policy(name));
        }
        let left = self.operand()?;
        let op = match self.tokens.next() {
            Some(Token {
                kind: TokenKind::Op(op),
                ..
            }) => op,
            Some(token) => {
                return Err(ParseError::new(
                    format!("expected a comparison operator, found {}", token.kind),
                    token.column,
                ));
            }
            None => {
                return Err(ParseError::new(
                    "expected a comparison operator, found the end",
                    self.end,
                ));
            }
        };
        let right = self.operand()?;
        Ok(Expr::Cmp { left, op, right })
    }

    fn operand(&mut self) -> Result<Operand, ParseError> {
        let Some(Token { kind, column }) = self.tokens.next() else {
            return Err(ParseError::new(
                "expected an operand, found the end",
                self.end,
            ));
        };
        Ok(match kind {
            TokenKind::Str(s) => Operand::Str(s),
            TokenKind::Num(n) => Operand::Num(n),
            TokenKind::True => Operand::Bool(true),
            TokenKind::False => Operand::Bool(false),
            TokenKind::Null => Operand::Null,
            TokenKind::Ident(name) if self.peek_kind() == Some(&TokenKind::LParen) => {
                Operand::Func(self.call(&name, column)?)
            }
            TokenKind::Ident(text) => name_operand(&text, column)?,
            other => {
                return Err(ParseError::new(
                    format!("expected an operand, found {other}"),
                    column,
                ));
            }
        })
    }

    /// `name(arg, ...)`; the `(` is the next token.
    fn call(&mut self, name: &str, column: usize) -> Result<Func, ParseError> {
        let (make, min, max): (fn(Vec<Operand>) -> Func, usize, usize) = match name {
            "strftime" => (Func::Strftime, 1, usize::MAX),
            "geoDistance" => (Func::GeoDistance, 4, 4),
            _ => {
                return Err(ParseError::new(
                    format!("unknown function '{name}' (expected strftime or geoDistance)"),
                    column,
                ));
            }
        };
        let open = self.peek_column();
        self.enter(column)?;
        self.eat(&TokenKind::LParen);
        let mut args = Vec::new();
        if !self.eat(&TokenKind::RParen) {
            loop {
                args.push(self.operand()?);
                match self.tokens.next() {
                    Some(Token {
                        kind: TokenKind::Comma,
                        ..
                    }) => {}
                    Some(Token {
                        kind: TokenKind::RParen,
                        ..
                    }) => break,
                    None => {
                        return Err(ParseError::new(format!("unclosed '(' of {name}"), open));
                    }
                    Some(token) => {
                        return Err(ParseError::new(
                            format!("expected ',' or ')' in {name}(...), found {}", token.kind),
                            token.column,
                        ));
                    }
                }
            }
        }
        self.leave();
        if args.len() < min || args.len() > max {
            let wanted = if min == max {
                format!("exactly {min}")
            } else {
                format!("at least {min}")
            };
            return Err(ParseError::new(
                format!("{name} takes {wanted} argument(s), got {}", args.len()),
                column,
            ));
        }
        Ok(make(args))
    }
}

/// A policy name: a letter or `_`, then letters, digits or `_` (at most 64).
pub fn is_policy_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
        && name.len() <= 64
}

/// An identifier token that is not a function name: a macro or an [`Ident`].
fn name_operand(text: &str, column: usize) -> Result<Operand, ParseError> {
    if let Some(m) = Macro::parse(text) {
        return Ok(Operand::Macro(m));
    }
    let head = text.split(['.', ':']).next().unwrap_or(text);
    if head.starts_with('@') && !matches!(head, "@request" | "@collection" | "@old") {
        let message = if Macro::parse(head).is_some() {
            format!("macro {head} takes no fields or modifiers")
        } else {
            format!("unknown macro or variable '{head}'")
        };
        return Err(ParseError::new(message, column));
    }
    parse_ident(text, column).map(Operand::Ident)
}

/// Splits `a.b.c:modifier` (or `@collection.name:alias.field`) into an
/// [`Ident`]. `column` is where `text` starts.
fn parse_ident(text: &str, column: usize) -> Result<Ident, ParseError> {
    // Column of the character at byte `offset` of `text`.
    let col_at = |offset: usize| column + text.get(..offset).map_or(0, |s| s.chars().count());

    let count = text.split('.').count();
    if count > MAX_PATH {
        return Err(ParseError::new(
            format!("identifier '{text}' has too many parts (max {MAX_PATH})"),
            column,
        ));
    }
    let is_collection = text.starts_with("@collection.") || text.starts_with("@collection:");
    if is_collection && count < 3 {
        return Err(ParseError::new(
            "@collection needs a collection name and a field, e.g. @collection.users.email",
            column,
        ));
    }
    if (text == "@request" || text.starts_with("@request:")) && count < 2 {
        return Err(ParseError::new(
            "@request needs a field, e.g. @request.auth.id",
            column,
        ));
    }

    if (text == "@old" || text.starts_with("@old:")) && count < 2 {
        return Err(ParseError::new(
            "@old needs a field, e.g. @old.status",
            column,
        ));
    }

    let mut ident = Ident {
        parts: Vec::with_capacity(count),
        alias: None,
        modifier: None,
    };
    let mut offset = 0;
    for (i, segment) in text.split('.').enumerate() {
        let (name, suffix) = match segment.split_once(':') {
            Some((name, suffix)) => (name, Some(suffix)),
            None => (segment, None),
        };
        if !is_valid_part(name, i == 0) {
            let what = if name.is_empty() {
                format!("empty part in identifier '{text}'")
            } else {
                format!("invalid identifier part '{name}' in '{text}'")
            };
            return Err(ParseError::new(what, col_at(offset)));
        }
        ident.parts.push(name.to_owned());
        if let Some(suffix) = suffix {
            let suffix_offset = offset + name.len() + 1;
            let suffix_col = col_at(suffix_offset);
            if i + 1 == count {
                ident.modifier = Some(Modifier::parse(suffix).ok_or_else(|| {
                    ParseError::new(
                        format!(
                            "unknown modifier ':{suffix}' (expected :each, :length, :lower, :isset or :changed)"
                        ),
                        suffix_col,
                    )
                })?);
            } else if is_collection && i == 1 {
                if !is_valid_part(suffix, false) {
                    return Err(ParseError::new(
                        format!("invalid alias '{suffix}' in '{text}'"),
                        suffix_col,
                    ));
                }
                ident.alias = Some(suffix.to_owned());
            } else {
                return Err(ParseError::new(
                    format!(
                        "':{suffix}' is only allowed at the end of an identifier (or as @collection.NAME:alias)"
                    ),
                    suffix_col,
                ));
            }
        }
        offset += segment.len() + 1;
    }
    Ok(ident)
}

/// `[A-Za-z0-9_]+`, with an optional leading `@` on the first part.
fn is_valid_part(part: &str, first: bool) -> bool {
    let word = match part.strip_prefix('@') {
        Some(rest) if first => rest,
        _ => part,
    };
    !word.is_empty() && word.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
}

#[cfg(test)]
#[path = "parser_tests.rs"]
mod tests;
