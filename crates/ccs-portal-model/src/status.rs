//! Platform weather and incidents.

use super::Offer;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// Platform weather.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Weather {
    /// Nominal.
    Sunny,
    /// Minor degradation (severity 3-4 incident).
    Cloudy,
    /// Major degradation (severity 2).
    Rainy,
    /// Outage (severity 1).
    Stormy,
    /// A value this client does not know yet (the API may grow): read as unknown, not a decode
    /// failure.
    #[serde(other)]
    Unknown,
}

/// Incident state.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
pub enum IncidentState {
    /// Just opened.
    Open,
    /// Being worked on.
    InProgress,
    /// Resolved.
    Resolved,
    /// A value this client does not know yet (the API may grow): read as unknown, not a decode
    /// failure.
    #[serde(other)]
    Unknown,
}

/// A platform incident.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct Incident {
    /// Incident id.
    pub id: String,
    /// Title, localized.
    pub title: String,
    /// Platform offer.
    pub platform: Offer,
    /// Region.
    pub region: String,
    /// 1 (critical) to 4 (low).
    pub severity: u8,
    /// State.
    pub state: IncidentState,
    /// Opening time.
    pub opened_at: DateTime<Utc>,
    /// Last update.
    pub updated_at: DateTime<Utc>,
    /// Resolution time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resolved_at: Option<DateTime<Utc>>,
}

/// Weather of one platform region.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct RegionStatus {
    /// Platform offer.
    pub platform: Offer,
    /// Region.
    pub region: String,
    /// Weather.
    pub weather: Weather,
}

/// Weather and incidents of the platform regions a contract uses.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct PlatformStatus {
    /// Contract id.
    pub contract_id: String,
    /// Worst weather of the regions.
    pub weather: Weather,
    /// One line explanation, localized.
    pub summary: String,
    /// Per region.
    pub regions: Vec<RegionStatus>,
    /// Open incidents and those resolved in the last 24 hours, most severe first.
    pub incidents: Vec<Incident>,
    /// When this was computed.
    pub checked_at: DateTime<Utc>,
}
