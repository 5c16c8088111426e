//! End to end: production hardening (issue 12). A panicking reconcile fails its object alone; a
//! dead controller ends the process with a non-zero exit and hands the Lease to the standby;
//! hostile annotations and portal data never stop the operator.
//!
//! The panic hooks (`CCS_DEBUG_PANIC_ON`, `CCS_DEBUG_PANIC_UNCAUGHT_ON`) exist in debug builds
//! only, which is what `cargo test` runs.

use crate::support;

use ccs_operator::api::BudgetAlert;
use kube::Api;
use kube::api::{Patch, PatchParams};
use std::time::{Duration, Instant};
use support::e2e::{DEADLINE, Env, Operator, condition, has_condition, wait_for, wait_until};
use support::manifests::budget;

async fn leader_flag(op: &Operator) -> Option<f64> {
    op.metric("ccs_leader ").await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_panicking_reconcile_fails_its_object_alone() {
    let env = Env::start().await;
    let mut op = env.operator_with_env(&[("CCS_DEBUG_PANIC_ON", "default/broken")], &[]);
    env.ready_contract().await;
    env.apply::<BudgetAlert>(budget("broken", "acme", "100000")).await;
    env.apply::<BudgetAlert>(budget("fine", "acme", "100000")).await;
    let budgets: Api<BudgetAlert> = Api::namespaced(env.client.clone(), "default");
    let broken = wait_for(&budgets, "broken", "Ready=False, reason Internal", |b| {
        condition(b, "Ready").is_some_and(|(s, r, _)| s == "False" && r == "Internal")
    })
    .await;
    let (_, _, message) = condition(&broken, "Ready").expect("Ready");
    assert!(message.contains("internal error"), "{message}");
    wait_for(&budgets, "fine", "Ready", |b| has_condition(b, "Ready", "True")).await;
    // The controllers still run after the panic: a new object is reconciled too.
    env.apply::<BudgetAlert>(budget("later", "acme", "100000")).await;
    wait_for(&budgets, "later", "Ready", |b| has_condition(b, "Ready", "True")).await;
    assert!(op.is_running(), "the operator exited; log:\n{}", op.logs());
    assert_eq!(op.probe("/readyz").await, 200);
    let scrape = op.scrape().await;
    assert!(
        scrape
            .lines()
            .any(|l| l.starts_with("ccs_reconcile_errors_total{")
                && l.contains("category=\"Internal\"")
                && l.contains("kind=\"BudgetAlert\"")),
        "the panic is counted as an Internal error:\n{scrape}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_dead_controller_exits_non_zero_and_the_standby_takes_over() {
    let env = Env::start().await;
    let vars = [("CCS_LEASE_DURATION", "3s")];
    let mut doomed = env.operator_with_env(
        &[
            ("CCS_LEASE_DURATION", "3s"),
            ("CCS_DEBUG_PANIC_UNCAUGHT_ON", "default/doomed"),
        ],
        &["--leader-election", "true"],
    );
    wait_until(DEADLINE, "the first replica leads", || async {
        (leader_flag(&doomed).await == Some(1.0)).then_some(())
    })
    .await;
    let standby = env.operator_with_env(&vars, &["--leader-election", "true"]);
    wait_until(DEADLINE, "the second replica stands by", || async {
        (leader_flag(&standby).await == Some(0.0)).then_some(())
    })
    .await;
    env.ready_contract().await;

    env.apply::<BudgetAlert>(budget("doomed", "acme", "100000")).await;
    let status = doomed.exited_within(DEADLINE).await;
    let died = Instant::now();
    assert!(!status.success(), "exit status {status:?}");
    let log = doomed.logs();
    assert!(log.contains("the controllers panicked"), "log:\n{log}");

    // The Lease was released on the way out: the standby leads well before it would expire.
    wait_until(DEADLINE, "the standby leads", || async {
        (leader_flag(&standby).await == Some(1.0)).then_some(())
    })
    .await;
    eprintln!("takeover after {:?}", died.elapsed());
    assert!(
        died.elapsed() < Duration::from_secs(10),
        "took over after {:?}",
        died.elapsed()
    );
    let budgets: Api<BudgetAlert> = Api::namespaced(env.client.clone(), "default");
    wait_for(&budgets, "doomed", "Ready under the new leader", |b| {
        has_condition(b, "Ready", "True")
    })
    .await;
}

/// The reproduction: one annotation stopped every controller of the process.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_huge_poll_interval_is_clamped_and_the_operator_goes_on() {
    const WITHIN: Duration = Duration::from_secs(15);
    let env = Env::start().await;
    let mut op = env.operator(&[]);
    env.ready_contract().await;
    env.apply::<BudgetAlert>(budget("monthly", "acme", "100000"))
        .await;
    let budgets: Api<BudgetAlert> = Api::namespaced(env.client.clone(), "default");
    wait_for(&budgets, "monthly", "Ready", |b| {
        has_condition(b, "Ready", "True")
    })
    .await;

    let annotate = |value: serde_json::Value| {
        let budgets = budgets.clone();
        async move {
            let patch = serde_json::json!({"metadata": {"annotations": value}});
            budgets
                .patch("monthly", &PatchParams::default(), &Patch::Merge(&patch))
                .await
                .expect("annotated");
        }
    };
    annotate(serde_json::json!({"customerspace.io/poll-interval": "580000000000y"})).await;
    let asked = Instant::now();
    env.apply::<BudgetAlert>(budget("second", "acme", "100000")).await;
    wait_until(WITHIN, "a new BudgetAlert Ready", || async {
        budgets
            .get("second")
            .await
            .ok()
            .filter(|b| has_condition(b, "Ready", "True"))
    })
    .await;
    annotate(serde_json::json!({"customerspace.io/reconcile-requested-at": "after-the-annotation"})).await;
    let handled = wait_until(WITHIN, "reconcile-requested-at echoed", || async {
        budgets.get("monthly").await.ok().filter(|b| {
            b.status
                .as_ref()
                .and_then(|s| s.last_handled_reconcile_at.as_deref())
                == Some("after-the-annotation")
        })
    })
    .await;
    eprintln!("both handled {:?} after the annotation", asked.elapsed());
    let (status, _, message) = condition(&handled, "Ready").expect("Ready");
    assert_eq!(status, "True", "{message}");
    assert!(message.contains("clamped to the maximum of 1day"), "{message}");
    assert!(op.is_running(), "log:\n{}", op.logs());
    assert!(!op.logs().contains("panicked"), "log:\n{}", op.logs());
}

/// Each hostile-data case on the dashboard: after the operator has read it, the contract is
/// Ready or reports a clear failed condition (written to status), and the operator runs on.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn hostile_portal_data_keeps_the_contract_ready_or_clearly_failing() {
    use ccs_operator::api::CloudContract;
    use ccs_operator::portal::model::API_PREFIX;
    use ccs_simulator::{FaultKind, FaultRule, HostileCase};
    let env = Env::start().await;
    let mut op = env.operator(&[]);
    env.ready_contract().await;
    let contracts: Api<CloudContract> = Api::namespaced(env.client.clone(), "default");
    for case in [
        HostileCase::NegativeAmounts,
        HostileCase::HugeAmounts,
        HostileCase::HugeLists,
        HostileCase::ExtremeDates,
        HostileCase::UnknownEnums,
        HostileCase::LongStrings,
    ] {
        let since = env.last_call();
        env.sim.set_faults(vec![FaultRule {
            method: Some("GET".into()),
            route: format!("{API_PREFIX}/contracts/{{contractId}}/dashboard"),
            fault: FaultKind::HostileData { case, items: 10_000 },
            rate: 1.0,
            count: None,
        }]);
        let asked = format!("{case:?}");
        let patch = serde_json::json!({"metadata": {"annotations": {
            "customerspace.io/reconcile-requested-at": asked}}});
        contracts
            .patch("acme", &PatchParams::default(), &Patch::Merge(&patch))
            .await
            .expect("annotated");
        wait_until(DEADLINE, &format!("{case:?} served"), || async {
            env.calls_since(since)
                .iter()
                .any(|c| c.fault.as_deref() == Some("HostileData"))
                .then_some(())
        })
        .await;
        let served = env.last_call();
        let outcome = wait_until(DEADLINE, &format!("{case:?} handled"), || async {
            let c = contracts.get("acme").await.ok()?;
            let (status, reason, message) = condition(&c, "Ready")?;
            let handled = c.status.as_ref()?.last_handled_reconcile_at.as_deref() == Some(asked.as_str());
            // Ready from a sync after the hostile read, or a failure naming its cause.
            let ready = handled && status == "True" && env.last_call() >= served;
            let failed = status == "False" && !message.is_empty() && env.calls_since(since).len() > 1;
            (ready || failed).then(|| {
                format!(
                    "{status} {reason}: {}",
                    message.chars().take(160).collect::<String>()
                )
            })
        })
        .await;
        eprintln!("{case:?}: Ready {outcome}");
        assert!(op.is_running(), "{case:?}; log:\n{}", op.logs());
    }
    env.sim.set_faults(vec![]);
    assert!(!op.logs().contains("panicked"), "log:\n{}", op.logs());
}
