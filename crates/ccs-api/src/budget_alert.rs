//! `BudgetAlert`: spend thresholds on a contract, each emailed once per period.

use super::common::{
    CURRENCY_PATTERN, Conditions, DECIMAL_PATTERN, EMAIL_PATTERN, Locale, OBJECT_NAME_PATTERN,
};
use kube::{CustomResource, KubeSchema};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// A budget on one contract's spend, with thresholds that send email.
#[derive(CustomResource, KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[kube(
    group = "customerspace.io",
    version = "v1alpha1",
    kind = "BudgetAlert",
    plural = "budgetalerts",
    singular = "budgetalert",
    shortname = "budget",
    category = "customerspace",
    namespaced,
    status = "BudgetAlertStatus",
    doc = "A budget on the spend of one CloudContract, with thresholds on actual or forecasted spend that email recipients once per threshold and period.",
    printcolumn(
        name = "Contract",
        type_ = "string",
        json_path = ".spec.contract",
        description = "CloudContract the budget watches"
    ),
    printcolumn(
        name = "Budget",
        type_ = "string",
        json_path = ".spec.amount",
        description = "Budget amount per period"
    ),
    printcolumn(
        name = "Spend",
        type_ = "string",
        json_path = ".status.actual",
        description = "Actual spend to date in the period"
    ),
    printcolumn(
        name = "Used",
        type_ = "string",
        json_path = ".status.usedPercent",
        description = "Actual spend as a percentage of the budget"
    ),
    printcolumn(
        name = "State",
        type_ = "string",
        json_path = ".status.state",
        description = "OK, Warning or Exceeded"
    ),
    printcolumn(
        name = "Ready",
        type_ = "string",
        json_path = ".status.conditions[?(@.type==\"Ready\")].status"
    ),
    printcolumn(name = "Age", type_ = "date", json_path = ".metadata.creationTimestamp")
)]
#[serde(rename_all = "camelCase")]
pub struct BudgetAlertSpec {
    /// Name of the CloudContract in this namespace whose spend is watched.
    #[schemars(length(min = 1, max = 253), pattern(OBJECT_NAME_PATTERN))]
    pub contract: String,
    /// Budget per period as a decimal string, greater than 0 (a decimal is positive when it has a non-zero digit).
    #[schemars(pattern(DECIMAL_PATTERN))]
    #[x_kube(validation = Rule::new("self.matches('[1-9]')").message("amount must be greater than 0"))]
    pub amount: String,
    /// ISO 4217 currency of the budget; it must match the contract's billing currency.
    #[serde(default = "default_currency")]
    #[schemars(pattern(CURRENCY_PATTERN))]
    pub currency: String,
    /// Budget period; a new period re-arms every threshold.
    #[serde(default)]
    pub period: BudgetPeriod,
    /// Thresholds (1 to 10), each with a unique name.
    #[schemars(length(min = 1, max = 10), extend("x-kubernetes-list-type" = "map", "x-kubernetes-list-map-keys" = ["name"]))]
    pub thresholds: Vec<Threshold>,
    /// Email addresses told when a threshold is crossed (1 to 20).
    #[schemars(length(min = 1, max = 20), inner(length(max = 254), pattern(EMAIL_PATTERN)), extend("x-kubernetes-list-type" = "set"))]
    pub recipients: Vec<String>,
    /// Language of the emails.
    #[serde(default)]
    pub locale: Locale,
}

fn default_currency() -> String {
    "EUR".into()
}

/// Budget period.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq, JsonSchema)]
pub enum BudgetPeriod {
    /// Calendar month (key `2026-11`).
    #[default]
    Monthly,
    /// Calendar quarter (key `2026-Q4`).
    Quarterly,
    /// Calendar year (key `2026`).
    Annually,
}

/// One threshold of a budget: exactly one of `percent` or `amount`.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
#[x_kube(validation = Rule::new("has(self.percent) != has(self.amount)").message("exactly one of percent or amount must be set"))]
pub struct Threshold {
    /// Unique name of the threshold, such as `half` or `over`.
    #[schemars(length(min = 1, max = 63), pattern(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$"))]
    pub name: String,
    /// Percentage of the budget, 1 to 1000.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1, max = 1000))]
    pub percent: Option<i32>,
    /// Absolute amount in the budget currency, as a decimal string.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(pattern(DECIMAL_PATTERN))]
    pub amount: Option<String>,
    /// `Actual` compares spend to date; `Forecasted` compares the forecast for the period end.
    #[serde(default)]
    pub basis: ThresholdBasis,
    /// Recipients for this threshold instead of `spec.recipients` (1 to 20).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 20), inner(length(max = 254), pattern(EMAIL_PATTERN)), extend("x-kubernetes-list-type" = "set"))]
    pub recipients: Option<Vec<String>>,
}

/// What a threshold compares.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq, JsonSchema)]
pub enum ThresholdBasis {
    /// Spend to date.
    #[default]
    Actual,
    /// Forecast of the spend at the end of the period.
    Forecasted,
}

/// Observed state of a BudgetAlert.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct BudgetAlertStatus {
    /// Generation of the spec this status was computed from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
    /// `Ready`, `DataFresh` and `NotificationFailed`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(extend("x-kubernetes-list-type" = "map", "x-kubernetes-list-map-keys" = ["type"]))]
    pub conditions: Conditions,
    /// Last value of the `customerspace.io/reconcile-requested-at` annotation that was handled.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_handled_reconcile_at: Option<String>,
    /// The current budget period.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub period: Option<PeriodStatus>,
    /// Actual spend to date in the period, as a decimal string.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub actual: Option<String>,
    /// Forecasted spend at the end of the period, as a decimal string.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub forecast: Option<String>,
    /// Currency of `actual` and `forecast`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub currency: Option<String>,
    /// Time the portal's consumption data was computed (RFC 3339).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data_as_of: Option<String>,
    /// Actual spend as a percentage of the budget, with two decimals, such as `87.50`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub used_percent: Option<String>,
    /// `OK` below every threshold, `Warning` past one, `Exceeded` over the budget.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state: Option<BudgetState>,
    /// State of each threshold in the current period.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(extend("x-kubernetes-list-type" = "map", "x-kubernetes-list-map-keys" = ["name"]))]
    pub thresholds: Vec<ThresholdStatus>,
    /// When the budget was last evaluated (RFC 3339). An evaluation that changes nothing does not
    /// write it again until it is `controllers.statusHeartbeat` old (30m by default).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_evaluation_time: Option<String>,
}

/// A budget period.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct PeriodStatus {
    /// Period key, such as `2026-11`, `2026-Q4` or `2026`.
    pub key: String,
    /// First instant of the period (RFC 3339).
    pub start: String,
    /// First instant after the period (RFC 3339).
    pub end: String,
}

/// Overall budget state.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, JsonSchema)]
pub enum BudgetState {
    /// No threshold reached.
    #[serde(rename = "OK")]
    Ok,
    /// At least one threshold reached, budget not exceeded.
    Warning,
    /// Actual spend above the budget.
    Exceeded,
}

/// State of one threshold in one period.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ThresholdStatus {
    /// Threshold name.
    pub name: String,
    /// `Armed`, `Triggered` (crossed, email being sent) or `Notified` (email sent).
    pub state: ThresholdState,
    /// Period key this state belongs to; a new period re-arms the threshold.
    pub period_key: String,
    /// When the threshold was crossed (RFC 3339).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub triggered_at: Option<String>,
    /// When the email was sent (RFC 3339).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notified_at: Option<String>,
    /// For a Forecasted threshold not emailed: the Actual threshold, already notified at or above
    /// it, that made its email redundant.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub suppressed_by: Option<String>,
}

/// State machine of a threshold within a period.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, JsonSchema)]
pub enum ThresholdState {
    /// Not crossed in this period.
    Armed,
    /// Crossed; the email is being sent.
    Triggered,
    /// Crossed and emailed.
    Notified,
}
