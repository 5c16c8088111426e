//! The client under injected faults: bounded retries, Retry-After, timeouts, exactly-once
//! submission under commit-then-fail, and the rate limiter's accuracy.

use crate::portal_common;

use ccs_operator::portal::*;
use ccs_simulator::{FaultKind, FaultRule, SimConfig, Simulator};
use portal_common::*;
use std::sync::Arc;
use std::time::{Duration, Instant};

fn rule(method: &str, route: &str, fault: FaultKind, count: Option<u32>) -> FaultRule {
    FaultRule {
        method: Some(method.into()),
        route: format!("{API_PREFIX}{route}"),
        fault,
        rate: 1.0,
        count,
    }
}

const CONTRACT: &str = "/contracts/{contractId}";
const REQUESTS: &str = "/contracts/{contractId}/requests";

#[tokio::test]
async fn transient_errors_are_retried_a_bounded_number_of_times() {
    let sim = simulator().await;
    let id = contract(&sim, "OCB");
    let (portal, registry) = client_with(&sim, sim.credentials(&id, "manager").unwrap(), fast_config());
    portal.check_credentials().await.unwrap();

    sim.set_faults(vec![rule(
        "GET",
        CONTRACT,
        FaultKind::Error { status: 503 },
        Some(2),
    )]);
    sim.clear_calls();
    portal.get_contract(&id).await.unwrap();
    assert_eq!(calls_on(&sim, "GET", CONTRACT), 3, "two failures then success");
    assert_eq!(
        metric(
            &registry,
            "ccs_portal_retries_total",
            &[("operation", "get_contract")]
        ),
        2.0
    );

    // A lasting outage: 1 attempt + max_retries, then Unavailable, retryable.
    sim.set_faults(vec![rule(
        "GET",
        CONTRACT,
        FaultKind::Error { status: 503 },
        None,
    )]);
    sim.clear_calls();
    let err = portal.get_contract(&id).await.unwrap_err();
    assert_eq!(
        (err.category().as_str(), err.is_terminal()),
        ("Unavailable", false)
    );
    assert_eq!(
        calls_on(&sim, "GET", CONTRACT),
        1 + fast_config().retry.max_retries
    );
}

#[tokio::test]
async fn rate_limited_answers_honour_retry_after() {
    let sim = simulator().await;
    let id = contract(&sim, "OCB");
    let portal = manager(&sim, &id);
    portal.check_credentials().await.unwrap();
    sim.set_faults(vec![rule(
        "GET",
        CONTRACT,
        FaultKind::RateLimit {
            retry_after_seconds: 1,
        },
        Some(1),
    )]);
    sim.clear_calls();
    let start = Instant::now();
    portal.get_contract(&id).await.unwrap();
    // A lower bound only: the backoff alone (<= 50 ms here) could not take a second.
    assert!(
        start.elapsed() >= Duration::from_secs(1),
        "waited {:?}",
        start.elapsed()
    );
    let statuses: Vec<u16> = sim.calls(0).iter().map(|c| c.status).collect();
    assert_eq!(statuses, vec![429, 200]);
}

#[tokio::test]
async fn unsafe_writes_are_not_retried() {
    let sim = simulator().await;
    let id = contract(&sim, "OCB");
    let portal = manager(&sim, &id);
    let account = portal
        .list_users(&id)
        .await
        .unwrap()
        .into_iter()
        .find(|u| !u.referent)
        .unwrap()
        .account
        .id;
    let route = "/users/{accountId}/invitation";
    sim.set_faults(vec![rule("POST", route, FaultKind::Error { status: 503 }, None)]);
    sim.clear_calls();
    let err = portal.send_invitation(&account).await.unwrap_err();
    assert_eq!(err.category(), ErrorCategory::Unavailable);
    assert_eq!(
        calls_on(&sim, "POST", route),
        1,
        "an email is never sent twice by a retry"
    );
}

#[tokio::test]
async fn hangs_time_out_and_are_retried() {
    let sim = simulator().await;
    let id = contract(&sim, "OCB");
    let config = ClientConfig {
        request_timeout: Duration::from_millis(300),
        ..fast_config()
    };
    let (portal, registry) = client_with(&sim, sim.credentials(&id, "manager").unwrap(), config);
    portal.check_credentials().await.unwrap();
    sim.set_faults(vec![rule(
        "GET",
        CONTRACT,
        FaultKind::Hang { seconds: 30 },
        Some(1),
    )]);
    portal.get_contract(&id).await.unwrap();
    assert_eq!(
        metric(
            &registry,
            "ccs_portal_requests_total",
            &[("operation", "get_contract"), ("code_class", "timeout")]
        ),
        1.0
    );

    sim.set_faults(vec![rule("GET", CONTRACT, FaultKind::Hang { seconds: 30 }, None)]);
    let err = portal.get_contract(&id).await.unwrap_err();
    assert_eq!((err.category().as_str(), err.is_terminal()), ("Timeout", false));
}

/// A simulator whose POST does not deduplicate by customerReference: exactly once must come
/// from the client's look-up before retrying.
async fn without_portal_dedup() -> Simulator {
    ccs_operator::install_crypto_provider();
    let config = SimConfig {
        clock_speed: 0.0,
        idempotent_submission: false,
        ..SimConfig::default()
    };
    Simulator::start(config).await.unwrap()
}

/// Submits one order while the write is applied but its answer fails (500 at once, or a hang the
/// client times out on), and checks the portal ends with exactly that one request.
async fn exactly_once_under_commit_then_fail(timeout: bool) {
    let sim = without_portal_dedup().await;
    let id = contract(&sim, "OCB");
    let config = ClientConfig {
        request_timeout: Duration::from_millis(300),
        ..fast_config()
    };
    let (portal, _) = client_with(&sim, sim.credentials(&id, "manager").unwrap(), config);
    let fault = FaultKind::CommitThenFail { timeout, seconds: 30 };
    sim.set_faults(vec![rule("POST", REQUESTS, fault, Some(1))]);
    let request = portal
        .submit_request(&id, &ecs_order(&sim, &id, "ref-ctf"))
        .await
        .unwrap();
    let ids: Vec<String> = sim.requests(&id).into_iter().map(|r| r.id).collect();
    assert_eq!(ids, vec![request.id]);
    // The retry looked the reference up and found it: no second POST.
    assert_eq!(calls_on(&sim, "POST", REQUESTS), 1);
    assert_eq!(calls_on(&sim, "GET", REQUESTS), 1);
}

#[tokio::test]
async fn commit_then_500_creates_exactly_one_request() {
    exactly_once_under_commit_then_fail(false).await;
}

#[tokio::test]
async fn commit_then_timeout_creates_exactly_one_request() {
    exactly_once_under_commit_then_fail(true).await;
}

#[tokio::test]
async fn many_orders_under_mixed_faults_stay_exactly_once() {
    let sim = without_portal_dedup().await;
    let id = contract(&sim, "OCB");
    let config = ClientConfig {
        retry: RetryPolicy {
            max_retries: 10,
            ..fast_config().retry
        },
        ..fast_config()
    };
    let (portal, _) = client_with(&sim, sim.credentials(&id, "manager").unwrap(), config);
    let portal = Arc::new(portal);
    let route = format!("{API_PREFIX}{REQUESTS}");
    sim.set_faults(vec![
        FaultRule {
            method: Some("POST".into()),
            route: route.clone(),
            fault: FaultKind::CommitThenFail {
                timeout: false,
                seconds: 0,
            },
            rate: 0.3,
            count: None,
        },
        FaultRule {
            method: None,
            route,
            fault: FaultKind::Error { status: 503 },
            rate: 0.2,
            count: None,
        },
    ]);
    let tasks: Vec<_> = (0..30)
        .map(|n| {
            let (portal, id, order) = (
                portal.clone(),
                id.clone(),
                ecs_order(&sim, &id, &format!("ref-{n}")),
            );
            tokio::spawn(async move { portal.submit_request(&id, &order).await })
        })
        .collect();
    for task in tasks {
        task.await.unwrap().unwrap();
    }
    let requests = sim.requests(&id);
    assert_eq!(requests.len(), 30);
    let mut refs: Vec<_> = requests.iter().map(|r| r.customer_reference.clone()).collect();
    refs.dedup();
    assert_eq!(refs.len(), 30);
    assert!(
        sim.calls(0)
            .iter()
            .any(|c| c.fault.as_deref() == Some("CommitThenFail")),
        "faults fired"
    );
}

/// Calls/s achieved by `calls` calls of get_contract from 8 concurrent tasks, starting with a full
/// bucket of `burst` tokens. A burst above 1 lets a task woken a little late catch up instead of
/// losing its slot, so scheduler noise on a busy machine does not lower the measured rate.
async fn measured_rate(portal: Arc<ReqwestPortal>, id: &str, calls: usize, burst: usize) -> f64 {
    let start = Instant::now();
    let tasks: Vec<_> = (0..8)
        .map(|t| {
            let (portal, id) = (portal.clone(), id.to_string());
            tokio::spawn(async move {
                for _ in (t..calls).step_by(8) {
                    portal.get_contract(&id).await.unwrap();
                }
            })
        })
        .collect();
    for task in tasks {
        task.await.unwrap();
    }
    // The first `burst` calls take the bucket's tokens at once; the rest are spaced by the limiter.
    (calls - burst) as f64 / start.elapsed().as_secs_f64()
}

#[tokio::test]
async fn rate_limiter_holds_its_setting() {
    let sim = simulator().await;
    let id = contract(&sim, "OCB");
    let config = limited(25.0, 5);
    let (portal, registry) = client_with(&sim, sim.credentials(&id, "manager").unwrap(), config);
    portal.check_credentials().await.unwrap();
    // Let the bucket refill (5 tokens at 25/s take 200 ms) after the two calls above.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let rate = measured_rate(Arc::new(portal), &id, 105, 5).await;
    assert!((22.5..=27.5).contains(&rate), "rate {rate:.2}/s for a 25/s limit");
    assert!(
        metric(
            &registry,
            "ccs_portal_rate_limited_waits_total",
            &[("operation", "get_contract")]
        ) > 50.0
    );
}

#[tokio::test]
async fn per_operation_limit_applies_on_top() {
    let sim = simulator().await;
    let id = contract(&sim, "OCB");
    let limits = [(
        "get_contract".to_string(),
        RateLimit {
            per_second: 20.0,
            burst: 5,
        },
    )]
    .into();
    let config = ClientConfig {
        rate_limit: Some(RateLimit {
            per_second: 1000.0,
            burst: 100,
        }),
        operation_limits: limits,
        ..fast_config()
    };
    let (portal, _) = client_with(&sim, sim.credentials(&id, "manager").unwrap(), config);
    portal.check_credentials().await.unwrap();
    // check_credentials used list_contracts: the get_contract bucket is still full.
    let rate = measured_rate(Arc::new(portal), &id, 65, 5).await;
    assert!((18.0..=22.0).contains(&rate), "rate {rate:.2}/s for a 20/s limit");
}
