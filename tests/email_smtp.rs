//! Emails go through a real SMTP server, with the text and HTML parts and the dedup Message-ID.

mod support;

use ccs_operator::api::budget_alert::ThresholdBasis;
use ccs_operator::api::common::Locale;
use ccs_operator::config::{SmtpConfig, SmtpTls};
use ccs_operator::email::templates::{BudgetFacts, budget_email};
use ccs_operator::email::{LettreMailer, Mailer};
use std::time::Duration;
use support::smtp::SmtpSink;

fn facts() -> BudgetFacts<'static> {
    BudgetFacts {
        uid: "9c1d2e",
        budget: "default/acme-monthly",
        contract_id: "FE-0001",
        threshold: "most",
        basis: ThresholdBasis::Forecasted,
        threshold_value: "4500.00",
        actual: "3100.00",
        forecast: "4650.00",
        budget_amount: "5000",
        currency: "EUR",
        period: "2026-11",
        used_percent: "62.00",
    }
}

fn smtp_config(port: u16) -> SmtpConfig {
    SmtpConfig {
        host: "127.0.0.1".into(),
        port,
        tls: SmtpTls::None,
        from: "ccs-operator <ccs@acme.example>".into(),
        ..SmtpConfig::default()
    }
}

#[tokio::test]
async fn a_budget_email_reaches_the_smtp_server_with_both_parts_and_its_message_id() {
    ccs_operator::install_crypto_provider();
    let sink = SmtpSink::start();
    let mailer = LettreMailer::from_config(&smtp_config(sink.port), None).expect("mailer");
    let email = budget_email(
        &facts(),
        Locale::Fr,
        vec!["finops@acme.example".into(), "cto@acme.example".into()],
    );
    mailer.send(&email).await.expect("sent");

    let messages = sink.wait_for(1, Duration::from_secs(10));
    assert_eq!(messages.len(), 1, "one message for two recipients");
    let raw = &messages[0];
    assert!(
        raw.contains("Message-ID: <9c1d2e/2026-11/most@ccs-operator.customerspace.io>"),
        "{raw}"
    );
    assert!(raw.contains("To: finops@acme.example, cto@acme.example"), "{raw}");
    assert!(raw.contains("multipart/alternative"));
    assert!(raw.contains("text/plain") && raw.contains("text/html"));
}

#[tokio::test]
async fn an_smtp_outage_is_a_retryable_delivery_error() {
    ccs_operator::install_crypto_provider();
    let mut sink = SmtpSink::start();
    let port = sink.port;
    sink.stop();
    let mailer = LettreMailer::from_config(&smtp_config(port), None).expect("mailer");
    let err = mailer
        .send(&budget_email(&facts(), Locale::En, vec!["a@acme.example".into()]))
        .await
        .unwrap_err();
    assert!(err.is_retryable(), "{err}");
}

#[tokio::test]
async fn a_bad_recipient_is_not_retryable() {
    ccs_operator::install_crypto_provider();
    let dir = tempfile::tempdir().expect("tempdir");
    let mailer = LettreMailer::to_directory(dir.path().to_path_buf(), "ccs@acme.example").expect("mailer");
    let err = mailer
        .send(&budget_email(&facts(), Locale::En, vec!["not an address".into()]))
        .await
        .unwrap_err();
    assert!(!err.is_retryable());
    mailer
        .send(&budget_email(
            &facts(),
            Locale::En,
            vec!["ok@acme.example".into()],
        ))
        .await
        .expect("file transport");
    let files: Vec<_> = std::fs::read_dir(dir.path()).expect("dir").collect();
    assert_eq!(files.len(), 1, "one .eml file");
}
