//! Every client operation against the simulator, plus authentication and classification.

use crate::portal_common;

use ccs_operator::portal::*;
use portal_common::*;

fn profiles(pairs: &[(Section, Profile)]) -> Profiles {
    pairs.iter().copied().collect()
}

#[tokio::test]
async fn contract_reads() {
    let sim = simulator().await;
    let id = contract(&sim, "OCB");
    let portal = manager(&sim, &id);
    portal.check_credentials().await.unwrap();

    let contracts = portal.list_contracts().await.unwrap();
    assert_eq!(
        contracts.iter().map(|c| c.id.as_str()).collect::<Vec<_>>(),
        vec![id.as_str()]
    );
    let c = portal.get_contract(&id).await.unwrap();
    assert_eq!(c.offer, Offer::FE);
    assert!(c.console_url.starts_with("https://"));
    assert!(c.user_count >= 4);

    let dash = portal.dashboard(&id).await.unwrap();
    assert_eq!(dash.contract, c);
    assert_eq!(
        dash.latest_bills.as_ref().map(Vec::len),
        Some(12),
        "12 months of invoices"
    );
    let consumption = dash.consumption.expect("manager sees consumption");
    assert_eq!(consumption, portal.consumption(&id).await.unwrap());

    let status = portal.platform_status(&id).await.unwrap();
    assert_eq!(status.regions.len(), c.regions.len());
    assert!(status.incidents.iter().all(|i| (1..=4).contains(&i.severity)));

    // The operator credential sees every contract, both offers, through pagination.
    let op = sim
        .seeded_credentials()
        .into_iter()
        .find(|c| c.label == "operator")
        .unwrap();
    let (all, _) = client_with(&sim, op.credentials(), fast_config());
    let listed = all.list_contracts().await.unwrap();
    assert_eq!(listed.len(), sim.contract_ids().len());
    assert!(listed.iter().any(|c| c.offer == Offer::FCA) && listed.iter().any(|c| c.offer == Offer::FE));
}

#[tokio::test]
async fn consumption_accrues_with_the_clock() {
    let sim = simulator().await;
    let id = contract(&sim, "FCA");
    let portal = manager(&sim, &id);
    let before = portal.consumption(&id).await.unwrap();
    sim.advance_clock(6.0 * 3600.0);
    let after = portal.consumption(&id).await.unwrap();
    let amount = |c: &Consumption| c.amount_to_date.parse::<f64>().unwrap();
    assert!(
        amount(&after) > amount(&before),
        "{} -> {}",
        before.amount_to_date,
        after.amount_to_date
    );
    assert!(after.data_as_of > before.data_as_of);
    let daily: f64 = after.daily.iter().map(|d| d.amount.parse::<f64>().unwrap()).sum();
    assert!((daily - amount(&after)).abs() < 0.01 * after.daily.len() as f64);
}

#[tokio::test]
async fn bills_pdf_and_report() {
    let sim = simulator().await;
    let id = contract(&sim, "OCB");
    let portal = manager(&sim, &id);
    let bills = portal.list_bills(&id, 3).await.unwrap();
    assert_eq!(bills.len(), 3);
    assert!(bills[0].period > bills[1].period, "newest first");
    let pdf = portal.bill_pdf(&id, &bills[0].id).await.unwrap();
    assert!(pdf.starts_with(b"%PDF-1.4") && pdf.ends_with(b"%%EOF\n"));
    let csv = portal.billing_report(&id, &bills[0].period).await.unwrap();
    assert!(csv.starts_with("date,subscription,service,region,amount,currency\n"));
    assert!(csv.lines().count() > 28);
    let missing = portal.bill_pdf(&id, "INV-NOPE").await.unwrap_err();
    assert_eq!(missing.category(), ErrorCategory::NotFound);
}

#[tokio::test]
async fn users_lifecycle() {
    let sim = simulator().await;
    let id = contract(&sim, "OCB");
    let other = contract(&sim, "FCA");
    let portal = manager(&sim, &id);
    let users = portal.list_users(&id).await.unwrap();
    assert_eq!(users.iter().filter(|u| u.referent).count(), 1);

    let new = NewUser {
        email: "new.person@acme.example".into(),
        login: Some("new.person".into()),
        first_name: "New".into(),
        last_name: "Person".into(),
        phone: None,
        locale: Language::Fr,
        profiles: profiles(&[
            (Section::Dashboard, Profile::Visitor),
            (Section::Requests, Profile::Manager),
        ]),
        enabled: true,
        send_invitation: true,
    };
    let added = portal.add_user(&id, &new).await.unwrap();
    assert!(added.account_created && !added.login_substituted);
    assert_eq!(added.user.account.state, AccountState::Invited);
    // Adding again is idempotent: same account, not created.
    let again = portal.add_user(&id, &new).await.unwrap();
    assert_eq!(
        (again.account_created, &again.user.account.id),
        (false, &added.user.account.id)
    );
    assert_eq!(
        portal.find_account(&new.email).await.unwrap().unwrap().id,
        added.user.account.id
    );
    assert_eq!(portal.find_account("nobody@acme.example").await.unwrap(), None);

    // An existing account keeps its login on another contract.
    let other_portal = manager(&sim, &other);
    let mut elsewhere = new.clone();
    elsewhere.login = Some("another.login".into());
    let reused = other_portal.add_user(&other, &elsewhere).await.unwrap();
    assert!(!reused.account_created && reused.login_substituted);
    assert_eq!(reused.user.account.login, "new.person");

    let account = added.user.account.id.clone();
    let update = AccessUpdate {
        profiles: profiles(&[(Section::Users, Profile::Visitor)]),
        enabled: false,
    };
    let updated = portal.set_access(&id, &account, &update).await.unwrap();
    assert_eq!(
        (updated.profiles, updated.enabled),
        (update.profiles.clone(), false)
    );

    let invited = portal.send_invitation(&account).await.unwrap();
    assert!(invited.invitation_sent_at.is_some());
    sim.advance_clock(2.0 * 86_400.0);
    let active = portal
        .list_users(&id)
        .await
        .unwrap()
        .into_iter()
        .find(|u| u.account.id == account)
        .unwrap();
    assert_eq!(active.account.state, AccountState::Active);

    portal.remove_access(&id, &account).await.unwrap();
    assert!(
        portal
            .list_users(&id)
            .await
            .unwrap()
            .iter()
            .all(|u| u.account.id != account)
    );
    assert_eq!(
        portal.remove_access(&id, &account).await.unwrap_err().category(),
        ErrorCategory::NotFound
    );
    // Deleting needs Manager on Users of every contract the account can access: the FCA manager can.
    other_portal.delete_account(&account).await.unwrap();
    assert_eq!(other_portal.find_account(&new.email).await.unwrap(), None);
}

#[tokio::test]
async fn user_rules() {
    let sim = simulator().await;
    let id = contract(&sim, "OCB");
    let portal = manager(&sim, &id);
    let referent = portal.get_contract(&id).await.unwrap().referent;
    let err = portal.remove_access(&id, &referent.account_id).await.unwrap_err();
    assert_eq!(err.category(), ErrorCategory::Conflict);
    assert!(err.is_terminal());
    let err = portal.delete_account(&referent.account_id).await.unwrap_err();
    assert_eq!(err.category(), ErrorCategory::Conflict);
    let bad = NewUser {
        email: "x@acme.example".into(),
        login: Some("short".into()),
        first_name: "X".into(),
        last_name: "Y".into(),
        phone: None,
        locale: Language::En,
        profiles: Profiles::new(),
        enabled: true,
        send_invitation: false,
    };
    let err = portal.add_user(&id, &bad).await.unwrap_err();
    assert_eq!(err.category(), ErrorCategory::Invalid);
    assert!(err.message.contains("8 to 64"), "{err}");
}

#[tokio::test]
async fn referent_change_rules() {
    let sim = simulator().await;
    let id = contract(&sim, "FCA");
    let portal = manager(&sim, &id);
    let users = portal.list_users(&id).await.unwrap();
    let old = users.iter().find(|u| u.referent).unwrap().account.clone();
    let next = users
        .iter()
        .find(|u| !u.referent && u.enabled)
        .unwrap()
        .account
        .clone();

    // Someone without access cannot become referent.
    let change = ReferentChange {
        new_referent_email: "stranger@nowhere.example".into(),
        remove_previous_referent_access: false,
    };
    assert_eq!(
        portal.change_referent(&id, &change).await.unwrap_err().category(),
        ErrorCategory::Conflict
    );
    // Only the current referent may change it: the operator credential is Manager but not referent.
    let op = sim.credentials(&id, "operator").unwrap();
    let (op, _) = client_with(&sim, op, fast_config());
    let change = ReferentChange {
        new_referent_email: next.email.clone(),
        remove_previous_referent_access: true,
    };
    let err = op.change_referent(&id, &change).await.unwrap_err();
    assert_eq!((err.category(), err.code), (ErrorCategory::Forbidden, Some(51)));

    let changed = portal.change_referent(&id, &change).await.unwrap();
    assert_eq!(changed.referent.email, next.email);
    let users = op.list_users(&id).await.unwrap();
    assert!(
        users.iter().all(|u| u.account.id != old.id),
        "previous referent lost access"
    );
}

#[tokio::test]
async fn catalog_and_requests() {
    let sim = simulator().await;
    let id = contract(&sim, "OCB");
    let portal = manager(&sim, &id);
    let catalog = portal.list_catalog(&id).await.unwrap();
    assert!(catalog.len() >= 10 && catalog.iter().all(|i| i.offer == Offer::FE));
    let ecs = catalog.iter().find(|i| i.code == "FE-ECS").unwrap();
    assert!(
        ecs.parameters
            .iter()
            .any(|p| p.key == "flavor" && p.required && !p.allowed_values.is_empty())
    );

    let new = NewRequest {
        quantity: 2,
        ..ecs_order(&sim, &id, "uid-123")
    };
    let submitted = portal.submit_request(&id, &new).await.unwrap();
    assert_eq!(submitted.state, RequestState::Transmitted);
    // Resubmitting the reference returns the same request; other content is a conflict.
    assert_eq!(portal.submit_request(&id, &new).await.unwrap().id, submitted.id);
    let conflicting = NewRequest {
        quantity: 3,
        ..new.clone()
    };
    assert_eq!(
        portal
            .submit_request(&id, &conflicting)
            .await
            .unwrap_err()
            .category(),
        ErrorCategory::Conflict
    );
    assert_eq!(
        portal.find_request(&id, "uid-123").await.unwrap().unwrap().id,
        submitted.id
    );
    assert_eq!(portal.find_request(&id, "uid-none").await.unwrap(), None);

    // States move on the simulated clock.
    sim.advance_clock(60.0);
    assert_eq!(
        portal.get_request(&id, &submitted.id).await.unwrap().state,
        RequestState::InProgress
    );
    sim.advance_clock(600.0);
    let done = portal.get_request(&id, &submitted.id).await.unwrap();
    assert_eq!(done.state, RequestState::Completed);
    assert_eq!(
        done.history.iter().map(|h| h.state).collect::<Vec<_>>(),
        vec![
            RequestState::Transmitted,
            RequestState::InProgress,
            RequestState::Completed
        ]
    );
    assert_eq!(
        portal
            .cancel_request(&id, &submitted.id)
            .await
            .unwrap_err()
            .category(),
        ErrorCategory::Conflict
    );

    // Rejected by rule: quantity above the item's maximum.
    let big = NewRequest {
        customer_reference: "uid-big".into(),
        quantity: ecs.max_quantity + 1,
        ..new.clone()
    };
    let big = portal.submit_request(&id, &big).await.unwrap();
    sim.advance_clock(600.0);
    let rejected = portal.get_request(&id, &big.id).await.unwrap();
    assert_eq!(rejected.state, RequestState::Rejected);
    assert!(rejected.history.last().unwrap().message.contains("maximum"));

    // Cancel before completion, twice.
    let c = portal
        .submit_request(
            &id,
            &NewRequest {
                customer_reference: "uid-cancel".into(),
                ..new.clone()
            },
        )
        .await
        .unwrap();
    assert_eq!(
        portal.cancel_request(&id, &c.id).await.unwrap().state,
        RequestState::Cancelled
    );
    assert_eq!(
        portal.cancel_request(&id, &c.id).await.unwrap().state,
        RequestState::Cancelled
    );
    sim.advance_clock(600.0);
    assert_eq!(
        portal.get_request(&id, &c.id).await.unwrap().state,
        RequestState::Cancelled
    );

    // Validation names every problem.
    let mut wrong = new.clone();
    wrong.customer_reference = "uid-wrong".into();
    wrong.parameters.remove("name");
    wrong.parameters.insert("flavor".into(), "huge".into());
    let err = portal.submit_request(&id, &wrong).await.unwrap_err();
    assert_eq!(err.category(), ErrorCategory::Invalid);
    assert!(
        err.message.contains("name") && err.message.contains("flavor"),
        "{err}"
    );
    let unknown = NewRequest {
        customer_reference: "uid-x".into(),
        catalog_item: "FCA-VM".into(),
        ..new
    };
    assert_eq!(
        portal.submit_request(&id, &unknown).await.unwrap_err().category(),
        ErrorCategory::Invalid
    );
}

#[tokio::test]
async fn wrong_credentials_are_unauthorized_and_terminal() {
    let sim = simulator().await;
    let id = contract(&sim, "OCB");
    let good = sim.credentials(&id, "manager").unwrap();
    for creds in [
        Credentials::new(&good.client_id, "wrong-secret", good.api_key.expose()),
        Credentials::new(&good.client_id, good.client_secret.expose(), "wrong-key"),
    ] {
        let (portal, registry) = client_with(&sim, creds, fast_config());
        let err = portal.get_contract(&id).await.unwrap_err();
        assert_eq!(err.category().as_str(), "Unauthorized");
        assert!(err.is_terminal());
        assert!(!format!("{err:?}{err}").contains(good.client_secret.expose()));
        assert_eq!(
            metric(&registry, "ccs_portal_retries_total", &[]),
            0.0,
            "terminal errors are not retried"
        );
    }
}

#[tokio::test]
async fn expired_token_is_refreshed_once() {
    let sim = simulator().await;
    let id = contract(&sim, "OCB");
    let (portal, registry) = client_with(&sim, sim.credentials(&id, "manager").unwrap(), fast_config());
    portal.get_contract(&id).await.unwrap();
    sim.revoke_tokens();
    sim.clear_calls();
    portal.get_contract(&id).await.unwrap();
    let calls: Vec<(String, u16)> = sim.calls(0).into_iter().map(|c| (c.route, c.status)).collect();
    let route = format!("{API_PREFIX}/contracts/{{contractId}}");
    assert_eq!(
        calls,
        vec![
            (route.clone(), 401),
            ("/oauth/v3/token".into(), 200),
            (route, 200)
        ]
    );
    assert_eq!(
        metric(&registry, "ccs_portal_requests_total", &[("operation", "token")]),
        2.0
    );
}

#[tokio::test]
async fn missing_right_is_forbidden_and_terminal() {
    let sim = simulator().await;
    let id = contract(&sim, "OCB");
    let (visitor, _) = client_with(&sim, sim.credentials(&id, "visitor").unwrap(), fast_config());
    // Reads with Visitor work; managing users needs Manager on Users.
    let users = visitor.list_users(&id).await.unwrap();
    let someone = users.iter().find(|u| !u.referent).unwrap();
    let update = AccessUpdate {
        profiles: someone.profiles.clone(),
        enabled: true,
    };
    let err = visitor
        .set_access(&id, &someone.account.id, &update)
        .await
        .unwrap_err();
    assert_eq!(err.category().as_str(), "Forbidden");
    assert!(err.is_terminal());
    assert!(
        err.message.contains("Manager") && err.message.contains("users") && err.message.contains(&id),
        "{err}"
    );
    // Bills need Manager on Invoices; the dashboard leaves them out instead of failing.
    assert_eq!(
        visitor.list_bills(&id, 12).await.unwrap_err().category(),
        ErrorCategory::Forbidden
    );
    let dash = visitor.dashboard(&id).await.unwrap();
    assert!(dash.latest_bills.is_none() && dash.consumption.is_some());
    // A contract outside the credential's scope.
    let other = contract(&sim, "FCA");
    let err = visitor.get_contract(&other).await.unwrap_err();
    assert_eq!((err.category(), err.code), (ErrorCategory::Forbidden, Some(52)));
}

#[tokio::test]
async fn french_messages_and_metrics_labels() {
    let sim = simulator().await;
    let id = contract(&sim, "OCB");
    let config = ClientConfig {
        language: Language::Fr,
        ..fast_config()
    };
    let (portal, registry) = client_with(&sim, sim.credentials(&id, "manager").unwrap(), config);
    let err = portal.get_request(&id, "REQ-0").await.unwrap_err();
    assert!(err.message.contains("inconnue"), "{err}");
    assert!(!portal.platform_status(&id).await.unwrap().summary.is_empty());
    assert_eq!(
        metric(
            &registry,
            "ccs_portal_requests_total",
            &[("operation", "get_request"), ("code_class", "4xx")]
        ),
        1.0
    );
    assert_eq!(
        metric(
            &registry,
            "ccs_portal_request_duration_seconds",
            &[("operation", "platform_status")]
        ),
        1.0
    );
    // Labels stay bounded: operation and code class only.
    for family in registry.gather() {
        for m in family.get_metric() {
            assert!(
                m.get_label()
                    .iter()
                    .all(|l| l.name() == "operation" || l.name() == "code_class")
            );
        }
    }
    assert!(!format!("{portal:?}").contains(sim.credentials(&id, "manager").unwrap().client_secret.expose()));
}

#[tokio::test]
async fn tokens_are_refreshed_before_they_expire() {
    ccs_operator::install_crypto_provider();
    let config = ccs_simulator::SimConfig {
        token_ttl_seconds: 4,
        ..Default::default()
    };
    let sim = ccs_simulator::Simulator::start(config).await.unwrap();
    let id = contract(&sim, "OCB");
    let portal = manager(&sim, &id);
    // Keep calling until the client has fetched a third token (it refreshes at half the 4 s
    // lifetime, as the 60 s margin exceeds it); the server never had to answer 401.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while calls_on(&sim, "POST", "/oauth/v3/token") < 3 {
        assert!(std::time::Instant::now() < deadline, "no refresh within 20 s");
        portal.get_contract(&id).await.unwrap();
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert!(
        sim.calls(0).iter().all(|c| c.status != 401),
        "expired tokens were never used"
    );
}

#[tokio::test]
async fn metrics_render_in_the_text_format() {
    let sim = simulator().await;
    let id = contract(&sim, "OCB");
    // Slow enough that the four calls (three plus one retry) must wait for tokens however fast
    // the machine is, so the rate-limit families always have samples.
    let config = limited(5.0, 1);
    let (portal, registry) = client_with(&sim, sim.credentials(&id, "manager").unwrap(), config);
    sim.set_faults(vec![ccs_simulator::FaultRule {
        method: None,
        route: format!("{API_PREFIX}/contracts/{{contractId}}"),
        fault: ccs_simulator::FaultKind::Error { status: 503 },
        rate: 1.0,
        count: Some(1),
    }]);
    for _ in 0..3 {
        portal.get_contract(&id).await.unwrap();
    }
    let mut text = String::new();
    prometheus::TextEncoder::new()
        .encode_utf8(&registry.gather(), &mut text)
        .unwrap();
    for family in [
        "ccs_portal_requests_total",
        "ccs_portal_request_duration_seconds",
        "ccs_portal_retries_total",
        "ccs_portal_rate_limited_waits_total",
        "ccs_portal_rate_limited_wait_seconds_total",
    ] {
        assert!(
            text.contains(&format!("# TYPE {family} ")),
            "{family} missing:\n{text}"
        );
    }
    assert!(
        text.contains(r#"ccs_portal_requests_total{code_class="5xx",operation="get_contract"} 1"#),
        "{text}"
    );
}

#[tokio::test]
async fn lists_read_every_page_in_as_few_calls_as_the_api_allows() {
    let sim = simulator().await;
    let id = contract(&sim, "OCB");
    let portal = manager(&sim, &id);
    let seeded = portal.list_users(&id).await.unwrap().len();
    // 620 users: more than one page of the largest limit the API accepts (500).
    futures::future::try_join_all((seeded..620).map(|i| {
        let portal = &portal;
        let id = &id;
        async move {
            let new = NewUser {
                email: format!("paged.{i}@acme.example"),
                login: None,
                first_name: "Paged".into(),
                last_name: format!("User{i}"),
                phone: None,
                locale: Language::En,
                profiles: profiles(&[(Section::Dashboard, Profile::Visitor)]),
                enabled: true,
                send_invitation: false,
            };
            portal.add_user(id, &new).await
        }
    }))
    .await
    .unwrap();
    sim.clear_calls();
    let users = portal.list_users(&id).await.unwrap();
    assert_eq!(users.len(), 620);
    let distinct: std::collections::HashSet<_> = users.iter().map(|u| &u.account.id).collect();
    assert_eq!(distinct.len(), 620, "no user read twice across pages");
    assert_eq!(calls_on(&sim, "GET", "/users"), 2, "two pages of 500");
}

#[tokio::test]
async fn calls_on_the_wire_never_exceed_max_concurrent_calls() {
    let sim = simulator().await;
    let id = contract(&sim, "OCB");
    let config = ClientConfig {
        max_concurrent_calls: Some(3),
        ..fast_config()
    };
    let (portal, registry) = client_with(
        &sim,
        sim.credentials(&id, "manager").expect("manager credential"),
        config,
    );
    portal.check_credentials().await.unwrap();
    sim.set_faults(vec![ccs_simulator::FaultRule {
        method: None,
        route: "*".into(),
        fault: ccs_simulator::FaultKind::Latency { ms: 50, jitter_ms: 0 },
        rate: 1.0,
        count: None,
    }]);
    sim.clear_calls();
    let reads = (0..12).map(|_| portal.dashboard(&id));
    for read in futures::future::join_all(reads).await {
        read.unwrap();
    }
    assert_eq!(calls_on(&sim, "GET", "/dashboard"), 12);
    assert_eq!(
        sim.max_in_flight(),
        3,
        "at most 3 on the wire, and the limit used"
    );
    assert_eq!(metric(&registry, "ccs_portal_in_flight_calls", &[]), 0.0);
}
