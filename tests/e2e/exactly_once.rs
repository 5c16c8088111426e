//! End to end: every incident email exactly once (issue 12, section 3), through the binary, the
//! dev-cluster, the simulator and the real SMTP server. Emails are counted by (incident, state),
//! read from the plain-text part of each message the SMTP server received.

use crate::support;

use ccs_operator::api::CloudContract;
use ccs_portal_model::IncidentState;
use kube::Api;
use serde_json::json;
use std::collections::HashMap;
use support::e2e::{DEADLINE, Env, condition, has_condition, wait_for, wait_until};
use support::manifests::CONTRACT;

/// A CloudContract `acme` on [`CONTRACT`] emailing every incident of severity 1 to `recipients`.
fn contract_with_notifications(recipients: &[&str]) -> serde_json::Value {
    json!({
        "apiVersion": "customerspace.io/v1alpha1", "kind": "CloudContract",
        "metadata": {"name": "acme", "namespace": "default"},
        "spec": {"contractId": CONTRACT, "offer": "FlexibleEngine", "credentialsSecretRef": {"name": "acme-creds"},
                 "notifications": {"recipients": recipients, "minSeverity": 1}}
    })
}

/// The first region of [`CONTRACT`]: incidents opened there are the contract's.
fn region(env: &Env) -> String {
    env.sim.with_world(|w| w.contracts[CONTRACT].regions[0].clone())
}

/// Opens `n` severity-1 incidents that stay open until told otherwise.
fn open_incidents(env: &Env, n: usize, prefix: &str) -> Vec<String> {
    let titles: Vec<String> = (0..n).map(|k| format!("{prefix} {k}")).collect();
    env.sim.open_incidents(&region(env), 1, &titles, 100_000_000)
}

/// The plain-text part of a raw message, soft line breaks of quoted-printable undone.
fn text_part(message: &str) -> String {
    let message = message.replace("\r\n", "\n");
    let end = message.find("Content-Type: text/html").unwrap_or(message.len());
    message[..end].replace("=\n", "").replace("=3D", "=")
}

/// The (incident, state) pairs each message announces, alone or in a summary.
fn announced(message: &str) -> Vec<(String, String)> {
    let text = text_part(message);
    let mut pairs = Vec::new();
    let mut single: Option<String> = None;
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix("Incident ") {
            if let Some((id, tail)) = rest.split_once(" is ")
                && tail.contains("(severity")
            {
                let state = tail.split_whitespace().next().unwrap_or_default();
                pairs.push((id.to_string(), state.to_string()));
            } else if let Some((id, _)) = rest.split_once(": ") {
                single = Some(id.to_string());
            }
        } else if let Some(state) = line.strip_prefix("State: ")
            && let Some(id) = single.take()
        {
            pairs.push((id, state.trim().to_string()));
        }
    }
    pairs
}

/// How often each (incident, state) pair was emailed so far.
fn tally(env: &Env) -> HashMap<(String, String), usize> {
    let mut counts = HashMap::new();
    for message in env.smtp.messages() {
        for pair in announced(&message) {
            *counts.entry(pair).or_default() += 1;
        }
    }
    counts
}

/// The stored memory of `acme`: incident id -> (states emailed, state due).
async fn memory(contracts: &Api<CloudContract>) -> HashMap<String, (Vec<String>, Option<String>)> {
    let c = contracts.get("acme").await.expect("acme");
    c.status
        .map(|s| s.notified_incidents)
        .unwrap_or_default()
        .into_iter()
        .map(|m| (m.id, (m.states, m.due)))
        .collect()
}

/// Waits until `ids` all have `state` among their emailed states, with nothing due.
async fn wait_recorded(contracts: &Api<CloudContract>, ids: &[String], state: &str) {
    wait_until(DEADLINE, &format!("every incident recorded {state}"), || async {
        let m = memory(contracts).await;
        ids.iter()
            .all(|id| {
                m.get(id)
                    .is_some_and(|(states, due)| states.iter().any(|s| s == state) && due.is_none())
            })
            .then_some(())
    })
    .await;
}

/// Waits until the contract was synced twice more (two full polls after this call).
async fn two_more_polls(contracts: &Api<CloudContract>) {
    let last = |c: &CloudContract| c.status.as_ref().and_then(|s| s.last_sync_time.clone());
    let mut seen = last(&contracts.get("acme").await.expect("acme"));
    for _ in 0..2 {
        let before = seen.clone();
        let c = wait_for(contracts, "acme", "another poll", |c| last(c) > before).await;
        seen = last(&c);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn flapping_incidents_are_emailed_once_per_state() {
    const INCIDENTS: usize = 150;
    const POLLS: usize = 10;
    let env = Env::start().await;
    let _op = env.operator(&[]);
    env.credentials_secret("acme-creds", CONTRACT, "operator").await;
    env.apply::<CloudContract>(contract_with_notifications(&["ops@acme.example"]))
        .await;
    let contracts: Api<CloudContract> = Api::namespaced(env.client.clone(), "default");
    wait_for(&contracts, "acme", "Ready", |c| has_condition(c, "Ready", "True")).await;
    let ids = open_incidents(&env, INCIDENTS, "flap");
    let open_of = |c: &CloudContract| {
        c.status
            .as_ref()
            .and_then(|s| s.incidents.as_ref())
            .map_or(0, |i| i.open as usize)
    };

    for poll in 0..POLLS {
        let (state, name) = if poll % 2 == 0 {
            (IncidentState::Open, "Open")
        } else {
            (IncidentState::Resolved, "Resolved")
        };
        assert_eq!(env.sim.set_incident_state(&ids, Some(state)), INCIDENTS);
        // Seen by the operator: the open count follows the flap.
        wait_for(
            &contracts,
            "acme",
            &format!("poll {poll}: incidents {name}"),
            |c| {
                if state == IncidentState::Open {
                    open_of(c) >= INCIDENTS
                } else {
                    open_of(c) < INCIDENTS
                }
            },
        )
        .await;
        wait_recorded(&contracts, &ids, name).await;
    }
    two_more_polls(&contracts).await;

    let counts = tally(&env);
    for id in &ids {
        for state in ["Open", "Resolved"] {
            let n = counts.get(&(id.clone(), state.into())).copied().unwrap_or(0);
            assert_eq!(n, 1, "{id} {state} emailed {n} times");
        }
        assert!(!counts.contains_key(&(id.clone(), "InProgress".into())));
    }
    let repeated: Vec<_> = counts.iter().filter(|(_, n)| **n > 1).collect();
    assert!(repeated.is_empty(), "emailed more than once: {repeated:?}");
    // At most 10 emails a reconcile: 300 changes fit in a few dozen messages.
    let messages = env.smtp.messages().len();
    assert!(messages <= 40, "{messages} emails for {} changes", 2 * INCIDENTS);
    let memory = memory(&contracts).await;
    assert!(
        ids.iter().all(|id| memory.contains_key(id)),
        "one entry per incident, none dropped"
    );
}

/// Whether a status body records one of `ids` with `field` (`due` or `states`) holding `state`.
fn records(body: &serde_json::Value, ids: &[String], field: &str, state: &str) -> bool {
    body["status"]["notifiedIncidents"]
        .as_array()
        .is_some_and(|memory| {
            memory.iter().any(|m| {
                let mine = m["id"].as_str().is_some_and(|id| ids.iter().any(|i| i == id));
                let holds = match &m[field] {
                    serde_json::Value::String(s) => s == state,
                    serde_json::Value::Array(a) => a.iter().any(|s| s == state),
                    _ => false,
                };
                mine && holds
            })
        })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn failed_status_writes_never_repeat_an_incident_email() {
    const INCIDENTS: usize = 5;
    let env = Env::start().await;
    let op = env.operator(&[]);
    env.credentials_secret("acme-creds", CONTRACT, "operator").await;
    env.apply::<CloudContract>(contract_with_notifications(&["ops@acme.example"]))
        .await;
    let contracts: Api<CloudContract> = Api::namespaced(env.client.clone(), "default");
    wait_for(&contracts, "acme", "Ready", |c| has_condition(c, "Ready", "True")).await;

    // Round "due": the writes recording the emails due fail; nothing may leave before one
    // succeeds. Round "sent": the writes recording them sent fail, after they left; the
    // retries must record them without sending them again.
    for (round, field) in [("due", "due"), ("sent", "states")] {
        let ids: Vec<String> = (0..INCIDENTS)
            .map(|k| format!("INC-{}", env.sim.with_world(|w| w.next_id) + 1 + k as u64))
            .collect();
        let armed = ids.clone();
        env.cluster.fail_status_writes("CloudContract", 3, move |body| {
            records(body, &armed, field, "Open")
        });
        let opened = open_incidents(&env, INCIDENTS, round);
        assert_eq!(opened, ids, "the simulator numbers incidents in sequence");
        wait_recorded(&contracts, &ids, "Open").await;
        two_more_polls(&contracts).await;
        let counts = tally(&env);
        for id in &ids {
            let n = counts.get(&(id.clone(), "Open".into())).copied().unwrap_or(0);
            assert_eq!(n, 1, "round {round}: {id} emailed {n} times; log:\n{}", op.logs());
        }
    }
    let log = op.logs();
    assert!(
        log.matches("injected fault").count() >= 6,
        "three writes failed in each round; log:\n{log}"
    );
    let repeated: Vec<_> = tally(&env).into_iter().filter(|(_, n)| *n > 1).collect();
    assert!(repeated.is_empty(), "emailed more than once: {repeated:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_refused_recipient_blocks_no_one_and_is_not_retried() {
    let env = Env::start().await;
    let op = env.operator(&[]);
    env.credentials_secret("acme-creds", CONTRACT, "operator").await;
    let recipients = ["ops@acme.example", "nobody@refused.example"];
    env.apply::<CloudContract>(contract_with_notifications(&recipients))
        .await;
    let contracts: Api<CloudContract> = Api::namespaced(env.client.clone(), "default");
    wait_for(&contracts, "acme", "Ready", |c| has_condition(c, "Ready", "True")).await;
    let ids = open_incidents(&env, 1, "refused");

    let c = wait_for(
        &contracts,
        "acme",
        "NotificationFailed=True RecipientRefused",
        |c| {
            condition(c, "NotificationFailed").is_some_and(|(s, r, _)| s == "True" && r == "RecipientRefused")
        },
    )
    .await;
    let (_, _, message) = condition(&c, "NotificationFailed").expect("condition");
    assert!(message.contains("refused.example"), "{message}");
    assert!(
        !message.contains("nobody@"),
        "the address is not shown: {message}"
    );
    wait_recorded(&contracts, &ids, "Open").await;
    two_more_polls(&contracts).await;
    two_more_polls(&contracts).await;

    let mine: Vec<String> = env
        .smtp
        .messages()
        .into_iter()
        .filter(|m| announced(m).iter().any(|(id, _)| *id == ids[0]))
        .collect();
    assert_eq!(
        mine.len(),
        1,
        "delivered once to the accepted recipient, not retried; received: {:?}",
        env.smtp.messages()
    );
    assert!(mine[0].contains("ops@acme.example"));
    assert!(!mine[0].contains("nobody@refused.example"));
    assert!(
        !op.logs().contains("nobody@refused.example"),
        "no address in the logs"
    );
    // Nothing is retried: no delivery error at all.
    let errors = op
        .metric("ccs_emails_failed_total{kind=\"incident\"}")
        .await
        .unwrap_or(0.0);
    assert_eq!(errors, 0.0);
}
