//! The typed syntax tree of PocketBase's filter/rule language.
//!
//! `a.b:lower ?= 'x' && (@request.auth.id != '' || n > 5)` parses to
//! `And(Cmp{..}, Or(Cmp{..}, Cmp{..}))`. The tree knows no tables: names stay
//! names until a `Resolver` (in the store) gives them meaning.

/// A whole expression.
#[derive(Debug, Clone, PartialEq)]
pub enum Expr {
    And(Box<Expr>, Box<Expr>),
    Or(Box<Expr>, Box<Expr>),
    /// One comparison, e.g. `title ~ 'abc'`.
    Cmp {
        left: Operand,
        op: Op,
        right: Operand,
    },
    /// Cairn: a named policy, `@policy.is_owner`, standing for the rule
    /// saved under that name (expanded when compiled).
    Policy(String),
}

impl Expr {
    /// Names of the policies this expression references directly.
    pub fn policies(&self) -> Vec<&str> {
        let mut out = Vec::new();
        fn walk<'a>(e: &'a Expr, out: &mut Vec<&'a str>) {
            match e {
                Expr::And(a, b) | Expr::Or(a, b) => {
                    walk(a, out);
                    walk(b, out);
                }
                Expr::Policy(n) => out.push(n),
                Expr::Cmp { .. } => {}
            }
        }
        walk(self, &mut out);
        out
    }

    /// Every identifier operand, in order.
    pub fn idents(&self) -> Vec<&Ident> {
        fn operand<'a>(o: &'a Operand, out: &mut Vec<&'a Ident>) {
            match o {
                Operand::Ident(i) => out.push(i),
                Operand::Func(Func::Strftime(a) | Func::GeoDistance(a)) => {
                    a.iter().for_each(|o| operand(o, out))
                }
                _ => {}
            }
        }
        fn walk<'a>(e: &'a Expr, out: &mut Vec<&'a Ident>) {
            match e {
                Expr::And(a, b) | Expr::Or(a, b) => {
                    walk(a, out);
                    walk(b, out);
                }
                Expr::Cmp { left, right, .. } => {
                    operand(left, out);
                    operand(right, out);
                }
                Expr::Policy(_) => {}
            }
        }
        let mut out = Vec::new();
        walk(self, &mut out);
        out
    }
}

/// Comparison operators. `Any*` are the `?`-prefixed "at least one" forms.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    Eq,
    Neq,
    Gt,
    Gte,
    Lt,
    Lte,
    Like,
    NotLike,
    AnyEq,
    AnyNeq,
    AnyGt,
    AnyGte,
    AnyLt,
    AnyLte,
    AnyLike,
    AnyNotLike,
}

impl Op {
    /// Every operator.
    pub const ALL: [Op; 16] = [
        Op::Eq,
        Op::Neq,
        Op::Gt,
        Op::Gte,
        Op::Lt,
        Op::Lte,
        Op::Like,
        Op::NotLike,
        Op::AnyEq,
        Op::AnyNeq,
        Op::AnyGt,
        Op::AnyGte,
        Op::AnyLt,
        Op::AnyLte,
        Op::AnyLike,
        Op::AnyNotLike,
    ];

    /// The operator as written in the language.
    pub fn as_str(self) -> &'static str {
        match self {
            Op::Eq => "=",
            Op::Neq => "!=",
            Op::Gt => ">",
            Op::Gte => ">=",
            Op::Lt => "<",
            Op::Lte => "<=",
            Op::Like => "~",
            Op::NotLike => "!~",
            Op::AnyEq => "?=",
            Op::AnyNeq => "?!=",
            Op::AnyGt => "?>",
            Op::AnyGte => "?>=",
            Op::AnyLt => "?<",
            Op::AnyLte => "?<=",
            Op::AnyLike => "?~",
            Op::AnyNotLike => "?!~",
        }
    }

    /// Is this one of the `?` (any-of) operators?
    pub fn is_any(self) -> bool {
        matches!(
            self,
            Op::AnyEq
                | Op::AnyNeq
                | Op::AnyGt
                | Op::AnyGte
                | Op::AnyLt
                | Op::AnyLte
                | Op::AnyLike
                | Op::AnyNotLike
        )
    }

    /// The plain operator of an any-of operator (and itself otherwise).
    pub fn base(self) -> Op {
        match self {
            Op::AnyEq => Op::Eq,
            Op::AnyNeq => Op::Neq,
            Op::AnyGt => Op::Gt,
            Op::AnyGte => Op::Gte,
            Op::AnyLt => Op::Lt,
            Op::AnyLte => Op::Lte,
            Op::AnyLike => Op::Like,
            Op::AnyNotLike => Op::NotLike,
            other => other,
        }
    }
}

/// One side of a comparison.
#[derive(Debug, Clone, PartialEq)]
pub enum Operand {
    Str(String),
    Num(f64),
    Bool(bool),
    Null,
    /// `@now`, `@todayStart`, ...
    Macro(Macro),
    /// A dotted name with an optional trailing modifier: `author.name:lower`,
    /// `@request.auth.id`, `@collection.users:u.email`, `tags:each`.
    Ident(Ident),
    /// `strftime(format, operand, ...)` or `geoDistance(lonA, latA, lonB, latB)`.
    Func(Func),
}

/// Datetime macros, resolved to UTC strings at request time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Macro {
    Now,
    Second,
    Minute,
    Hour,
    Weekday,
    Day,
    Month,
    Year,
    TodayStart,
    TodayEnd,
    MonthStart,
    MonthEnd,
    YearStart,
    YearEnd,
    Yesterday,
    Tomorrow,
}

impl Macro {
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "@now" => Macro::Now,
            "@second" => Macro::Second,
            "@minute" => Macro::Minute,
            "@hour" => Macro::Hour,
            "@weekday" => Macro::Weekday,
            "@day" => Macro::Day,
            "@month" => Macro::Month,
            "@year" => Macro::Year,
            "@todayStart" => Macro::TodayStart,
            "@todayEnd" => Macro::TodayEnd,
            "@monthStart" => Macro::MonthStart,
            "@monthEnd" => Macro::MonthEnd,
            "@yearStart" => Macro::YearStart,
            "@yearEnd" => Macro::YearEnd,
            "@yesterday" => Macro::Yesterday,
            "@tomorrow" => Macro::Tomorrow,
            _ => return None,
        })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Macro::Now => "@now",
            Macro::Second => "@second",
            Macro::Minute => "@minute",
            Macro::Hour => "@hour",
            Macro::Weekday => "@weekday",
            Macro::Day => "@day",
            Macro::Month => "@month",
            Macro::Year => "@year",
            Macro::TodayStart => "@todayStart",
            Macro::TodayEnd => "@todayEnd",
            Macro::MonthStart => "@monthStart",
            Macro::MonthEnd => "@monthEnd",
            Macro::YearStart => "@yearStart",
            Macro::YearEnd => "@yearEnd",
            Macro::Yesterday => "@yesterday",
            Macro::Tomorrow => "@tomorrow",
        }
    }
}

/// Trailing modifiers on an identifier.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Modifier {
    Each,
    Length,
    Lower,
    Isset,
    Changed,
}

impl Modifier {
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "each" => Modifier::Each,
            "length" => Modifier::Length,
            "lower" => Modifier::Lower,
            "isset" => Modifier::Isset,
            "changed" => Modifier::Changed,
            _ => return None,
        })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Modifier::Each => "each",
            Modifier::Length => "length",
            Modifier::Lower => "lower",
            Modifier::Isset => "isset",
            Modifier::Changed => "changed",
        }
    }
}

/// A dotted identifier. `@collection.users:u.email` is
/// `parts = ["@collection", "users", "email"]`, `alias = Some("u")`.
#[derive(Debug, Clone, PartialEq)]
pub struct Ident {
    pub parts: Vec<String>,
    /// `:alias` after the collection name of an `@collection` reference.
    pub alias: Option<String>,
    pub modifier: Option<Modifier>,
}

/// Function calls.
#[derive(Debug, Clone, PartialEq)]
pub enum Func {
    /// `strftime(format, time, modifiers...)`.
    Strftime(Vec<Operand>),
    /// `geoDistance(lonA, latA, lonB, latB)` in kilometres.
    GeoDistance(Vec<Operand>),
}

/// Limits that keep parsing and the generated SQL bounded.
pub mod limits {
    /// Longest accepted expression, in bytes.
    pub const MAX_LEN: usize = 8 * 1024;
    /// Deepest nesting of parentheses.
    pub const MAX_DEPTH: usize = 32;
    /// Most comparisons in one expression.
    pub const MAX_EXPRS: usize = 200;
    /// Most joined relations/collections in one compiled expression.
    pub const MAX_JOINS: usize = 40;
    /// Most dotted parts in one identifier (relation chains).
    pub const MAX_PATH: usize = 8;
}

/// What a request brings to rule evaluation (`@request.*`). Plain data, so
/// the filter module stays free of HTTP and storage types.
#[derive(Debug, Clone, Default)]
pub struct RequestInfo {
    /// The authenticated record's fields, or `None` for guests.
    pub auth: Option<AuthInfo>,
    /// Submitted body fields (already decoded).
    pub body: serde_json::Map<String, serde_json::Value>,
    /// Query parameters.
    pub query: RequestMap,
    /// Headers, keys lower-cased with `-` replaced by `_`.
    pub headers: RequestMap,
    pub method: String,
    /// `default`, `oauth2`, `otp`, `password`, `realtime`, `protectedFile`.
    pub context: String,
}

/// `@request.query` or `@request.headers`: made into a map the first time
/// something reads it. Few requests have a rule that reads either, and
/// building both maps for every request (a key and a value copied per
/// header) cost about 5 % of a small read.
pub struct RequestMap {
    make: Option<Box<dyn Fn() -> serde_json::Map<String, serde_json::Value> + Send + Sync>>,
    made: std::sync::OnceLock<serde_json::Map<String, serde_json::Value>>,
}

impl RequestMap {
    /// A map made by `make` when first read (at most once).
    pub fn deferred(
        make: impl Fn() -> serde_json::Map<String, serde_json::Value> + Send + Sync + 'static,
    ) -> Self {
        Self {
            make: Some(Box::new(make)),
            made: std::sync::OnceLock::new(),
        }
    }

    /// The map.
    pub fn map(&self) -> &serde_json::Map<String, serde_json::Value> {
        self.made
            .get_or_init(|| self.make.as_ref().map(|m| m()).unwrap_or_default())
    }

    pub fn get(&self, key: &str) -> Option<&serde_json::Value> {
        self.map().get(key)
    }
}

impl From<serde_json::Map<String, serde_json::Value>> for RequestMap {
    fn from(map: serde_json::Map<String, serde_json::Value>) -> Self {
        Self {
            make: None,
            made: map.into(),
        }
    }
}

impl Default for RequestMap {
    fn default() -> Self {
        serde_json::Map::new().into()
    }
}

/// A clone holds the made map (the maker is not cloneable).
impl Clone for RequestMap {
    fn clone(&self) -> Self {
        self.map().clone().into()
    }
}

impl std::fmt::Debug for RequestMap {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.map().fmt(f)
    }
}

/// The authenticated record behind a request.
#[derive(Debug, Clone)]
pub struct AuthInfo {
    pub collection_id: String,
    pub collection_name: String,
    pub record: std::sync::Arc<serde_json::Map<String, serde_json::Value>>,
    /// Cairn: names of the roles assigned to the record.
    pub roles: std::sync::Arc<[String]>,
}
