//! The pure part of a BudgetAlert reconcile: spend, forecast, state, and which thresholds to email.
//!
//! Forecast formula (linear run rate): `forecast = actual × period_days / elapsed_days`, where
//! `elapsed_days` is the time from the period start to the data's as-of time, in fractional days,
//! clamped to `[1, period_days]`. It assumes the spend to date continues at its average daily rate.

use super::period::Period;
use crate::api::budget_alert::{
    BudgetAlertSpec, BudgetState, ThresholdBasis, ThresholdState, ThresholdStatus,
};
use chrono::{DateTime, NaiveDate, Utc};
use rust_decimal::Decimal;
use std::str::FromStr;
use std::time::Duration;

/// The spend data read from the portal for the contract.
#[derive(Clone, Debug, PartialEq)]
pub struct SpendObservation {
    /// ISO 4217 currency of the amounts.
    pub currency: String,
    /// Spend per day; days outside the budget period are ignored.
    pub daily: Vec<(NaiveDate, Decimal)>,
    /// When the portal computed the data.
    pub data_as_of: DateTime<Utc>,
}

/// An email to send for a threshold that is Triggered.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Notice {
    /// Threshold name.
    pub threshold: String,
    /// What the threshold compares.
    pub basis: ThresholdBasis,
    /// Threshold value in the budget currency.
    pub value: Decimal,
    /// Who receives it.
    pub recipients: Vec<String>,
}

/// Result of one evaluation.
#[derive(Clone, Debug, PartialEq)]
pub struct Evaluation {
    /// The current period.
    pub period: Period,
    /// Actual spend to date in the period.
    pub actual: Decimal,
    /// Forecast for the period end.
    pub forecast: Decimal,
    /// Actual / budget × 100, two decimals.
    pub used_percent: Decimal,
    /// Overall state.
    pub state: BudgetState,
    /// Whether the data is recent enough to trigger thresholds.
    pub data_fresh: bool,
    /// Threshold states to record (Triggered ones before their email is sent).
    pub thresholds: Vec<ThresholdStatus>,
    /// Emails to send now, one per Triggered threshold.
    pub notices: Vec<Notice>,
}

/// Why a budget cannot be evaluated; each names the field to fix.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum PlanError {
    /// The budget currency differs from the contract's billing currency.
    #[error("spec.currency is {spec} but the contract is billed in {portal}; set spec.currency: {portal}")]
    CurrencyMismatch {
        /// Currency in the spec.
        spec: String,
        /// Currency of the portal data.
        portal: String,
    },
    /// The portal's data or the spec's amounts are out of range: a date chrono cannot represent,
    /// a sum or product past the 28 digits a decimal holds.
    #[error("out of range: {0}; the portal's data is not usable as it is")]
    OutOfRange(String),
    /// An amount in the spec does not parse (the CRD pattern should have stopped it).
    #[error("{field} is not a decimal amount: {value}")]
    InvalidAmount {
        /// Field path.
        field: String,
        /// The value.
        value: String,
    },
}

fn parse_amount(field: String, value: &str) -> Result<Decimal, PlanError> {
    Decimal::from_str(value).map_err(|_| PlanError::InvalidAmount {
        field,
        value: value.into(),
    })
}

/// Evaluates a budget against portal data. `previous` is the threshold status last written; `now`
/// stamps transitions and ages the data; `freshness` is the age beyond which data is stale (twice
/// the poll interval) and triggers nothing.
pub fn evaluate(
    spec: &BudgetAlertSpec,
    previous: &[ThresholdStatus],
    observation: &SpendObservation,
    now: DateTime<Utc>,
    freshness: Duration,
) -> Result<Evaluation, PlanError> {
    if observation.currency != spec.currency {
        return Err(PlanError::CurrencyMismatch {
            spec: spec.currency.clone(),
            portal: observation.currency.clone(),
        });
    }
    let budget = parse_amount("spec.amount".into(), &spec.amount)?;
    // The period follows the data's clock: right after midnight on the 1st, the portal may still
    // report the previous month, which must not re-arm the thresholds early.
    let period = Period::containing(spec.period, observation.data_as_of).ok_or_else(|| {
        PlanError::OutOfRange(format!(
            "dataAsOf {} has no budget period",
            observation.data_as_of
        ))
    })?;
    let overflow = |what: &str| PlanError::OutOfRange(format!("{what} overflows"));
    let actual = observation
        .daily
        .iter()
        .filter(|(day, _)| *day >= period.start && *day < period.end)
        .try_fold(Decimal::ZERO, |sum, (_, a)| sum.checked_add(*a))
        .ok_or_else(|| overflow("the spend of the period"))?;
    let forecast =
        forecast(actual, &period, observation.data_as_of).ok_or_else(|| overflow("the forecast"))?;
    let age = now
        .signed_duration_since(observation.data_as_of)
        .to_std()
        .unwrap_or_default();
    let data_fresh = age <= freshness;
    let used_percent = if budget.is_zero() {
        Decimal::ZERO
    } else {
        actual
            .checked_mul(Decimal::ONE_HUNDRED)
            .and_then(|a| a.checked_div(budget))
            .ok_or_else(|| overflow("the used percentage"))?
            .round_dp(2)
    };

    let mut thresholds = Vec::with_capacity(spec.thresholds.len());
    let mut notices = Vec::new();
    let now_text = crate::controllers::common::timestamp(now);
    // Actual thresholds first, so a Forecasted one can see which Actual ones are notified.
    let mut ordered: Vec<_> = spec.thresholds.iter().enumerate().collect();
    ordered.sort_by_key(|(_, t)| t.basis != ThresholdBasis::Actual);
    // Actual thresholds already notified in the period, with their values.
    let mut notified_actual: Vec<(String, Decimal)> = Vec::new();
    for (i, threshold) in ordered {
        let value = match (threshold.percent, &threshold.amount) {
            (Some(percent), _) => budget
                .checked_mul(Decimal::from(percent))
                .and_then(|v| v.checked_div(Decimal::ONE_HUNDRED))
                .ok_or_else(|| overflow(&format!("spec.thresholds[{i}]: spec.amount x percent")))?,
            (None, Some(amount)) => parse_amount(format!("spec.thresholds[{i}].amount"), amount)?,
            (None, None) => continue, // the CRD's CEL rule forbids this
        };
        let compared = if threshold.basis == ThresholdBasis::Actual {
            actual
        } else {
            forecast
        };
        let mut status = previous
            .iter()
            .find(|s| s.name == threshold.name && s.period_key == period.key)
            .cloned()
            .unwrap_or_else(|| armed(&threshold.name, &period.key));
        if status.state == ThresholdState::Armed && data_fresh && compared >= value {
            let covering = notified_actual
                .iter()
                .find(|(_, v)| *v >= value)
                .map(|(name, _)| name.clone());
            match (threshold.basis, covering) {
                (ThresholdBasis::Forecasted, Some(name)) => {
                    status.state = ThresholdState::Notified;
                    status.suppressed_by = Some(name);
                }
                _ => {
                    status.state = ThresholdState::Triggered;
                    status.triggered_at = Some(now_text.clone());
                }
            }
        }
        match (threshold.basis, status.state) {
            (ThresholdBasis::Actual, ThresholdState::Notified) => {
                notified_actual.push((status.name.clone(), value))
            }
            (_, ThresholdState::Triggered) => notices.push(Notice {
                threshold: threshold.name.clone(),
                basis: threshold.basis,
                value,
                recipients: threshold
                    .recipients
                    .clone()
                    .unwrap_or_else(|| spec.recipients.clone()),
            }),
            _ => {}
        }
        thresholds.push(status);
    }
    // Report thresholds in spec order.
    thresholds.sort_by_key(|s| spec.thresholds.iter().position(|t| t.name == s.name));

    let any_crossed = thresholds
        .iter()
        .any(|s| s.state != ThresholdState::Armed && s.suppressed_by.is_none());
    let state = if actual >= budget {
        BudgetState::Exceeded
    } else if any_crossed {
        BudgetState::Warning
    } else {
        BudgetState::Ok
    };
    Ok(Evaluation {
        period,
        actual,
        forecast,
        used_percent,
        state,
        data_fresh,
        thresholds,
        notices,
    })
}

fn armed(name: &str, period_key: &str) -> ThresholdStatus {
    ThresholdStatus {
        name: name.into(),
        state: ThresholdState::Armed,
        period_key: period_key.into(),
        triggered_at: None,
        notified_at: None,
        suppressed_by: None,
    }
}

/// Linear run-rate forecast for the period end (see the module docs); `None` on overflow.
pub fn forecast(actual: Decimal, period: &Period, data_as_of: DateTime<Utc>) -> Option<Decimal> {
    let period_days = Decimal::from(period.days());
    let elapsed_secs = data_as_of
        .signed_duration_since(period.start_instant())
        .num_seconds();
    let elapsed_days = (Decimal::from(elapsed_secs) / Decimal::from(86_400)).clamp(Decimal::ONE, period_days);
    Some(
        actual
            .checked_mul(period_days)?
            .checked_div(elapsed_days)?
            .round_dp(2),
    )
}

/// Marks a Triggered threshold Notified once its email is sent.
pub fn mark_notified(thresholds: &mut [ThresholdStatus], name: &str, now: DateTime<Utc>) {
    if let Some(status) = thresholds
        .iter_mut()
        .find(|s| s.name == name && s.state == ThresholdState::Triggered)
    {
        status.state = ThresholdState::Notified;
        status.notified_at = Some(crate::controllers::common::timestamp(now));
    }
}

#[cfg(test)]
mod tests;
