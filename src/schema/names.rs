//! Validated names and ids ("parse, don't validate").
//!
//! Every identifier that reaches SQL is one of these types, so inner layers can
//! quote them without re-checking: a `CollectionName` or `FieldName` only ever
//! holds `[A-Za-z0-9_]`, and a `RecordId` only `[a-z0-9]` (or the wider set
//! allowed for custom ids).

use rand::RngExt;
use std::fmt;

/// Largest collection name PocketBase accepts.
pub const MAX_COLLECTION_NAME: usize = 255;
/// Largest field name PocketBase accepts.
pub const MAX_FIELD_NAME: usize = 255;
/// Length of generated record ids.
pub const RECORD_ID_LEN: usize = 15;

const ID_ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";

/// Why a name was rejected; the caller turns it into a validation error.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NameError {
    Blank,
    TooLong(usize),
    InvalidFormat,
}

fn is_word(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

fn check_word(s: &str, max: usize) -> Result<(), NameError> {
    if s.is_empty() {
        return Err(NameError::Blank);
    }
    if s.len() > max {
        return Err(NameError::TooLong(max));
    }
    if !is_word(s) {
        return Err(NameError::InvalidFormat);
    }
    Ok(())
}

/// A collection (and table) name: `^\w+$`, at most 255 bytes.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct CollectionName(String);

impl CollectionName {
    pub fn parse(s: &str) -> Result<Self, NameError> {
        check_word(s, MAX_COLLECTION_NAME)?;
        Ok(Self(s.to_owned()))
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for CollectionName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A field (and column) name: `^\w+$`, at most 255 bytes.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct FieldName(String);

impl FieldName {
    pub fn parse(s: &str) -> Result<Self, NameError> {
        check_word(s, MAX_FIELD_NAME)?;
        Ok(Self(s.to_owned()))
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Quotes a validated identifier for SQL. Names are `\w+` already; doubling
/// quotes keeps this safe even if a caller forgets to validate.
pub fn quote_ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// A random string over `[a-z0-9]`.
pub fn random_id(len: usize) -> String {
    let mut rng = rand::rng();
    (0..len)
        .map(|_| ID_ALPHABET[rng.random_range(0..ID_ALPHABET.len())] as char)
        .collect()
}

/// A new 15-character record id.
pub fn new_record_id() -> String {
    random_id(RECORD_ID_LEN)
}

/// A random string over `[A-Za-z0-9]` for secrets and token keys.
pub fn random_secret(len: usize) -> String {
    const ALPHA: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    let mut rng = rand::rng();
    (0..len)
        .map(|_| ALPHA[rng.random_range(0..ALPHA.len())] as char)
        .collect()
}

/// A collection id the way PocketBase derives it: `pbc_` + crc32(type + name).
pub fn new_collection_id(kind: &str, name: &str) -> String {
    format!(
        "pbc_{}",
        crc32fast::hash(format!("{kind}{name}").as_bytes())
    )
}

/// A field id in PocketBase's style: type name + crc32 of the field name.
pub fn field_id(kind: &str, name: &str) -> String {
    format!("{kind}{}", crc32fast::hash(name.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_words() {
        assert!(CollectionName::parse("posts_2").is_ok());
        assert!(CollectionName::parse("select").is_ok());
        assert_eq!(
            CollectionName::parse("bad\"name"),
            Err(NameError::InvalidFormat)
        );
        assert_eq!(CollectionName::parse("a b"), Err(NameError::InvalidFormat));
        assert_eq!(CollectionName::parse(""), Err(NameError::Blank));
        assert_eq!(
            CollectionName::parse(&"a".repeat(256)),
            Err(NameError::TooLong(255))
        );
    }

    #[test]
    fn ids_have_the_right_shape() {
        let id = new_record_id();
        assert_eq!(id.len(), 15);
        assert!(
            id.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
        );
        assert!(new_collection_id("base", "x").starts_with("pbc_"));
    }

    #[test]
    fn quoting_doubles_quotes() {
        assert_eq!(quote_ident("a\"b"), "\"a\"\"b\"");
    }
}
