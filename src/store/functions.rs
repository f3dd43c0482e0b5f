//! Exact decimal arithmetic inside SQL.
//!
//! Costs are stored as canonical decimal TEXT (see [`canonical`]). SQLite's own `+` and
//! `SUM` would turn that text into a float, so every connection gets two functions that
//! do the arithmetic with [`rust_decimal`] instead:
//!
//! - `dec_add(a, b)`: the exact sum as canonical TEXT; `NULL` acts as "no amount", so
//!   `dec_add(NULL, x) = x` and `dec_add(NULL, NULL) = NULL`.
//! - `dec_sum(x)`: aggregate; the exact sum of the non-NULL values, `NULL` when there are
//!   none.
//!
//! Both accept decimal TEXT or INTEGER. REAL and BLOB arguments, text that is not a decimal,
//! a value with more digits than a `Decimal` holds, and a sum that would be rounded or
//! overflow are SQL errors: a query fails rather than storing an inexact cost. Nothing here
//! panics on bad input.
use crate::money::Usd;
use rusqlite::Connection;
use rusqlite::functions::{Aggregate, Context, FunctionFlags};
use rusqlite::types::ValueRef;

/// The canonical text form of an amount: exact, trailing zeros removed, no exponent, and
/// `0` rather than `-0` (`0.30` → `0.3`, `2.000` → `2`).
pub(crate) fn canonical(v: Usd) -> String {
    v.normalize().to_string()
}

/// Parses decimal text exactly (no rounding of extra digits).
pub(crate) fn parse(text: &str) -> Result<Usd, String> {
    Usd::from_str_exact(text).map_err(|e| format!("{text:?} is not an exact decimal: {e}"))
}

/// Adds two amounts, refusing to round or overflow.
///
/// `rust_decimal` keeps a sum at the larger of the two scales when the result fits in its
/// 96-bit mantissa, and silently drops digits (lowering the scale) when it does not, so a
/// lower scale means the sum was rounded. The inputs are normalized first so that a scale
/// inflated by trailing zeros cannot cause a false alarm.
pub(crate) fn exact_add(a: Usd, b: Usd) -> Result<Usd, String> {
    let (a, b) = (a.normalize(), b.normalize());
    let sum = a
        .checked_add(b)
        .ok_or_else(|| format!("{a} + {b} overflows the decimal range"))?;
    if sum.scale() < a.scale().max(b.scale()) {
        return Err(format!("{a} + {b} cannot be represented exactly"));
    }
    Ok(sum)
}

/// Registers `dec_add` and `dec_sum` on a connection.
pub(crate) fn register(conn: &Connection) -> rusqlite::Result<()> {
    let flags = FunctionFlags::SQLITE_UTF8 | FunctionFlags::SQLITE_DETERMINISTIC;
    conn.create_scalar_function("dec_add", 2, flags, |ctx| {
        let a = arg(ctx, 0, "dec_add")?;
        let b = arg(ctx, 1, "dec_add")?;
        let sum = match (a, b) {
            (None, None) => None,
            (Some(x), None) | (None, Some(x)) => Some(x),
            (Some(a), Some(b)) => Some(exact_add(a, b).map_err(|e| user_error("dec_add", e))?),
        };
        Ok(sum.map(canonical))
    })?;
    conn.create_aggregate_function("dec_sum", 1, flags, DecSum)
}

/// The `dec_sum` aggregate; the state is the running sum, `None` until a non-NULL value.
struct DecSum;

impl Aggregate<Option<Usd>, Option<String>> for DecSum {
    fn init(&self, _: &mut Context<'_>) -> rusqlite::Result<Option<Usd>> {
        Ok(None)
    }

    fn step(&self, ctx: &mut Context<'_>, acc: &mut Option<Usd>) -> rusqlite::Result<()> {
        if let Some(x) = arg(ctx, 0, "dec_sum")? {
            *acc = Some(match *acc {
                None => x,
                Some(s) => exact_add(s, x).map_err(|e| user_error("dec_sum", e))?,
            });
        }
        Ok(())
    }

    fn finalize(
        &self,
        _: &mut Context<'_>,
        acc: Option<Option<Usd>>,
    ) -> rusqlite::Result<Option<String>> {
        Ok(acc.flatten().map(canonical))
    }
}

/// Reads argument `i` as an exact amount (`None` for NULL).
fn arg(ctx: &Context<'_>, i: usize, func: &str) -> rusqlite::Result<Option<Usd>> {
    match ctx.get_raw(i) {
        ValueRef::Null => Ok(None),
        ValueRef::Integer(n) => Ok(Some(Usd::from(n))),
        ValueRef::Text(bytes) => {
            let text = std::str::from_utf8(bytes)
                .map_err(|_| user_error(func, "argument is not UTF-8 text".to_string()))?;
            parse(text).map(Some).map_err(|e| user_error(func, e))
        }
        ValueRef::Real(_) => Err(user_error(
            func,
            "got a REAL; amounts must be decimal TEXT (floats are not exact)".to_string(),
        )),
        ValueRef::Blob(_) => Err(user_error(
            func,
            "got a BLOB; amounts must be decimal TEXT".to_string(),
        )),
    }
}

fn user_error(func: &str, msg: String) -> rusqlite::Error {
    rusqlite::Error::UserFunctionError(format!("{func}: {msg}").into())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn conn() -> Connection {
        let c = Connection::open_in_memory().unwrap();
        register(&c).unwrap();
        c
    }

    fn dec_add(
        c: &Connection,
        a: Option<&str>,
        b: Option<&str>,
    ) -> rusqlite::Result<Option<String>> {
        c.query_row("SELECT dec_add(?1, ?2)", (a, b), |r| r.get(0))
    }

    #[test]
    fn dec_add_sums_exactly_where_floats_would_not() {
        let c = conn();
        assert_eq!(
            dec_add(&c, Some("0.1"), Some("0.2")).unwrap().as_deref(),
            Some("0.3")
        );
        assert_eq!(
            dec_add(&c, Some("1.50"), Some("2.50")).unwrap().as_deref(),
            Some("4")
        );
        assert_eq!(
            dec_add(&c, Some("-0.5"), Some("0.5")).unwrap().as_deref(),
            Some("0")
        );
    }

    #[test]
    fn dec_add_treats_null_as_no_amount() {
        let c = conn();
        assert_eq!(dec_add(&c, None, None).unwrap(), None);
        assert_eq!(
            dec_add(&c, None, Some("0.250")).unwrap().as_deref(),
            Some("0.25")
        );
        assert_eq!(dec_add(&c, Some("7"), None).unwrap().as_deref(), Some("7"));
    }

    #[test]
    fn dec_add_accepts_integers() {
        let c = conn();
        let v: String = c
            .query_row("SELECT dec_add(2, '0.5')", [], |r| r.get(0))
            .unwrap();
        assert_eq!(v, "2.5");
    }

    #[test]
    fn dec_add_with_garbage_text_is_an_sql_error_not_a_panic() {
        let c = conn();
        for bad in ["abc", "", "1.2.3", "0x10", "1e3"] {
            let err = dec_add(&c, Some(bad), Some("1")).unwrap_err();
            assert!(err.to_string().contains("dec_add"), "{bad:?}: {err}");
        }
        let err = c
            .query_row("SELECT dec_add(0.1, '1')", [], |r| r.get::<_, String>(0))
            .unwrap_err();
        assert!(err.to_string().contains("REAL"), "{err}");
        let err = c
            .query_row("SELECT dec_add(x'00', '1')", [], |r| r.get::<_, String>(0))
            .unwrap_err();
        assert!(err.to_string().contains("BLOB"), "{err}");
    }

    #[test]
    fn dec_add_refuses_to_round_or_overflow() {
        let c = conn();
        let err = dec_add(&c, Some("79228162514264337593543950335"), Some("1")).unwrap_err();
        assert!(err.to_string().contains("overflows"), "{err}");
        let err = dec_add(&c, Some("1000000000000000000000"), Some("0.0000000001")).unwrap_err();
        assert!(err.to_string().contains("exactly"), "{err}");
        // More digits than a Decimal holds is refused at parse time, not rounded.
        let err = dec_add(&c, Some("0.00000000000000000000000000001"), None).unwrap_err();
        assert!(err.to_string().contains("not an exact decimal"), "{err}");
    }

    #[test]
    fn a_million_additions_of_a_millionth_make_exactly_one() {
        let c = conn();
        let chained: String = c
            .query_row(
                "WITH RECURSIVE r(n, s) AS (SELECT 0, NULL \
                 UNION ALL SELECT n + 1, dec_add(s, '0.000001') FROM r WHERE n < 1000000) \
                 SELECT s FROM r WHERE n = 1000000",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(chained, "1");
        let summed: String = c
            .query_row(
                "WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM r WHERE n < 1000000) \
                 SELECT dec_sum('0.000001') FROM r",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(summed, "1");
    }

    #[test]
    fn dec_sum_is_null_when_every_value_is_null() {
        let c = conn();
        c.execute_batch("CREATE TABLE t(x TEXT); INSERT INTO t VALUES (NULL), (NULL);")
            .unwrap();
        let v: Option<String> = c
            .query_row("SELECT dec_sum(x) FROM t", [], |r| r.get(0))
            .unwrap();
        assert_eq!(v, None);
        let v: Option<String> = c
            .query_row("SELECT dec_sum(x) FROM t WHERE 0", [], |r| r.get(0))
            .unwrap();
        assert_eq!(v, None);
        c.execute_batch("INSERT INTO t VALUES ('0.1'), ('0.2');")
            .unwrap();
        let v: Option<String> = c
            .query_row("SELECT dec_sum(x) FROM t", [], |r| r.get(0))
            .unwrap();
        assert_eq!(v.as_deref(), Some("0.3"));
    }

    #[test]
    fn dec_sum_with_garbage_text_is_an_sql_error() {
        let c = conn();
        c.execute_batch("CREATE TABLE t(x TEXT); INSERT INTO t VALUES ('1'), ('one');")
            .unwrap();
        let err = c
            .query_row("SELECT dec_sum(x) FROM t", [], |r| r.get::<_, String>(0))
            .unwrap_err();
        assert!(err.to_string().contains("dec_sum"), "{err}");
    }
}
