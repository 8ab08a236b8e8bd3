//! Pure schema values: collections, fields, names, datetimes and the
//! coercion/validation of field values. No I/O, no axum, no database driver.

pub mod collection;
pub mod datetime;
pub mod field;
pub mod field_check;
pub mod index;
pub mod names;
pub mod system;
pub mod validate;
pub mod value;
pub mod view_query;

pub use collection::{Access, Collection, CollectionKind, RuleKind};
pub use field::{Field, FieldKind};
