//! PocketBase's filter and rule language, as a pure module.
//!
//! The same small language filters lists, guards every record operation as
//! an API rule and decides who receives which realtime event, so it lives
//! here once, with no I/O, no HTTP and no database:
//!
//! - [`lexer`]: characters -> tokens, each with the column where it starts.
//! - [`parser`]: tokens -> the typed tree in [`ast`], enforcing the named
//!   limits in [`ast::limits`] so no input can make it slow or deep.
//! - [`print`](mod@print): tree -> canonical text that parses back to the same tree.
//! - `compile` (next): tree -> SQL, asking a resolver what names mean;
//!   `fold` decides comparisons of request values before the query runs.
//!
//! Why the split: the parser knows no tables and the resolver knows no
//! syntax. A name like `author.name:lower` stays a name until the resolver
//! (in the store, which knows the schema) turns it into a column or a join;
//! the output is SQL text plus numbered bound parameters, never a value
//! spliced into SQL, which is what keeps the language injection-proof.

pub mod ast;
pub mod cache;
pub mod compile;
mod fold;
pub mod lexer;
pub mod parser;
pub mod print;
pub mod typed;

pub use ast::Expr;
pub use cache::parse_cached;
pub use parser::{ParseError, parse};
