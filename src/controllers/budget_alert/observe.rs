//! Turns the contract's shared portal snapshot into the spend observation of a budget.

use super::plan::SpendObservation;
use crate::portal::Dashboard;
use chrono::NaiveDate;
use rust_decimal::Decimal;
use std::str::FromStr;

/// Daily consumption of the current billing month, plus one entry on the first day of each earlier
/// billed month (from the bills), so quarterly and annual budgets see their whole period.
/// `None` when the snapshot has no consumption (the API client lacks the right to read it).
pub fn spend_observation(dashboard: &Dashboard) -> Option<SpendObservation> {
    let consumption = dashboard.consumption.as_ref()?;
    let mut daily: Vec<(NaiveDate, Decimal)> = consumption
        .daily
        .iter()
        .filter_map(|d| Some((d.date, Decimal::from_str(&d.amount).ok()?)))
        .collect();
    for bill in dashboard.latest_bills.iter().flatten() {
        let Ok(first_day) = NaiveDate::parse_from_str(&format!("{}-01", bill.period), "%Y-%m-%d") else {
            continue;
        };
        if first_day < consumption.period_start
            && bill.currency == consumption.currency
            && let Ok(amount) = Decimal::from_str(&bill.amount)
        {
            daily.push((first_day, amount));
        }
    }
    Some(SpendObservation {
        currency: consumption.currency.clone(),
        daily,
        data_as_of: consumption.data_as_of,
    })
}
