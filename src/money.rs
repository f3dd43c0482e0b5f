//! Exact money. Every amount of US dollars in pricing and accounting is a
//! [`rust_decimal::Decimal`]: 96-bit integer mantissa and a decimal scale, so prices such as
//! `0.00875` per 1M tokens and sums over millions of records stay exact. Floats appear only at
//! Prometheus exposition.
#![deny(clippy::float_arithmetic)]

pub use rust_decimal::Decimal;

/// US dollars, exact.
pub type Usd = Decimal;

/// Formats an amount the way reports print money: the exact value with trailing zeros
/// removed, but at least two decimals (`12.5` → `12.50`, `0.000123` → `0.000123`).
pub fn format_usd(v: Usd) -> String {
    let n = v.normalize();
    if n.scale() < 2 {
        let mut r = n;
        r.rescale(2);
        r.to_string()
    } else {
        n.to_string()
    }
}

/// Rounds an exact amount to whole cents (banker's rounding is not used: half away from zero,
/// as invoices do) for summary lines that show cents.
pub fn round_cents(v: Usd) -> Usd {
    v.round_dp_with_strategy(2, rust_decimal::RoundingStrategy::MidpointAwayFromZero)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::str::FromStr;

    #[test]
    fn format_keeps_exact_digits_and_two_decimals() {
        assert_eq!(format_usd(Decimal::from_str("12.5").unwrap()), "12.50");
        assert_eq!(
            format_usd(Decimal::from_str("0.000123000").unwrap()),
            "0.000123"
        );
        assert_eq!(format_usd(Decimal::ZERO), "0.00");
    }

    #[test]
    fn cents_round_half_away_from_zero() {
        assert_eq!(
            round_cents(Decimal::from_str("0.005").unwrap()).to_string(),
            "0.01"
        );
    }
}
