//! End to end: the operator binary against the dev-cluster, the simulator and a real SMTP server,
//! for CloudContracts and BudgetAlerts.

use crate::support;

use ccs_operator::api::BudgetAlert;
use kube::Api;
use std::time::Duration;
use support::e2e::{Env, condition, has_condition, wait_for, wait_until};
use support::manifests::{CONTRACT, budget};

fn budget_emails(env: &Env) -> Vec<String> {
    env.smtp
        .messages()
        .into_iter()
        .filter(|m| m.contains("/half@") || m.contains("/most@"))
        .collect()
}

fn count_with(messages: &[String], needle: &str) -> usize {
    messages.iter().filter(|m| m.contains(needle)).count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn contract_and_budget_converge_and_kubectl_shows_the_columns() {
    let env = Env::start().await;
    let _op = env.operator(&[]);
    let spend = env.ready_contract().await;
    env.apply::<BudgetAlert>(budget(
        "monthly",
        "acme",
        &format!("{:.0}", spend * 10.0 + 1000.0),
    ))
    .await;
    let budgets: Api<BudgetAlert> = Api::namespaced(env.client.clone(), "default");
    wait_for(&budgets, "monthly", "Ready", |b| {
        has_condition(b, "Ready", "True")
    })
    .await;

    let out = std::process::Command::new("kubectl")
        .args(["--kubeconfig", &env.kubeconfig().display().to_string()])
        .args([
            "--cache-dir",
            &env.dir.path().join("kubectl-cache").display().to_string(),
        ])
        .args(["get", "ccontract,budget"])
        .env_remove("HTTPS_PROXY")
        .output()
        .expect("kubectl runs");
    let table = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    for needle in [
        "CONTRACT",
        "WEATHER",
        "INCIDENTS",
        "SPEND",
        CONTRACT,
        "FlexibleEngine",
        "USED",
        "OK",
        "True",
    ] {
        assert!(table.contains(needle), "kubectl get lacks {needle}:\n{table}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_threshold_crossing_sends_one_email_even_across_restarts() {
    let env = Env::start().await;
    let mut op = env.operator(&[]);
    let spend = env.ready_contract().await;
    // Spend is just above half of this budget and well below 90%.
    env.budget_above_half("monthly", spend).await;
    let budgets: Api<BudgetAlert> = Api::namespaced(env.client.clone(), "default");
    wait_for(&budgets, "monthly", "half Notified", |b| {
        b.status.as_ref().is_some_and(|s| {
            s.thresholds
                .iter()
                .any(|t| t.name == "half" && format!("{:?}", t.state) == "Notified")
        })
    })
    .await;
    env.smtp.wait_for(1, Duration::from_secs(20));
    // Stopped right after sending, restarted: the threshold stays notified.
    op.stop();
    let op2 = env.operator(&[]);
    env.sim.advance_clock(3600.0);
    let before = env.last_call();
    wait_until(support::e2e::DEADLINE, "two more evaluations", || async {
        (env.calls_since(before + 1)
            .iter()
            .filter(|c| c.route.contains("dashboard"))
            .count()
            >= 2)
            .then_some(())
    })
    .await;
    let emails = budget_emails(&env);
    assert_eq!(
        count_with(&emails, "/half@"),
        1,
        "one email for 'half' in the period"
    );
    assert_eq!(count_with(&emails, "/most@"), 0, "90% not reached");
    let raw = &emails[0];
    assert!(
        raw.contains("Subject: [ccs-operator] Actual spend reached threshold half"),
        "{raw}"
    );
    drop(op2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_new_period_re_arms_and_stale_data_raises_nothing() {
    let env = Env::start().await;
    let _op = env.operator(&[]);
    let spend = env.ready_contract().await;
    env.budget_above_half("monthly", spend).await;
    let budgets: Api<BudgetAlert> = Api::namespaced(env.client.clone(), "default");
    let first = wait_for(&budgets, "monthly", "half notified", |b| {
        b.status.as_ref().is_some_and(|s| {
            s.thresholds
                .iter()
                .any(|t| t.name == "half" && t.notified_at.is_some())
        })
    })
    .await;
    let first_period = first
        .status
        .as_ref()
        .and_then(|s| s.period.clone())
        .expect("period")
        .key;

    // Next month: the thresholds are re-armed under the new period key.
    let next_month = {
        use chrono::Datelike;
        let now = env.sim.now();
        let (y, m) = if now.month() == 12 {
            (now.year() + 1, 1)
        } else {
            (now.year(), now.month() + 1)
        };
        chrono::NaiveDate::from_ymd_opt(y, m, 2)
            .expect("date")
            .and_hms_opt(12, 0, 0)
            .expect("time")
            .and_utc()
    };
    // The real clock must not see this as stale: the simulator's clock only moves forward here.
    env.sim.set_clock(next_month.max(chrono::Utc::now()));
    let rolled = wait_for(&budgets, "monthly", "new period", |b| {
        b.status
            .as_ref()
            .and_then(|s| s.period.as_ref())
            .is_some_and(|p| p.key != first_period)
    })
    .await;
    let status = rolled.status.expect("status");
    assert!(
        status.thresholds.iter().all(|t| t.period_key != first_period),
        "{:?}",
        status.thresholds
    );

    // Stale data: the portal's data is older than twice the poll interval.
    env.sim.set_clock(chrono::Utc::now() - chrono::Duration::hours(2));
    let stale = wait_for(&budgets, "monthly", "DataFresh=False", |b| {
        has_condition(b, "DataFresh", "False")
    })
    .await;
    let (_, reason, message) = condition(&stale, "DataFresh").expect("condition");
    assert_eq!(reason, "StaleData");
    assert!(
        message.contains("older than twice the poll interval"),
        "{message}"
    );
    assert!(
        stale
            .status
            .expect("status")
            .thresholds
            .iter()
            .all(|t| t.notified_at.is_none() || t.period_key == first_period)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_smtp_outage_surfaces_notification_failed_and_recovers() {
    let mut env = Env::start().await;
    let _op = env.operator(&[]);
    let spend = env.ready_contract().await;
    env.smtp.stop();
    env.budget_above_half("monthly", spend).await;
    let budgets: Api<BudgetAlert> = Api::namespaced(env.client.clone(), "default");
    let failed = wait_for(&budgets, "monthly", "NotificationFailed", |b| {
        has_condition(b, "NotificationFailed", "True")
    })
    .await;
    let status = failed.status.expect("status");
    assert!(
        status
            .thresholds
            .iter()
            .any(|t| t.name == "half" && format!("{:?}", t.state) == "Triggered")
    );
    env.smtp.restart();
    wait_for(&budgets, "monthly", "sent after recovery", |b| {
        has_condition(b, "NotificationFailed", "False")
            && b.status.as_ref().is_some_and(|s| {
                s.thresholds
                    .iter()
                    .any(|t| t.name == "half" && t.notified_at.is_some())
            })
    })
    .await;
    assert_eq!(count_with(&budget_emails(&env), "/half@"), 1);
}
