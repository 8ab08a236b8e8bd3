//! PocketBase's datetime wire format: `2006-01-02 15:04:05.000Z`, always UTC.
//!
//! Input is lenient the way PocketBase is: `T` or space separator, optional
//! fractional seconds, `Z` or numeric offsets (`+02:00`, `+0200`, optionally
//! after a space; converted to UTC), or a bare date. A time without seconds
//! is not a date (PocketBase stores `""` for it).

use time::format_description::BorrowedFormatItem;
use time::macros::format_description;
use time::{Date, OffsetDateTime, PrimitiveDateTime, UtcOffset};

const OUT: &[BorrowedFormatItem<'static>] =
    format_description!("[year]-[month]-[day] [hour]:[minute]:[second].[subsecond digits:3]Z");

/// Formats a timestamp in PocketBase's canonical form.
pub fn format(t: OffsetDateTime) -> String {
    let t = t.to_offset(UtcOffset::UTC);
    // (`time` holds years -9999 to 9999: only negative ones take the
    // format-description path.)
    if (0..=9999).contains(&t.year()) {
        // `format_into` writes the same digits without the time crate's
        // format-description walk (a create formats three timestamps).
        let mut out = String::with_capacity(24);
        format_into(t, &mut out);
        return out;
    }
    t.format(OUT).unwrap_or_else(|_| String::new())
}

/// Appends `t` in PocketBase's canonical form to `out` (no allocation
/// when `out` has room; the request-log writer reuses one buffer).
pub fn format_into(t: OffsetDateTime, out: &mut String) {
    let t = t.to_offset(UtcOffset::UTC);
    let mut push = |v: u32, width: u32, sep: char| {
        for i in (0..width).rev() {
            out.push(char::from(b'0' + (v / 10u32.pow(i) % 10) as u8));
        }
        out.push(sep);
    };
    push(t.year().clamp(0, 9999) as u32, 4, '-');
    push(u8::from(t.month()).into(), 2, '-');
    push(t.day().into(), 2, ' ');
    push(t.hour().into(), 2, ':');
    push(t.minute().into(), 2, ':');
    push(t.second().into(), 2, '.');
    push(t.millisecond().into(), 3, 'Z');
}

/// The current time in PocketBase's canonical form.
pub fn now() -> String {
    format(OffsetDateTime::now_utc())
}

/// Splits a trailing `Z` / `±hh:mm` / `±hhmm` / `±hh` offset off `s`.
fn split_offset(s: &str) -> (&str, Option<UtcOffset>) {
    if let Some(rest) = s.strip_suffix('Z').or_else(|| s.strip_suffix('z')) {
        return (rest.trim_end(), Some(UtcOffset::UTC));
    }
    // The offset sign must come after the time part (the date has '-' too).
    let Some(tpos) = s.find(['T', 't', ' ']) else {
        return (s, None);
    };
    let time_part = &s[tpos + 1..];
    let Some(rel) = time_part.rfind(['+', '-']) else {
        return (s, None);
    };
    let at = tpos + 1 + rel;
    let (head, off) = s.split_at(at);
    let sign = if off.starts_with('-') { -1 } else { 1 };
    let digits: String = off[1..].chars().filter(|c| *c != ':').collect();
    if !digits.bytes().all(|b| b.is_ascii_digit()) || !matches!(digits.len(), 2 | 4) {
        return (s, None);
    }
    let h: i8 = digits[..2].parse().unwrap_or(0);
    let m: i8 = digits.get(2..4).and_then(|x| x.parse().ok()).unwrap_or(0);
    match UtcOffset::from_hms(sign * h, sign * m, 0) {
        Ok(o) => (head.trim_end(), Some(o)),
        Err(_) => (s, None),
    }
}

/// Parses any accepted datetime input; `None` when it is not a date.
pub fn parse(input: &str) -> Option<OffsetDateTime> {
    let s = input.trim();
    if s.is_empty() {
        return None;
    }
    if s.len() == 10 {
        return Date::parse(s, format_description!("[year]-[month]-[day]"))
            .ok()
            .map(|d| d.midnight().assume_utc());
    }
    let (head, offset) = split_offset(s);
    let norm = head.replacen([' ', 't'], "T", 1);
    let formats: [&[BorrowedFormatItem<'static>]; 2] = [
        format_description!("[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond]"),
        format_description!("[year]-[month]-[day]T[hour]:[minute]:[second]"),
    ];
    let p = formats
        .iter()
        .find_map(|f| PrimitiveDateTime::parse(&norm, f).ok())?;
    Some(
        p.assume_offset(offset.unwrap_or(UtcOffset::UTC))
            .to_offset(UtcOffset::UTC),
    )
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
            ("2024-05-06 07:08:09 +0200", "2024-05-06 05:08:09.000Z"),
            ("2024-05-06 07:08:09-01:30", "2024-05-06 08:38:09.000Z"),
            ("2024-01-02", "2024-01-02 00:00:00.000Z"),
            ("2024-01-02 03:04:05", "2024-01-02 03:04:05.000Z"),
            ("2024-01-02T03:04:05.123456Z", "2024-01-02 03:04:05.123Z"),
            ("2024-01-02T03:04:05.1Z", "2024-01-02 03:04:05.100Z"),
        ];
        for (input, want) in cases {
            assert_eq!(normalize(input).as_deref(), Some(want), "{input}");
        }
    }

    #[test]
    fn format_writes_what_the_format_description_writes() {
        for input in [
            "2024-01-02 03:04:05.678Z",
            "1999-12-31 23:59:59.001Z",
            "0001-01-01 00:00:00.000Z",
            "9999-12-31 23:59:59.999Z",
            "2024-06-30 12:00:00.050+05:30",
        ] {
            let t = parse(input).expect("valid");
            let by_time = t.to_offset(UtcOffset::UTC).format(OUT).expect("format");
            assert_eq!(format(t), by_time, "{input}");
            let mut out = String::from("x");
            format_into(t, &mut out);
            assert_eq!(out, format!("x{by_time}"));
        }
    }

    #[test]
    fn rejects_garbage() {
        for bad in [
            "",
            "yesterday",
            "2024-13-01",
            "12:00",
            "2024-05-06 07:08",
            "2024-02-30",
            "1700000000",
        ] {
            assert_eq!(normalize(bad), None, "{bad}");
        }
    }
}
