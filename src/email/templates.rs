//! Email texts in English and French, plain text plus HTML.

use super::{Email, EmailKind};
use crate::api::budget_alert::ThresholdBasis;
use crate::api::common::Locale;
use html_escape::encode_text as esc;

/// Domain part of every Message-ID the operator generates.
const MESSAGE_ID_DOMAIN: &str = "ccs-operator.customerspace.io";

/// Facts of a budget threshold crossing.
#[derive(Clone, Debug)]
pub struct BudgetFacts<'a> {
    /// uid of the BudgetAlert (part of the Message-ID key).
    pub uid: &'a str,
    /// `namespace/name` of the BudgetAlert.
    pub budget: &'a str,
    /// Customer Space contract id.
    pub contract_id: &'a str,
    /// Threshold name.
    pub threshold: &'a str,
    /// What the threshold compares.
    pub basis: ThresholdBasis,
    /// Threshold value.
    pub threshold_value: &'a str,
    /// Actual spend to date.
    pub actual: &'a str,
    /// Forecast for the period end.
    pub forecast: &'a str,
    /// Budget amount.
    pub budget_amount: &'a str,
    /// Currency.
    pub currency: &'a str,
    /// Period key such as `2026-11`.
    pub period: &'a str,
    /// Used percentage of the budget.
    pub used_percent: &'a str,
}

/// A part of a Message-ID: kept when short and plain (a uid, a period key, a threshold name, a
/// state), else its digest. Whatever the spec or the portal holds, the Message-ID stays a valid,
/// bounded `id-left` that reveals nothing.
fn id_part(part: &str) -> String {
    let plain = !part.is_empty()
        && part.len() <= 64
        && part
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b));
    if plain {
        part.to_string()
    } else {
        crate::controllers::common::digest(part)
    }
}

/// The Message-ID of a budget email: the key `budget uid / period / threshold`.
pub fn budget_message_id(uid: &str, period: &str, threshold: &str) -> String {
    format!(
        "{}/{}/{}@{MESSAGE_ID_DOMAIN}",
        id_part(uid),
        id_part(period),
        id_part(threshold)
    )
}

/// The Message-ID of an incident email: contract uid, the digest of the portal's incident id (never
/// the id itself: it is external data), state.
pub fn incident_message_id(contract_uid: &str, incident_id: &str, state: &str) -> String {
    format!(
        "incident/{}/{}/{}@{MESSAGE_ID_DOMAIN}",
        id_part(contract_uid),
        crate::controllers::common::digest(incident_id),
        id_part(state)
    )
}

/// The email for a crossed budget threshold.
pub fn budget_email(facts: &BudgetFacts<'_>, locale: Locale, to: Vec<String>) -> Email {
    let f = facts;
    let (subject, lines) = match locale {
        Locale::En => {
            let what = match f.basis {
                ThresholdBasis::Actual => "Actual spend",
                ThresholdBasis::Forecasted => "Forecast spend",
            };
            (
                format!(
                    "[ccs-operator] {what} reached threshold {} on contract {}",
                    f.threshold, f.contract_id
                ),
                vec![
                    format!(
                        "{what} on contract {} crossed the threshold \"{}\" of budget {}.",
                        f.contract_id, f.threshold, f.budget
                    ),
                    format!("Period: {}", f.period),
                    format!("Threshold: {} {}", f.threshold_value, f.currency),
                    format!(
                        "Actual spend to date: {} {} ({}% of the budget)",
                        f.actual, f.currency, f.used_percent
                    ),
                    format!("Forecast for the period end: {} {}", f.forecast, f.currency),
                    format!("Budget: {} {}", f.budget_amount, f.currency),
                ],
            )
        }
        Locale::Fr => {
            let what = match f.basis {
                ThresholdBasis::Actual => "La consommation réelle",
                ThresholdBasis::Forecasted => "La consommation prévue",
            };
            (
                format!(
                    "[ccs-operator] Seuil {} atteint sur le contrat {}",
                    f.threshold, f.contract_id
                ),
                vec![
                    format!(
                        "{what} du contrat {} a franchi le seuil « {} » du budget {}.",
                        f.contract_id, f.threshold, f.budget
                    ),
                    format!("Période : {}", f.period),
                    format!("Seuil : {} {}", f.threshold_value, f.currency),
                    format!(
                        "Consommation à date : {} {} ({} % du budget)",
                        f.actual, f.currency, f.used_percent
                    ),
                    format!("Prévision en fin de période : {} {}", f.forecast, f.currency),
                    format!("Budget : {} {}", f.budget_amount, f.currency),
                ],
            )
        }
    };
    compose(
        EmailKind::Budget,
        to,
        subject,
        &lines,
        budget_message_id(f.uid, f.period, f.threshold),
    )
}

/// Facts of an incident change.
#[derive(Clone, Debug)]
pub struct IncidentFacts<'a> {
    /// uid of the CloudContract.
    pub contract_uid: &'a str,
    /// Customer Space contract id.
    pub contract_id: &'a str,
    /// Incident id.
    pub id: &'a str,
    /// Title.
    pub title: &'a str,
    /// Severity 1 (most severe) to 4.
    pub severity: i32,
    /// New state.
    pub state: &'a str,
    /// Last update time.
    pub updated: &'a str,
}

/// The email for an incident that opened or changed state.
pub fn incident_email(f: &IncidentFacts<'_>, locale: Locale, to: Vec<String>) -> Email {
    let (subject, lines) = match locale {
        Locale::En => (
            format!(
                "[ccs-operator] Incident {} (severity {}) is {} on contract {}",
                f.id, f.severity, f.state, f.contract_id
            ),
            vec![
                format!("Incident {}: {}", f.id, f.title),
                format!("Contract: {}", f.contract_id),
                format!("Severity: {} (1 is the most severe)", f.severity),
                format!("State: {}", f.state),
                format!("Updated: {}", f.updated),
            ],
        ),
        Locale::Fr => (
            format!(
                "[ccs-operator] Incident {} (sévérité {}) : {} sur le contrat {}",
                f.id, f.severity, f.state, f.contract_id
            ),
            vec![
                format!("Incident {} : {}", f.id, f.title),
                format!("Contrat : {}", f.contract_id),
                format!("Sévérité : {} (1 est la plus grave)", f.severity),
                format!("État : {}", f.state),
                format!("Mis à jour : {}", f.updated),
            ],
        ),
    };
    let id = incident_message_id(f.contract_uid, f.id, f.state);
    compose(EmailKind::Incident, to, subject, &lines, id)
}

/// One incident in a summary email.
#[derive(Clone, Debug)]
pub struct IncidentLine<'a> {
    /// Incident id.
    pub id: &'a str,
    /// Title.
    pub title: &'a str,
    /// Severity 1 (most severe) to 4.
    pub severity: i32,
    /// New state.
    pub state: &'a str,
}

/// The one email summarising the incident changes beyond the per-reconcile limit of single
/// emails. Its Message-ID is the digest of the (incident, state) pairs it lists.
pub fn incident_summary_email(
    contract_uid: &str,
    contract_id: &str,
    incidents: &[IncidentLine<'_>],
    locale: Locale,
    to: Vec<String>,
) -> Email {
    let n = incidents.len();
    let (subject, mut lines) = match locale {
        Locale::En => (
            format!("[ccs-operator] {n} more incident change(s) on contract {contract_id}"),
            vec![format!(
                "{n} more incident(s) opened or changed state on contract {contract_id}:"
            )],
        ),
        Locale::Fr => (
            format!("[ccs-operator] {n} autre(s) changement(s) d'incident sur le contrat {contract_id}"),
            vec![format!(
                "{n} autre(s) incident(s) ouvert(s) ou changé(s) d'état sur le contrat {contract_id} :"
            )],
        ),
    };
    lines.extend(incidents.iter().map(|i| {
        format!(
            "Incident {} is {} (severity {}): {}",
            i.id, i.state, i.severity, i.title
        )
    }));
    let key: String = incidents
        .iter()
        .map(|i| format!("{}\n{}\n", i.id, i.state))
        .collect();
    let id = format!(
        "incidents/{}/{}@{MESSAGE_ID_DOMAIN}",
        id_part(contract_uid),
        crate::controllers::common::digest(&key)
    );
    compose(EmailKind::Incident, to, subject, &lines, id)
}

/// Facts of a finished order.
#[derive(Clone, Debug)]
pub struct OrderFacts<'a> {
    /// uid of the ServiceOrder.
    pub uid: &'a str,
    /// `namespace/name` of the ServiceOrder.
    pub order: &'a str,
    /// Customer Space contract id.
    pub contract_id: &'a str,
    /// Catalog item code.
    pub catalog_item: &'a str,
    /// Portal request id.
    pub request_id: &'a str,
    /// Final state (`Completed` or `Rejected`).
    pub state: &'a str,
    /// Portal message, if any.
    pub message: &'a str,
}

/// The email for a completed or rejected order.
pub fn order_email(f: &OrderFacts<'_>, locale: Locale, to: Vec<String>) -> Email {
    let (subject, lines) = match locale {
        Locale::En => (
            format!(
                "[ccs-operator] Order {} {} ({})",
                f.request_id,
                f.state.to_lowercase(),
                f.catalog_item
            ),
            vec![
                format!(
                    "The order {} of {} on contract {} is {}.",
                    f.order, f.catalog_item, f.contract_id, f.state
                ),
                format!("Portal request: {}", f.request_id),
                format!("Message: {}", f.message),
            ],
        ),
        Locale::Fr => (
            format!(
                "[ccs-operator] Commande {} : {} ({})",
                f.request_id, f.state, f.catalog_item
            ),
            vec![
                format!(
                    "La commande {} de {} sur le contrat {} est : {}.",
                    f.order, f.catalog_item, f.contract_id, f.state
                ),
                format!("Demande portail : {}", f.request_id),
                format!("Message : {}", f.message),
            ],
        ),
    };
    let id = format!(
        "order/{}/{}@{MESSAGE_ID_DOMAIN}",
        id_part(f.uid),
        id_part(f.state)
    );
    compose(EmailKind::Order, to, subject, &lines, id)
}

fn compose(kind: EmailKind, to: Vec<String>, subject: String, lines: &[String], message_id: String) -> Email {
    let text = format!("{}\n\n-- \nccs-operator\n", lines.join("\n"));
    let items: String = lines[1..]
        .iter()
        .map(|l| format!("<li>{}</li>", esc(l)))
        .collect();
    let html = format!(
        "<!DOCTYPE html><html><body><p><strong>{}</strong></p><ul>{items}</ul><p>ccs-operator</p></body></html>",
        esc(&lines[0])
    );
    Email {
        kind,
        to,
        subject,
        text,
        html,
        message_id,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn facts() -> BudgetFacts<'static> {
        BudgetFacts {
            uid: "0b6f",
            budget: "default/acme-monthly",
            contract_id: "FE-0001",
            threshold: "half",
            basis: ThresholdBasis::Actual,
            threshold_value: "2500.00",
            actual: "2600.00",
            forecast: "4800.00",
            budget_amount: "5000",
            currency: "EUR",
            period: "2026-11",
            used_percent: "52.00",
        }
    }

    #[test]
    fn budget_email_names_contract_threshold_spend_budget_period_and_forecast() {
        let email = budget_email(&facts(), Locale::En, vec!["finops@acme.example".into()]);
        for needle in [
            "FE-0001",
            "half",
            "2600.00 EUR",
            "5000 EUR",
            "2026-11",
            "4800.00 EUR",
            "52.00%",
        ] {
            assert!(email.text.contains(needle), "text lacks {needle}: {}", email.text);
        }
        assert_eq!(
            email.message_id,
            "0b6f/2026-11/half@ccs-operator.customerspace.io"
        );
        assert!(email.html.contains("<li>Budget: 5000 EUR</li>"));
    }

    #[test]
    fn message_ids_hold_only_plain_or_hashed_parts() {
        let uid = "0f8c2a4e-1b2c-4d5e-8f90-123456789abc";
        let hostile = "INC-1>\r\nBcc: x@evil.example <@";
        let f = IncidentFacts {
            contract_uid: uid,
            contract_id: "FE-0001",
            id: hostile,
            title: "t",
            severity: 1,
            state: "Open",
            updated: "2026-11-25T10:00:00Z",
        };
        let id = incident_email(&f, Locale::En, vec![]).message_id;
        let plain = |id: &str| {
            id.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"-_./@".contains(&b))
        };
        assert!(plain(&id), "{id}");
        assert!(
            id.starts_with(&format!("incident/{uid}/h")),
            "the uid stays: {id}"
        );
        assert!(!id.contains("INC"), "external ids are hashed: {id}");
        assert_eq!(
            id,
            incident_message_id(uid, hostile, "Open"),
            "stable across calls"
        );
        let budget = budget_message_id(uid, "2026-11", "half <b>");
        assert!(
            plain(&budget) && budget.starts_with(&format!("{uid}/2026-11/h")),
            "{budget}"
        );
        let lines = [IncidentLine {
            id: hostile,
            title: "t",
            severity: 2,
            state: "Resolved",
        }];
        let summary = incident_summary_email(uid, "FE-0001", &lines, Locale::En, vec![]);
        assert!(plain(&summary.message_id), "{}", summary.message_id);
        assert!(
            summary.text.contains("is Resolved (severity 2)"),
            "{}",
            summary.text
        );
    }

    #[test]
    fn french_budget_email_and_html_escaping() {
        let mut f = facts();
        f.budget = "default/<acme>";
        let email = budget_email(&f, Locale::Fr, vec![]);
        assert!(email.subject.starts_with("[ccs-operator] Seuil half atteint"));
        assert!(email.text.contains("Prévision en fin de période : 4800.00 EUR"));
        assert!(email.html.contains("&lt;acme&gt;") && !email.html.contains("<acme>"));
    }
}
