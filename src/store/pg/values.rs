//! Values in and out of PostgreSQL: a [`Val`] is bound as the server's
//! inferred parameter type (`ToSql`: e.g. `Val::Int` as `boolean`, a
//! filter's text as a float beside a number column), and a column is read
//! by its type ([`PgRow`]: the driver-neutral [`Row`] over a
//! `tokio_postgres::Row`), so store code reads `int` or `text` the same way
//! on both engines.

use bytes::{BufMut, BytesMut};
use tokio_postgres::types::{FromSql, IsNull, ToSql, Type, to_sql_checked};

use super::{BoxError, functions};
use crate::store::StoreError;
use crate::store::sql::{Cell as SqlCell, Row, Val};

impl ToSql for Val<'_> {
    fn to_sql(&self, ty: &Type, out: &mut BytesMut) -> Result<IsNull, BoxError> {
        if let Val::Owned(s) = self {
            return Val::Text(s).to_sql(ty, out);
        }
        match (self.clone(), ty) {
            (Val::Null, _) => return Ok(IsNull::Yes),
            (Val::Int(n), &Type::BOOL) => (n != 0).to_sql(ty, out)?,
            (Val::Int(n), &Type::INT2) => i16::try_from(n)?.to_sql(ty, out)?,
            (Val::Int(n), &Type::INT4) => i32::try_from(n)?.to_sql(ty, out)?,
            (Val::Int(n), &Type::INT8) => n.to_sql(ty, out)?,
            (Val::Int(n), &Type::FLOAT8) => (n as f64).to_sql(ty, out)?,
            (Val::Int(n), &Type::FLOAT4) => (n as f32).to_sql(ty, out)?,
            (Val::Real(f), &Type::FLOAT8) => f.to_sql(ty, out)?,
            // A filter's number literal (a float, as PocketBase binds it)
            // against a bool or integer column: whole numbers bind as such.
            (Val::Real(f), &Type::BOOL) if f == 0.0 || f == 1.0 => (f != 0.0).to_sql(ty, out)?,
            (Val::Real(f), &Type::INT8 | &Type::INT4 | &Type::INT2)
                if f.fract() == 0.0 && f.abs() < 9.0e15 =>
            {
                Val::Int(f as i64).to_sql(ty, out)?
            }
            (Val::Real(f), &Type::FLOAT4) => (f as f32).to_sql(ty, out)?,
            // A filter comparing a number column with text (`n > "9"`):
            // SQLite's numeric affinity reads numeric text as the number;
            // other text sorts after every number, as NaN does here.
            (Val::Text(s), &Type::FLOAT8) => s
                .trim()
                .parse::<f64>()
                .unwrap_or(f64::NAN)
                .to_sql(ty, out)?,
            (Val::Text(s), &Type::JSONB) => {
                out.put_u8(1);
                // A filter comparing a JSON column with plain text (`tags =
                // 'b'`) binds the text as a JSON string, so it compares as
                // SQLite's stored text does (never equal to an array).
                if serde_json::from_str::<serde::de::IgnoredAny>(s).is_ok() {
                    out.put_slice(s.as_bytes());
                } else {
                    out.put_slice(serde_json::Value::from(s).to_string().as_bytes());
                }
                IsNull::No
            }
            (Val::Text(s), &Type::JSONPATH) => {
                // jsonpath's binary form: a version byte, then the text.
                out.put_u8(1);
                out.put_slice(s.as_bytes());
                IsNull::No
            }
            (Val::Text(s), &Type::TEXT | &Type::VARCHAR | &Type::BPCHAR | &Type::NAME)
            | (Val::Text(s), &Type::JSON | &Type::UNKNOWN) => {
                out.put_slice(s.as_bytes());
                IsNull::No
            }
            (Val::Int(n), &Type::TEXT | &Type::VARCHAR) => n.to_string().to_sql(ty, out)?,
            // As SQLite writes a REAL as text (`10.0`, 15 digits).
            (Val::Real(f), &Type::TEXT | &Type::VARCHAR) => {
                functions::real_text(f).to_sql(ty, out)?
            }
            (Val::Blob(b), &Type::BYTEA) => b.to_sql(ty, out)?,
            (v, ty) => return Err(format!("cannot bind {v:?} as {ty}").into()),
        };
        Ok(IsNull::No)
    }

    fn accepts(_: &Type) -> bool {
        true
    }

    to_sql_checked!();
}

/// A column's type and raw bytes, decoded on demand.
struct Cell<'a>(Option<&'a [u8]>, Type);

impl<'a> FromSql<'a> for Cell<'a> {
    fn from_sql(ty: &Type, raw: &'a [u8]) -> Result<Self, BoxError> {
        Ok(Cell(Some(raw), ty.clone()))
    }

    fn from_sql_null(ty: &Type) -> Result<Self, BoxError> {
        Ok(Cell(None, ty.clone()))
    }

    fn accepts(_: &Type) -> bool {
        true
    }
}

pub(super) fn json_cell(row: &tokio_postgres::Row, i: usize) -> serde_json::Value {
    use serde_json::Value;
    match PgRow(row).cell(i) {
        Ok(SqlCell::Null) => Value::Null,
        Ok(SqlCell::Int(n)) => n.into(),
        Ok(SqlCell::Real(f)) => f.into(),
        Ok(SqlCell::Text(t)) => String::from_utf8_lossy(t).into_owned().into(),
        Ok(SqlCell::Blob(b)) => format!("<{} bytes>", b.len()).into(),
        Err(_) => other_cell(row, i),
    }
}

/// Console values of types the store itself never reads: times as
/// PocketBase prints them, `void` as null, the rest by type name.
fn other_cell(row: &tokio_postgres::Row, i: usize) -> serde_json::Value {
    let ty = row.columns()[i].type_().clone();
    let Ok(Cell(raw, _)) = row.try_get::<_, Cell<'_>>(i) else {
        return serde_json::Value::Null;
    };
    let Some(raw) = raw else {
        return serde_json::Value::Null;
    };
    // Microseconds (timestamps) or days (dates) since 2000-01-01.
    const PG_EPOCH: i64 = 946_684_800;
    let at = match ty {
        Type::TIMESTAMPTZ | Type::TIMESTAMP => <i64 as FromSql>::from_sql(&ty, raw)
            .ok()
            .map(|us| i128::from(PG_EPOCH) * 1_000_000_000 + i128::from(us) * 1000),
        Type::DATE => <i32 as FromSql>::from_sql(&ty, raw)
            .ok()
            .map(|d| (i128::from(PG_EPOCH) + i128::from(d) * 86_400) * 1_000_000_000),
        Type::VOID => return serde_json::Value::Null,
        _ => None,
    };
    match at.and_then(|ns| time::OffsetDateTime::from_unix_timestamp_nanos(ns).ok()) {
        Some(t) => crate::schema::datetime::format(t).into(),
        None => format!("<{ty}>").into(),
    }
}

/// `numeric`'s binary form as a float (views' `sum()` and `avg()` are
/// numeric): digit count, weight, sign and scale as 16-bit words, then
/// base-10000 digits, the first one worth 10000^weight.
fn numeric(raw: &[u8]) -> Result<f64, StoreError> {
    let bad = || StoreError::Corrupt("malformed numeric value".into());
    let word = |i: usize| -> Result<u16, StoreError> {
        let b = raw.get(i * 2..i * 2 + 2).ok_or_else(bad)?;
        Ok(u16::from_be_bytes([b[0], b[1]]))
    };
    let (ndigits, weight, sign) = (usize::from(word(0)?), word(1)? as i16, word(2)?);
    let mut v = 0.0f64;
    for k in 0..ndigits {
        let exp = i32::from(weight) - i32::try_from(k).map_err(|_| bad())?;
        v += f64::from(word(4 + k)?) * 10000f64.powi(exp);
    }
    Ok(match sign {
        0x0000 => v,
        0x4000 => -v,
        0xD000 => f64::INFINITY,
        0xF000 => f64::NEG_INFINITY,
        _ => f64::NAN,
    })
}

/// A PostgreSQL row read through [`Row`].
pub struct PgRow<'r>(pub(super) &'r tokio_postgres::Row);

impl PgRow<'_> {
    fn raw(&self, i: usize) -> Result<Cell<'_>, StoreError> {
        Ok(self.0.try_get::<_, Cell<'_>>(i)?)
    }
}

fn decode<'a, T: FromSql<'a>>(ty: &Type, raw: &'a [u8]) -> Result<T, StoreError> {
    T::from_sql(ty, raw).map_err(|e| StoreError::Corrupt(format!("column of type {ty}: {e}")))
}

impl Row for PgRow<'_> {
    fn cell(&self, i: usize) -> Result<SqlCell<'_>, StoreError> {
        let Cell(raw, ty) = self.raw(i)?;
        let Some(raw) = raw else {
            return Ok(SqlCell::Null);
        };
        Ok(match ty {
            Type::INT8 | Type::INT4 | Type::INT2 | Type::BOOL => {
                SqlCell::Int(self.opt_int(i)?.unwrap_or_default())
            }
            Type::FLOAT8 | Type::FLOAT4 | Type::NUMERIC => SqlCell::Real(self.real(i)?),
            Type::JSONB => SqlCell::Text(raw.get(1..).unwrap_or_default()),
            Type::TEXT | Type::VARCHAR | Type::BPCHAR | Type::NAME | Type::JSON | Type::UNKNOWN => {
                SqlCell::Text(raw)
            }
            Type::BYTEA => SqlCell::Blob(raw),
            _ => return Err(StoreError::Corrupt(format!("column {i} has type {ty}"))),
        })
    }

    fn opt_int(&self, i: usize) -> Result<Option<i64>, StoreError> {
        let Cell(raw, ty) = self.raw(i)?;
        let Some(raw) = raw else { return Ok(None) };
        Ok(Some(match ty {
            Type::INT8 => decode::<i64>(&ty, raw)?,
            Type::INT4 => i64::from(decode::<i32>(&ty, raw)?),
            Type::INT2 => i64::from(decode::<i16>(&ty, raw)?),
            Type::BOOL => i64::from(decode::<bool>(&ty, raw)?),
            _ => {
                return Err(StoreError::Corrupt(format!(
                    "column {i} ({ty}) is not an integer"
                )));
            }
        }))
    }

    fn real(&self, i: usize) -> Result<f64, StoreError> {
        let Cell(raw, ty) = self.raw(i)?;
        let raw = raw.ok_or_else(|| StoreError::Corrupt(format!("column {i} is NULL")))?;
        match ty {
            Type::FLOAT8 => decode::<f64>(&ty, raw),
            Type::FLOAT4 => Ok(f64::from(decode::<f32>(&ty, raw)?)),
            Type::NUMERIC => numeric(raw),
            Type::INT8 | Type::INT4 | Type::INT2 => Ok(self.int(i)? as f64),
            _ => Err(StoreError::Corrupt(format!(
                "column {i} ({ty}) is not a number"
            ))),
        }
    }

    fn opt_text(&self, i: usize) -> Result<Option<String>, StoreError> {
        let Cell(raw, ty) = self.raw(i)?;
        let Some(raw) = raw else { return Ok(None) };
        let bytes = match ty {
            // jsonb's binary form is a version byte, then the text.
            Type::JSONB => raw.get(1..).unwrap_or_default(),
            Type::TEXT | Type::VARCHAR | Type::BPCHAR | Type::NAME | Type::JSON => raw,
            Type::INT8 | Type::INT4 | Type::INT2 => {
                return Ok(self.opt_int(i)?.map(|n| n.to_string()));
            }
            _ => {
                return Err(StoreError::Corrupt(format!(
                    "column {i} ({ty}) is not text"
                )));
            }
        };
        String::from_utf8(bytes.to_vec())
            .map(Some)
            .map_err(|_| StoreError::Corrupt(format!("column {i} is not UTF-8")))
    }
}
