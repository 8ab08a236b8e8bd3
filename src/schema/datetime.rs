//! PocketBase's datetime wire format: `2006-01-02 15:04:05.000Z`, always UTC.
//!
//! Input is lenient the way PocketBase is: `T` or space separator, optional
//! fractional seconds, `Z` or numeric offsets (converted to UTC), or a bare date.

use time::format_description::BorrowedFormatItem;
use time::macros::format_description;
use time::{Date, OffsetDateTime, PrimitiveDateTime, UtcOffset};

const OUT: &[BorrowedFormatItem<'static>] =
    format_description!("[year]-[month]-[day] [hour]:[minute]:[second].[subsecond digits:3]Z");

/// Formats a timestamp in PocketBase's canonical form.
pub fn format(t: OffsetDateTime) -> String {
    t.to_offset(UtcOffset::UTC)
        .format(OUT)
        .unwrap_or_else(|_| String::new())
}

/// The current time in PocketBase's canonical form.
pub fn now() -> String {
    format(OffsetDateTime::now_utc())
}

/// Parses any accepted datetime input; `None` when it is not a date.
pub fn parse(input: &str) -> Option<OffsetDateTime> {
    let s = input.trim();
    if s.is_empty() {
        return None;
    }
    let norm = s.replacen(' ', "T", 1);
    if let Ok(t) = OffsetDateTime::parse(&norm, &time::format_description::well_known::Rfc3339) {
        return Some(t.to_offset(UtcOffset::UTC));
    }
    // Without an offset: treat as UTC.
    let naive_formats: [&[BorrowedFormatItem<'static>]; 4] = [
        format_description!("[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond]"),
        format_description!("[year]-[month]-[day]T[hour]:[minute]:[second]"),
        format_description!("[year]-[month]-[day]T[hour]:[minute]"),
        format_description!("[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond]Z"),
    ];
    for f in naive_formats {
        if let Ok(p) = PrimitiveDateTime::parse(&norm, f) {
            return Some(p.assume_utc());
        }
    }
    if let Ok(d) = Date::parse(s, format_description!("[year]-[month]-[day]")) {
        return Some(d.midnight().assume_utc());
    }
    None
}

/// Normalizes datetime input to the canonical string; `None` if invalid.
pub fn normalize(input: &str) -> Option<String> {
    parse(input).map(format)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalizes_accepted_inputs() {
        let cases = [
            ("2024-01-02 03:04:05.678Z", "2024-01-02 03:04:05.678Z"),
            ("2024-01-02T03:04:05Z", "2024-01-02 03:04:05.000Z"),
            ("2024-01-02T03:04:05+02:00", "2024-01-02 01:04:05.000Z"),
            ("2024-01-02", "2024-01-02 00:00:00.000Z"),
            ("2024-01-02 03:04:05", "2024-01-02 03:04:05.000Z"),
            ("2024-01-02T03:04:05.123456Z", "2024-01-02 03:04:05.123Z"),
        ];
        for (input, want) in cases {
            assert_eq!(normalize(input).as_deref(), Some(want), "{input}");
        }
    }

    #[test]
    fn rejects_garbage() {
        for bad in ["", "yesterday", "2024-13-01", "12:00"] {
            assert_eq!(normalize(bad), None, "{bad}");
        }
    }
}
