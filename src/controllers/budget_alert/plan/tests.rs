use super::*;
use crate::api::budget_alert::{BudgetPeriod, Threshold};
use crate::api::common::Locale;

fn at(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s)
        .expect("rfc3339")
        .with_timezone(&Utc)
}

fn threshold(name: &str, percent: i32, basis: ThresholdBasis) -> Threshold {
    Threshold {
        name: name.into(),
        percent: Some(percent),
        amount: None,
        basis,
        recipients: None,
    }
}

fn spec(thresholds: Vec<Threshold>) -> BudgetAlertSpec {
    BudgetAlertSpec {
        contract: "acme".into(),
        amount: "3000".into(),
        currency: "EUR".into(),
        period: BudgetPeriod::Monthly,
        thresholds,
        recipients: vec!["finops@acme.example".into()],
        locale: Locale::En,
    }
}

/// `per_day` EUR every day of November 2026 up to and including `last_day`, data as of that day's end.
fn spend(per_day: i64, last_day: u32) -> SpendObservation {
    let daily = (1..=last_day)
        .map(|d| {
            (
                NaiveDate::from_ymd_opt(2026, 11, d).expect("date"),
                Decimal::from(per_day),
            )
        })
        .collect();
    let as_of = NaiveDate::from_ymd_opt(2026, 11, last_day).expect("date");
    SpendObservation {
        currency: "EUR".into(),
        daily,
        data_as_of: as_of.and_hms_opt(23, 59, 59).expect("time").and_utc(),
    }
}

const FRESH: Duration = Duration::from_secs(600);

#[test]
fn below_every_threshold_is_ok_and_armed() {
    let s = spec(vec![threshold("half", 50, ThresholdBasis::Actual)]);
    let e = evaluate(&s, &[], &spend(10, 10), at("2026-11-11T00:05:00Z"), FRESH).expect("evaluates");
    assert_eq!(e.actual, Decimal::from(100));
    assert_eq!(
        e.forecast,
        Decimal::from(300),
        "100 over 10 days of a 30-day month"
    );
    assert_eq!(e.used_percent.to_string(), "3.33");
    assert_eq!(e.state, BudgetState::Ok);
    assert_eq!(e.thresholds[0].state, ThresholdState::Armed);
    assert!(e.notices.is_empty());
}

#[test]
fn crossing_triggers_once_then_stays_notified() {
    let s = spec(vec![
        threshold("half", 50, ThresholdBasis::Actual),
        threshold("over", 100, ThresholdBasis::Actual),
    ]);
    let now = at("2026-11-16T00:05:00Z");
    let first = evaluate(&s, &[], &spend(100, 15), now, FRESH).expect("evaluates");
    assert_eq!(first.thresholds[0].state, ThresholdState::Triggered);
    assert_eq!(first.thresholds[1].state, ThresholdState::Armed);
    assert_eq!(first.notices.len(), 1);
    assert_eq!(first.notices[0].value, Decimal::from(1500));
    assert_eq!(first.state, BudgetState::Warning);

    // A crash before the email was sent: still Triggered, so the email is still due.
    let again = evaluate(&s, &first.thresholds, &spend(100, 15), now, FRESH).expect("evaluates");
    assert_eq!(again.notices.len(), 1);

    let mut sent = first.thresholds.clone();
    mark_notified(&mut sent, "half", now);
    let after = evaluate(&s, &sent, &spend(100, 16), at("2026-11-17T00:05:00Z"), FRESH).expect("evaluates");
    assert_eq!(after.thresholds[0].state, ThresholdState::Notified);
    assert!(
        after.notices.is_empty(),
        "exactly one email per threshold per period"
    );
}

#[test]
fn a_new_period_re_arms() {
    let s = spec(vec![threshold("half", 50, ThresholdBasis::Actual)]);
    let mut statuses = evaluate(&s, &[], &spend(100, 20), at("2026-11-21T00:00:00Z"), FRESH)
        .expect("ok")
        .thresholds;
    mark_notified(&mut statuses, "half", at("2026-11-21T00:00:00Z"));
    let december = SpendObservation {
        currency: "EUR".into(),
        daily: vec![(
            NaiveDate::from_ymd_opt(2026, 12, 1).expect("date"),
            Decimal::from(10),
        )],
        data_as_of: at("2026-12-02T00:00:00Z"),
    };
    let e = evaluate(&s, &statuses, &december, at("2026-12-02T00:01:00Z"), FRESH).expect("ok");
    assert_eq!(e.period.key, "2026-12");
    assert_eq!(e.actual, Decimal::from(10), "November's spend is not December's");
    assert_eq!(e.thresholds[0].state, ThresholdState::Armed);
    assert_eq!(e.thresholds[0].period_key, "2026-12");
}

#[test]
fn stale_data_triggers_nothing() {
    let s = spec(vec![threshold("half", 50, ThresholdBasis::Actual)]);
    let e = evaluate(&s, &[], &spend(100, 20), at("2026-11-21T01:00:00Z"), FRESH).expect("ok");
    assert!(!e.data_fresh);
    assert_eq!(e.thresholds[0].state, ThresholdState::Armed);
    assert!(e.notices.is_empty());
}

#[test]
fn forecast_is_not_sent_while_an_actual_threshold_above_it_is_notified() {
    let s = spec(vec![
        threshold("actual-90", 90, ThresholdBasis::Actual),
        threshold("forecast-80", 80, ThresholdBasis::Forecasted),
    ]);
    let now = at("2026-11-28T00:05:00Z");
    // 2700 spent by day 27: actual crosses 90%, and the forecast crosses 80%, in the same evaluation.
    let first = evaluate(&s, &[], &spend(100, 27), now, FRESH).expect("ok");
    assert_eq!(first.notices.len(), 2, "nothing is Notified yet, so both are due");

    // Had only the Actual one been notified before the forecast crossed, the forecast is suppressed.
    let mut earlier = vec![armed("actual-90", "2026-11"), armed("forecast-80", "2026-11")];
    earlier[0].state = ThresholdState::Notified;
    let e = evaluate(&s, &earlier, &spend(100, 27), now, FRESH).expect("ok");
    assert!(e.notices.is_empty());
    assert_eq!(e.thresholds[1].state, ThresholdState::Notified);
    assert_eq!(e.thresholds[1].suppressed_by.as_deref(), Some("actual-90"));
}

#[test]
fn amount_thresholds_recipient_overrides_and_exceeded_state() {
    let over = Threshold {
        name: "abs".into(),
        percent: None,
        amount: Some("2500.50".into()),
        basis: ThresholdBasis::Actual,
        recipients: Some(vec!["cto@acme.example".into()]),
    };
    let e = evaluate(
        &spec(vec![over]),
        &[],
        &spend(110, 30),
        at("2026-11-30T23:59:00Z"),
        FRESH,
    )
    .expect("ok");
    assert_eq!(e.actual, Decimal::from(3300));
    assert_eq!(e.state, BudgetState::Exceeded);
    assert_eq!(e.notices[0].recipients, ["cto@acme.example"]);
    assert_eq!(e.notices[0].value.to_string(), "2500.50");
}

#[test]
fn a_currency_mismatch_names_the_field_and_the_fix() {
    let s = spec(vec![threshold("half", 50, ThresholdBasis::Actual)]);
    let mut obs = spend(1, 1);
    obs.currency = "USD".into();
    let err = evaluate(&s, &[], &obs, at("2026-11-02T00:00:00Z"), FRESH).unwrap_err();
    assert_eq!(
        err.to_string(),
        "spec.currency is EUR but the contract is billed in USD; set spec.currency: USD"
    );
}
