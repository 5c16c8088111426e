//! Consumption to date and invoices.

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

/// Spend of one day.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct DailyAmount {
    /// The day.
    pub date: NaiveDate,
    /// Decimal amount.
    pub amount: String,
}

/// Consumption to date in the current monthly period.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct Consumption {
    /// Contract id.
    pub contract_id: String,
    /// ISO 4217 currency.
    pub currency: String,
    /// First day of the period.
    pub period_start: NaiveDate,
    /// Last day of the period.
    pub period_end: NaiveDate,
    /// Decimal amount consumed since the start of the period.
    pub amount_to_date: String,
    /// Time the data was computed.
    pub data_as_of: DateTime<Utc>,
    /// One entry per day of the period up to today.
    pub daily: Vec<DailyAmount>,
}

/// Bill status.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
pub enum BillStatus {
    /// Issued, not yet due.
    Issued,
    /// Paid.
    Paid,
    /// Past due date.
    Overdue,
    /// A value this client does not know yet (the API may grow): read as unknown, not a decode
    /// failure.
    #[serde(other)]
    Unknown,
}

/// An invoice.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct Bill {
    /// Bill id.
    pub id: String,
    /// Billed month, `YYYY-MM`.
    pub period: String,
    /// Issue date.
    pub issued_at: NaiveDate,
    /// Due date.
    pub due_at: NaiveDate,
    /// Decimal amount including taxes.
    pub amount: String,
    /// ISO 4217 currency.
    pub currency: String,
    /// Status.
    pub status: BillStatus,
}
