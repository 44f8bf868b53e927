//! Money in integer minor units (fen). Never a float.

use serde::{Deserialize, Serialize};
use std::fmt;

use crate::error::AppError;

/// An amount of CNY in fen (1 yuan = 100 fen).
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, Default,
)]
#[serde(transparent)]
pub struct Money(i64);

impl Money {
    pub const ZERO: Money = Money(0);

    pub const fn from_fen(fen: i64) -> Self {
        Money(fen)
    }

    pub const fn fen(self) -> i64 {
        self.0
    }

    pub fn checked_add(self, other: Money) -> Option<Money> {
        self.0.checked_add(other.0).map(Money)
    }

    pub fn checked_mul(self, qty: i64) -> Option<Money> {
        self.0.checked_mul(qty).map(Money)
    }

    /// Parses a price typed by a person in yuan ("12", "12.5", "12.50", "¥12.50").
    pub fn parse_yuan(field: &str, input: &str) -> Result<Money, AppError> {
        let bad = || AppError::validation(field, "Enter an amount in yuan, for example 12.50.");
        let s = input.trim().trim_start_matches(['¥', '￥']).trim();
        let (int, frac) = match s.split_once('.') {
            Some((i, f)) => (i, f),
            None => (s, ""),
        };
        if int.is_empty() || int.len() > 12 || frac.len() > 2 {
            return Err(bad());
        }
        if !int.bytes().all(|b| b.is_ascii_digit()) || !frac.bytes().all(|b| b.is_ascii_digit()) {
            return Err(bad());
        }
        let yuan: i64 = int.parse().map_err(|_| bad())?;
        let mut fen: i64 = if frac.is_empty() {
            0
        } else {
            frac.parse().map_err(|_| bad())?
        };
        if frac.len() == 1 {
            fen *= 10;
        }
        Ok(Money(yuan * 100 + fen))
    }
}

impl fmt::Display for Money {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sign = if self.0 < 0 { "-" } else { "" };
        let abs = self.0.unsigned_abs();
        write!(f, "{sign}¥{}.{:02}", abs / 100, abs % 100)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn displays_yuan_with_two_decimals() {
        assert_eq!(Money::from_fen(1250).to_string(), "¥12.50");
        assert_eq!(Money::from_fen(5).to_string(), "¥0.05");
        assert_eq!(Money::from_fen(-199).to_string(), "-¥1.99");
    }

    #[test]
    fn parses_what_people_type() {
        assert_eq!(Money::parse_yuan("p", "12").unwrap().fen(), 1200);
        assert_eq!(Money::parse_yuan("p", "12.5").unwrap().fen(), 1250);
        assert_eq!(Money::parse_yuan("p", " ¥0.05 ").unwrap().fen(), 5);
    }

    #[test]
    fn rejects_what_is_not_an_amount() {
        for bad in [
            "",
            "-1",
            "1.234",
            "abc",
            "1e3",
            ".5",
            "1.2.3",
            "9999999999999",
        ] {
            let err = Money::parse_yuan("price", bad).unwrap_err();
            assert_eq!(err.status(), 422, "{bad}");
            assert!(err.for_field("price").is_some(), "{bad}");
        }
    }

    #[test]
    fn arithmetic_is_checked() {
        assert_eq!(
            Money::from_fen(i64::MAX).checked_add(Money::from_fen(1)),
            None
        );
        assert_eq!(
            Money::from_fen(300).checked_mul(3),
            Some(Money::from_fen(900))
        );
    }
}
