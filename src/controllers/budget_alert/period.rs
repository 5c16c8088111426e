//! Budget periods: calendar month, quarter or year, in UTC.

use crate::api::budget_alert::BudgetPeriod;
use chrono::{DateTime, Datelike, NaiveDate, TimeZone, Utc};

/// One budget period: `[start, end)`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Period {
    /// Key such as `2026-11`, `2026-Q4` or `2026`.
    pub key: String,
    /// First day of the period.
    pub start: NaiveDate,
    /// First day after the period.
    pub end: NaiveDate,
}

impl Period {
    /// The period of `kind` holding `now`; `None` when the period's bounds fall outside the dates
    /// chrono can represent (the portal's data may claim a year such as `+262142`).
    pub fn containing(kind: BudgetPeriod, now: DateTime<Utc>) -> Option<Self> {
        let (year, month) = (now.year(), now.month());
        let (key, start_month, months) = match kind {
            BudgetPeriod::Monthly => (format!("{year}-{month:02}"), month, 1),
            BudgetPeriod::Quarterly => {
                let quarter = (month - 1) / 3 + 1;
                (format!("{year}-Q{quarter}"), (quarter - 1) * 3 + 1, 3)
            }
            BudgetPeriod::Annually => (format!("{year}"), 1, 12),
        };
        let start = NaiveDate::from_ymd_opt(year, start_month, 1)?;
        let end_month0 = start_month - 1 + months; // 0-based month index after the period
        let end = NaiveDate::from_ymd_opt(
            year.checked_add(i32::try_from(end_month0 / 12).ok()?)?,
            end_month0 % 12 + 1,
            1,
        )?;
        // Midnight of both bounds must exist as instants too.
        start.and_hms_opt(0, 0, 0)?;
        end.and_hms_opt(0, 0, 0)?;
        Some(Self { key, start, end })
    }

    /// Length of the period in days.
    pub fn days(&self) -> i64 {
        (self.end - self.start).num_days()
    }

    /// Start as an RFC 3339 instant (midnight UTC).
    pub fn start_rfc3339(&self) -> String {
        super::super::common::timestamp(midnight(self.start))
    }

    /// End as an RFC 3339 instant (midnight UTC).
    pub fn end_rfc3339(&self) -> String {
        super::super::common::timestamp(midnight(self.end))
    }

    /// Start as an instant.
    pub fn start_instant(&self) -> DateTime<Utc> {
        midnight(self.start)
    }
}

fn midnight(day: NaiveDate) -> DateTime<Utc> {
    Utc.from_utc_datetime(&day.and_time(chrono::NaiveTime::MIN))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s)
            .expect("rfc3339")
            .with_timezone(&Utc)
    }

    #[test]
    fn months_quarters_and_years_have_keys_and_bounds() {
        let now = at("2026-11-25T10:00:00Z");
        let month = Period::containing(BudgetPeriod::Monthly, now).expect("in range");
        assert_eq!((month.key.as_str(), month.days()), ("2026-11", 30));
        assert_eq!(month.start_rfc3339(), "2026-11-01T00:00:00Z");
        let quarter = Period::containing(BudgetPeriod::Quarterly, now).expect("in range");
        assert_eq!(
            (
                quarter.key.as_str(),
                quarter.start.to_string(),
                quarter.end.to_string()
            ),
            ("2026-Q4", "2026-10-01".into(), "2027-01-01".into())
        );
        let year = Period::containing(BudgetPeriod::Annually, now).expect("in range");
        assert_eq!((year.key.as_str(), year.days()), ("2026", 365));
    }

    #[test]
    fn periods_past_the_last_representable_date_are_none() {
        let last = DateTime::<Utc>::MAX_UTC;
        assert_eq!(Period::containing(BudgetPeriod::Annually, last), None);
        assert_eq!(Period::containing(BudgetPeriod::Monthly, last), None);
        assert!(Period::containing(BudgetPeriod::Monthly, DateTime::<Utc>::MIN_UTC).is_some());
    }

    #[test]
    fn december_and_leap_february_roll_over_correctly() {
        let dec = Period::containing(BudgetPeriod::Monthly, at("2026-12-31T23:59:59Z")).expect("in range");
        assert_eq!(dec.end.to_string(), "2027-01-01");
        let feb = Period::containing(BudgetPeriod::Monthly, at("2028-02-10T00:00:00Z")).expect("in range");
        assert_eq!(feb.days(), 29);
        let q1 = Period::containing(BudgetPeriod::Quarterly, at("2027-03-31T00:00:00Z")).expect("in range");
        assert_eq!(
            (q1.key.as_str(), q1.end.to_string()),
            ("2027-Q1", "2027-04-01".into())
        );
    }
}
