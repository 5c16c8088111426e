//! Calendar months, the periods of billing files (`2026-11`).

use chrono::{DateTime, Datelike, NaiveDate, TimeZone, Utc};
use std::fmt;

/// A calendar month.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Month {
    /// Year.
    pub year: i32,
    /// Month, 1 to 12.
    pub month: u32,
}

impl Month {
    /// Parses `YYYY-MM`.
    pub fn parse(text: &str) -> Option<Self> {
        let date = NaiveDate::parse_from_str(&format!("{}-01", text.trim()), "%Y-%m-%d").ok()?;
        (text.trim().len() == 7).then(|| Self::of(date))
    }

    /// The month of a date.
    pub fn of(date: NaiveDate) -> Self {
        Self {
            year: date.year(),
            month: date.month(),
        }
    }

    /// The month containing an instant (UTC).
    pub fn containing(t: DateTime<Utc>) -> Self {
        Self::of(t.date_naive())
    }

    /// The month `n` months later (earlier when negative).
    pub fn plus(self, n: i32) -> Self {
        let index = self.year * 12 + self.month as i32 - 1 + n;
        Self {
            year: index.div_euclid(12),
            month: index.rem_euclid(12) as u32 + 1,
        }
    }

    /// Months from `self` to `other` (negative when `other` is earlier).
    pub fn months_until(self, other: Self) -> i32 {
        (other.year * 12 + other.month as i32) - (self.year * 12 + self.month as i32)
    }

    /// First instant of the month.
    pub fn start(self) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(self.year, self.month, 1, 0, 0, 0)
            .single()
            .unwrap_or(DateTime::<Utc>::MIN_UTC)
    }

    /// First instant after the month.
    pub fn end(self) -> DateTime<Utc> {
        self.plus(1).start()
    }
}

impl fmt::Display for Month {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}-{:02}", self.year, self.month)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn months_parse_print_and_step_across_years() {
        let m = Month::parse("2026-01").expect("month");
        assert_eq!(m.to_string(), "2026-01");
        assert_eq!(m.plus(-1).to_string(), "2025-12");
        assert_eq!(m.plus(13).to_string(), "2027-02");
        assert_eq!(m.months_until(Month::parse("2025-10").expect("m")), -3);
        assert_eq!(m.end(), Month::parse("2026-02").expect("m").start());
        assert!(Month::parse("2026-13").is_none());
        assert!(Month::parse("2026-1").is_none());
        assert!(Month::parse("nope").is_none());
    }
}
