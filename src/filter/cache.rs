//! Parsed expressions, cached by their text.
//!
//! API rules are the same few strings on every request; parsing them once
//! keeps the hot path to compiling (which binds this request's values) and
//! running. Parsing knows no schema, so the text alone is the key; a schema
//! change needs no invalidation. The cache is bounded and cleared when full.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

use super::ast::Expr;
use super::parser::{ParseError, parse};

/// Most distinct expressions kept (rules plus recent filters).
pub const CAPACITY: usize = 1024;

type Cache = Mutex<HashMap<String, Arc<Expr>>>;

fn cache() -> &'static Cache {
    static CACHE: OnceLock<Cache> = OnceLock::new();
    CACHE.get_or_init(|| Mutex::new(HashMap::new()))
}

/// Parses `text`, reusing an earlier parse of the same text.
pub fn parse_cached(text: &str) -> Result<Arc<Expr>, ParseError> {
    if let Ok(map) = cache().lock()
        && let Some(e) = map.get(text)
    {
        return Ok(Arc::clone(e));
    }
    let expr = Arc::new(parse(text)?);
    if let Ok(mut map) = cache().lock() {
        if map.len() >= CAPACITY {
            map.clear();
        }
        map.insert(text.to_owned(), Arc::clone(&expr));
    }
    Ok(expr)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_text_same_tree() {
        let a = parse_cached("a = 1 && b ~ 'x'").expect("parses");
        let b = parse_cached("a = 1 && b ~ 'x'").expect("parses");
        assert!(Arc::ptr_eq(&a, &b));
        assert!(parse_cached("(((").is_err());
    }
}
