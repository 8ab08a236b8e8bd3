//! SQL functions the filter language compiles to on PostgreSQL.
//!
//! On SQLite `strftime` is built in and `cairn_geo_distance` is registered
//! on each connection (`store/pool.rs`); PostgreSQL has neither, so the
//! bootstrap installs both (`CREATE OR REPLACE`, idempotent). They follow
//! SQLite's semantics, which PocketBase's filters rest on: a time that does
//! not parse, an unknown modifier or format gives NULL; the distance treats
//! an empty coordinate as 0 (`tests/sdk/filters_differential.test.mjs`
//! compares both against PocketBase).

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
"#;
