//! SQL functions the filter language compiles to on PostgreSQL.
//!
//! On SQLite `strftime` is built in and `cairn_geo_distance` is registered
//! on each connection (`store/pool.rs`); PostgreSQL has neither, so the
//! bootstrap installs both (`CREATE OR REPLACE`, idempotent). They follow
//! SQLite's semantics, which PocketBase's filters rest on: a time that does
//! not parse, an unknown modifier or format gives NULL; the distance treats
//! an empty coordinate as 0 (`tests/sdk/filters_differential.test.mjs`
//! compares both against PocketBase).
//!
//! The `cairn_key` type and the functions after it give comparisons and
//! sorts SQLite's dynamic typing (`filter/typed.rs`): a key is a class (1
//! for numbers and booleans, 2 for text, arrays and objects), a number and
//! a text compared byte by byte, so `1` and `"1"` differ and every number
//! sorts before every string, as `json_extract` results do on SQLite.
//! `cairn_num` reads text as SQLite's numeric affinity does (NaN, which
//! sorts above every number, when it is not a number).

pub const FUNCTIONS: &str = r#"
CREATE OR REPLACE FUNCTION cairn_geo_distance(lon1 text, lat1 text, lon2 text, lat2 text)
RETURNS double precision LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $f$
    SELECT 6371.0 * 2.0 * atan2(sqrt(a), sqrt(1.0 - a)) FROM (
        SELECT sin(radians(y2 - y1) / 2.0) ^ 2
            + cos(radians(y1)) * cos(radians(y2)) * sin(radians(x2 - x1) / 2.0) ^ 2 AS a
        FROM (SELECT coalesce(nullif(lon1, '')::float8, 0) AS x1, coalesce(nullif(lat1, '')::float8, 0) AS y1,
                     coalesce(nullif(lon2, '')::float8, 0) AS x2, coalesce(nullif(lat2, '')::float8, 0) AS y2) p
    ) q
$f$;
CREATE OR REPLACE FUNCTION cairn_strftime(fmt text, t text DEFAULT 'now', VARIADIC mods text[] DEFAULT '{}')
RETURNS text LANGUAGE plpgsql STABLE PARALLEL SAFE AS $f$
DECLARE
    ts timestamp;
    m text;
    out text := '';
    i int := 1;
    c text;
BEGIN
    IF fmt IS NULL OR t IS NULL OR t = '' THEN RETURN NULL; END IF;
    BEGIN
        IF lower(t) = 'now' THEN
            ts := clock_timestamp() AT TIME ZONE 'UTC';
        ELSIF 'unixepoch' = ANY (mods) THEN
            ts := to_timestamp(t::float8) AT TIME ZONE 'UTC';
        ELSE
            ts := t::timestamptz AT TIME ZONE 'UTC';
        END IF;
    EXCEPTION WHEN others THEN
        RETURN NULL;
    END;
    FOREACH m IN ARRAY mods LOOP
        m := lower(trim(m));
        IF m = 'unixepoch' OR m = 'utc' THEN
            CONTINUE;
        ELSIF m IN ('start of day', 'start of month', 'start of year') THEN
            ts := date_trunc(substr(m, 10), ts);
        ELSIF m ~ '^[+-]?[0-9.]+ +(second|minute|hour|day|month|year)s?$' THEN
            ts := ts + m::interval;
        ELSE
            RETURN NULL;
        END IF;
    END LOOP;
    WHILE i <= length(fmt) LOOP
        c := substr(fmt, i, 1);
        IF c <> '%' THEN
            out := out || c;
        ELSE
            i := i + 1;
            c := substr(fmt, i, 1);
            out := out || CASE c
                WHEN 'Y' THEN to_char(ts, 'YYYY')
                WHEN 'm' THEN to_char(ts, 'MM')
                WHEN 'd' THEN to_char(ts, 'DD')
                WHEN 'H' THEN to_char(ts, 'HH24')
                WHEN 'M' THEN to_char(ts, 'MI')
                WHEN 'S' THEN to_char(ts, 'SS')
                WHEN 'f' THEN to_char(ts, 'SS.MS')
                WHEN 'j' THEN to_char(ts, 'DDD')
                WHEN 'w' THEN extract(dow FROM ts)::int::text
                WHEN 's' THEN floor(extract(epoch FROM ts))::bigint::text
                WHEN '%' THEN '%'
                ELSE NULL
            END;
            IF out IS NULL THEN RETURN NULL; END IF;
        END IF;
        i := i + 1;
    END LOOP;
    RETURN out;
END
$f$;
DO $d$ BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_type WHERE typname = 'cairn_key') THEN
        CREATE TYPE cairn_key AS (c int, n float8, t text COLLATE "C");
    END IF;
END $d$;
CREATE OR REPLACE FUNCTION cairn_nkey(x float8)
RETURNS cairn_key LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $f$
    SELECT CASE WHEN x IS NOT NULL THEN ROW(1, x, '')::cairn_key END
$f$;
CREATE OR REPLACE FUNCTION cairn_tkey(x text)
RETURNS cairn_key LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $f$
    SELECT CASE WHEN x IS NOT NULL THEN ROW(2, 0, x)::cairn_key END
$f$;
CREATE OR REPLACE FUNCTION cairn_jkey(v jsonb)
RETURNS cairn_key LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $f$
    SELECT CASE jsonb_typeof(v)
        WHEN 'number' THEN ROW(1, (v #>> '{}')::float8, '')::cairn_key
        WHEN 'boolean' THEN ROW(1, CASE WHEN v = 'true'::jsonb THEN 1 ELSE 0 END, '')::cairn_key
        WHEN 'string' THEN ROW(2, 0, v #>> '{}')::cairn_key
        WHEN 'array' THEN ROW(2, 0, v::text)::cairn_key
        WHEN 'object' THEN ROW(2, 0, v::text)::cairn_key
    END
$f$;
CREATE OR REPLACE FUNCTION cairn_num(x text)
RETURNS float8 LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $f$
    SELECT CASE
        WHEN x IS NULL THEN NULL
        WHEN x ~ '^\s*[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?\s*$' THEN x::float8
        ELSE 'NaN'::float8
    END
$f$;
CREATE OR REPLACE FUNCTION cairn_jnum(v jsonb)
RETURNS float8 LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $f$
    SELECT CASE jsonb_typeof(v)
        WHEN 'number' THEN (v #>> '{}')::float8
        WHEN 'boolean' THEN CASE WHEN v = 'true'::jsonb THEN 1 ELSE 0 END
        WHEN 'string' THEN cairn_num(v #>> '{}')
        WHEN 'array' THEN 'NaN'::float8
        WHEN 'object' THEN 'NaN'::float8
    END
$f$;
"#;

/// A REAL as SQLite writes it as text (`printf("%!.15g")`): 15 significant
/// digits, a whole number keeps `.0` (`10.0`), exponents from 1e15 and
/// below 1e-4 (`1.0e+20`). A text column compared with a number reads it
/// so on SQLite, where PocketBase's `name = 10` compares with '10.0'.
pub fn real_text(f: f64) -> String {
    if !f.is_finite() {
        return if f.is_nan() {
            String::new()
        } else if f > 0.0 {
            "Inf".into()
        } else {
            "-Inf".into()
        };
    }
    let sci = format!("{f:.14e}");
    let (mantissa, exp) = sci.split_once('e').unwrap_or((&sci, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let trim = |m: &str| -> String {
        if !m.contains('.') {
            return format!("{m}.0");
        }
        let m = m.trim_end_matches('0');
        if m.ends_with('.') {
            format!("{m}0")
        } else {
            m.to_owned()
        }
    };
    if !(-4..15).contains(&exp) {
        let sign = if exp < 0 { '-' } else { '+' };
        return format!("{}e{sign}{:02}", trim(mantissa), exp.abs());
    }
    let decimals = usize::try_from(14 - exp).unwrap_or(0);
    trim(&format!("{f:.decimals$}"))
}

#[cfg(test)]
mod tests {
    use super::real_text;

    #[test]
    fn reals_read_as_sqlite_writes_them() {
        let cases = [
            (10.0, "10.0"),
            (1.5, "1.5"),
            (-1.0, "-1.0"),
            (0.0, "0.0"),
            (0.1 + 0.2, "0.3"),
            (1e20, "1.0e+20"),
            (100.0, "100.0"),
            (123456789012345.0, "123456789012345.0"),
            (1234567890123456.0, "1.23456789012346e+15"),
            (0.0001, "0.0001"),
            (0.00001, "1.0e-05"),
            (2.5e-7, "2.5e-07"),
        ];
        for (f, want) in cases {
            assert_eq!(real_text(f), want, "{f}");
        }
    }
}
