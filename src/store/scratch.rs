//! A throwaway in-memory database for tests outside `store/` that must
//! check what SQLite answers for SQL the compiler emitted (the filter's
//! constant folding is proven against it), without seeing the driver.

use crate::filter::compile::Param;

/// An in-memory SQLite connection.
pub struct Scratch(rusqlite::Connection);

impl Scratch {
    pub fn open() -> Self {
        Self(rusqlite::Connection::open_in_memory().expect("in-memory sqlite"))
    }

    /// The first column of the first row of `sql` as an integer.
    pub fn query_i64(&self, sql: &str, params: &[Param]) -> i64 {
        self.0
            .query_row(sql, rusqlite::params_from_iter(params.iter()), |r| r.get(0))
            .unwrap_or_else(|e| panic!("{sql}: {e}"))
    }
}
