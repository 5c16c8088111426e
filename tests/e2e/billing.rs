//! End to end: BillingExport through the operator binary, the dev-cluster, the simulator and a real
//! S3-compatible server (moto), or a volume directory.

use crate::support;

use ccs_operator::api::billing_export::BillingExport;
use ccs_operator::billing::Month;
use ccs_operator::portal::{ClientConfig, Credentials, CustomerSpace, PortalShared, ReqwestPortal};
use ccs_simulator::{FaultKind, FaultRule};
use kube::Api;
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::sync::atomic::Ordering;
use std::time::Duration;
use support::e2e::{Env, condition, has_condition, wait_for, wait_until};
use support::manifests::CONTRACT;
use support::moto::{Moto, sha256};
use support::s3_gate::S3Gate;

const BUCKET: &str = "acme-billing";

/// An operator configuration allowing `moto` as S3 endpoint and `root` for volumes.
fn config(env: &Env, s3: Option<&str>, root: Option<&std::path::Path>) -> String {
    let mut yaml = String::from("billing:\n  concurrency: 4\n");
    if let Some(url) = s3 {
        yaml.push_str(&format!(
            "  allowedS3Endpoints: [{{url: \"{url}\", allowInsecure: true}}]\n"
        ));
    }
    if let Some(r) = root {
        yaml.push_str(&format!("  volumeRoot: \"{}\"\n", r.display()));
    }
    env.config_file(&yaml).display().to_string()
}

fn s3_export(name: &str, backfill: i32, extra: Value) -> Value {
    let mut spec = json!({
        "contract": "acme",
        "backfill": backfill,
        "destination": {"s3": {"endpoint": "", "bucket": BUCKET, "credentialsSecretRef": {"name": "obs-keys"}}},
    });
    if let (Some(spec), Some(extra)) = (spec.as_object_mut(), extra.as_object()) {
        for (k, v) in extra {
            spec.insert(k.clone(), v.clone());
        }
    }
    json!({
        "apiVersion": "customerspace.io/v1alpha1", "kind": "BillingExport",
        "metadata": {"name": name, "namespace": "default",
                     "annotations": {"customerspace.io/poll-interval": "2s"}},
        "spec": spec,
    })
}

fn with_endpoint(mut manifest: Value, endpoint: &str) -> Value {
    manifest["spec"]["destination"]["s3"]["endpoint"] = json!(endpoint);
    manifest
}

async fn s3_keys_secret(env: &Env) {
    let data: BTreeMap<String, String> = [
        ("accessKeyId".to_string(), "test-access-key".to_string()),
        ("secretAccessKey".to_string(), "test-secret-key".to_string()),
    ]
    .into();
    env.secret("obs-keys", data).await;
}

/// The files the simulator serves for `period`: (file name, content), read through a portal
/// client with the operator's credential.
async fn expected_files(env: &Env, period: Month, invoices: bool) -> Vec<(String, Vec<u8>)> {
    let shared = PortalShared::new(
        ClientConfig {
            allow_http: true,
            ..ClientConfig::default()
        },
        &prometheus::Registry::new(),
    )
    .expect("portal shared");
    let c = env.credential(CONTRACT, "operator");
    let portal = ReqwestPortal::new(
        shared,
        env.sim.base_url(),
        Credentials::new(c.client_id, c.client_secret, c.api_key),
    );
    let mut files = Vec::new();
    if invoices {
        for bill in portal.list_bills(CONTRACT, 100).await.expect("bills") {
            if bill.period == period.to_string() {
                let pdf = portal.bill_pdf(CONTRACT, &bill.id).await.expect("pdf");
                files.push((format!("invoice-{}.pdf", bill.id), pdf));
            }
        }
    }
    let csv = portal
        .billing_report(CONTRACT, &period.to_string())
        .await
        .expect("report");
    files.push((
        format!("billing-report-{CONTRACT}-{period}.csv"),
        csv.into_bytes(),
    ));
    files
}

fn exported(e: &BillingExport) -> Vec<String> {
    e.status
        .as_ref()
        .map(|s| s.exported_periods.clone())
        .unwrap_or_default()
}

/// The last `n` months due at the simulator's time with a 48h delay, oldest first.
fn last_due(env: &Env, n: i32) -> Vec<Month> {
    let latest = Month::containing(env.sim.now() - chrono::Duration::hours(48)).plus(-1);
    (1 - n..=0).map(|i| latest.plus(i)).collect()
}

/// Asserts that the bucket holds exactly the expected files of `periods` (plus `foreign` keys),
/// each with the simulator's content.
async fn assert_bucket_holds(env: &Env, moto: &Moto, periods: &[Month], foreign: &[&str]) {
    let mut expected_keys: Vec<String> = foreign.iter().map(|k| k.to_string()).collect();
    for period in periods {
        for (name, content) in expected_files(env, *period, true).await {
            let key = format!("ccs/{CONTRACT}/{period}/{name}");
            let stored = moto.get(BUCKET, &key).await;
            assert_eq!(sha256(&stored), sha256(&content), "{key}: content differs");
            expected_keys.push(key);
        }
    }
    expected_keys.sort();
    assert_eq!(moto.keys(BUCKET, "").await, expected_keys, "bucket content");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn backfill_writes_exactly_the_expected_objects_and_retention_keeps_foreign_ones() {
    let env = Env::start().await;
    let moto = Moto::start().await;
    moto.create_bucket(BUCKET).await;
    let periods = last_due(&env, 3);
    let foreign = format!("ccs/{CONTRACT}/{}/notes-from-finance.txt", periods[0]);
    moto.put_foreign(BUCKET, &foreign, b"not the operator's").await;
    let cfg = config(&env, Some(&moto.url), None);
    let op = env.operator(&["--config", &cfg]);
    env.ready_contract().await;
    s3_keys_secret(&env).await;
    env.apply::<BillingExport>(with_endpoint(s3_export("finance", 3, json!({})), &moto.url))
        .await;
    let api: Api<BillingExport> = Api::namespaced(env.client.clone(), "default");
    let e = wait_for(&api, "finance", "3 periods exported", |e| {
        exported(e).len() == 3 && has_condition(e, "Ready", "True")
    })
    .await;
    let want: Vec<String> = periods.iter().map(ToString::to_string).collect();
    assert_eq!(exported(&e), want);
    assert_bucket_holds(&env, &moto, &periods, &[&foreign]).await;

    // Status: every file with its checksum, as read back from the server.
    let status = e.status.clone().expect("status");
    assert_eq!(status.file_count, status.files.len() as i64);
    for file in &status.files {
        assert_eq!(
            sha256(&moto.get(BUCKET, &file.key).await),
            file.sha256,
            "{}",
            file.key
        );
        assert!(file.etag.is_some(), "{file:?}");
    }
    assert_eq!(
        status.destination.as_deref(),
        Some("s3://acme-billing/ccs/{contractId}/{period}/")
    );
    let files_metric = op
        .metric(
            "ccs_billing_export_files_total{kind=\"BillingReport\",name=\"finance\",namespace=\"default\"}",
        )
        .await;
    assert_eq!(files_metric, Some(3.0), "{}", op.scrape().await);

    // What a user sees with the real kubectl.
    let out = std::process::Command::new("kubectl")
        .args(["--kubeconfig", &env.kubeconfig().display().to_string()])
        .args([
            "--cache-dir",
            &env.dir.path().join("kubectl-cache").display().to_string(),
        ])
        .args(["get", "bexport"])
        .env_remove("HTTPS_PROXY")
        .output()
        .expect("kubectl runs");
    let table = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let last = periods[2].to_string();
    for needle in [
        "CONTRACT",
        "DESTINATION",
        "LAST PERIOD",
        "FILES",
        "READY",
        "acme",
        "s3://acme-billing/",
        &last,
        " 6 ",
        "True",
    ] {
        assert!(table.contains(needle), "{needle} not in:\n{table}");
    }

    // Retention of 2 periods: the oldest period's files go, the foreign object stays.
    env.apply::<BillingExport>(with_endpoint(
        s3_export("finance", 2, json!({"retention": {"keepPeriods": 2}})),
        &moto.url,
    ))
    .await;
    wait_for(&api, "finance", "oldest period expired", |e| {
        exported(e).len() == 2
    })
    .await;
    assert_bucket_holds(&env, &moto, &periods[1..], &[&foreign]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn killed_five_times_during_uploads_nothing_is_duplicated_partial_or_missing() {
    let env = Env::start().await;
    let moto = Moto::start().await;
    moto.create_bucket(BUCKET).await;
    let cfg = config(&env, Some(&moto.url), None);
    // Slow downloads, so that kills land in the middle of the periods.
    env.sim.set_faults(vec![FaultRule {
        method: None,
        route: "/customer-space/b2b/v1/contracts/{contractId}/bills/{billId}/pdf".into(),
        fault: FaultKind::Latency {
            ms: 250,
            jitter_ms: 100,
        },
        rate: 1.0,
        count: None,
    }]);
    let mut op = env.operator(&["--config", &cfg]);
    env.ready_contract().await;
    s3_keys_secret(&env).await;
    env.apply::<BillingExport>(with_endpoint(s3_export("finance", 6, json!({})), &moto.url))
        .await;
    let api: Api<BillingExport> = Api::namespaced(env.client.clone(), "default");
    let mut progress = Vec::new();
    for round in 0..5 {
        // Wait for some progress (a new object in the bucket), then kill.
        let before = moto.keys(BUCKET, "").await.len();
        wait_until(Duration::from_secs(60), "an upload", || async {
            (moto.keys(BUCKET, "").await.len() > before).then_some(())
        })
        .await;
        tokio::time::sleep(Duration::from_millis(50 * round)).await;
        op.kill();
        progress.push(moto.keys(BUCKET, "").await.len());
        op = env.operator(&["--config", &cfg]);
    }
    wait_for(&api, "finance", "6 periods exported, Ready", |e| {
        exported(e).len() == 6 && has_condition(e, "Ready", "True")
    })
    .await;
    assert_bucket_holds(&env, &moto, &last_due(&env, 6), &[]).await;
    assert!(
        moto.keys(BUCKET, "").await.iter().all(|k| !k.contains(".v-")),
        "no second version of any file; kills after {progress:?} objects"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn portal_503s_are_retried_then_the_export_is_ready() {
    let env = Env::start().await;
    let moto = Moto::start().await;
    moto.create_bucket(BUCKET).await;
    let cfg = config(&env, Some(&moto.url), None);
    let _op = env.operator(&["--config", &cfg]);
    env.ready_contract().await;
    s3_keys_secret(&env).await;
    let since = env.last_call();
    let error = |route: &str, count| FaultRule {
        method: None,
        route: format!("/customer-space/b2b/v1/contracts/{{contractId}}{route}"),
        fault: FaultKind::Error { status: 503 },
        rate: 1.0,
        count: Some(count),
    };
    env.sim.set_faults(vec![
        error("/bills/{billId}/pdf", 3),
        error("/billing-report", 2),
        error("/bills", 1),
    ]);
    env.apply::<BillingExport>(with_endpoint(s3_export("finance", 2, json!({})), &moto.url))
        .await;
    let api: Api<BillingExport> = Api::namespaced(env.client.clone(), "default");
    wait_for(&api, "finance", "Ready after retries", |e| {
        exported(e).len() == 2 && has_condition(e, "Ready", "True")
    })
    .await;
    let failed = env.calls_since(since).iter().filter(|c| c.status == 503).count();
    assert_eq!(failed, 6, "every injected 503 was met and retried");
    assert_bucket_holds(&env, &moto, &last_due(&env, 2), &[]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_missing_bucket_or_an_endpoint_not_allowed_is_a_clear_condition() {
    let env = Env::start().await;
    let moto = Moto::start().await;
    let cfg = config(&env, Some(&moto.url), None);
    let _op = env.operator(&["--config", &cfg]);
    env.ready_contract().await;
    s3_keys_secret(&env).await;
    env.apply::<BillingExport>(with_endpoint(s3_export("finance", 1, json!({})), &moto.url))
        .await;
    let api: Api<BillingExport> = Api::namespaced(env.client.clone(), "default");
    let e = wait_for(&api, "finance", "Ready=False", |e| {
        has_condition(e, "Ready", "False")
    })
    .await;
    let (_, reason, message) = condition(&e, "Ready").expect("Ready");
    assert_eq!(reason, "NotFound", "{message}");
    assert!(
        message.contains(BUCKET) && message.contains("create it"),
        "{message}"
    );
    assert!(has_condition(&e, "Stalled", "True"));

    env.apply::<BillingExport>(with_endpoint(
        s3_export("elsewhere", 1, json!({})),
        "https://s3.attacker.example",
    ))
    .await;
    let e = wait_for(&api, "elsewhere", "Ready=False", |e| {
        has_condition(e, "Ready", "False")
    })
    .await;
    let (_, reason, message) = condition(&e, "Ready").expect("Ready");
    assert_eq!(reason, "EndpointNotAllowed", "{message}");
    assert!(message.contains("billing.allowedS3Endpoints"), "{message}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_volume_destination_receives_the_files_under_its_root() {
    let env = Env::start().await;
    let root = tempfile::tempdir().expect("root");
    let cfg = config(&env, None, Some(root.path()));
    let _op = env.operator(&["--config", &cfg]);
    env.ready_contract().await;
    env.apply::<BillingExport>(json!({
        "apiVersion": "customerspace.io/v1alpha1", "kind": "BillingExport",
        "metadata": {"name": "finance", "namespace": "default"},
        "spec": {"contract": "acme", "backfill": 2,
                 "destination": {"volume": {"claimName": "billing", "path": "/exports"}}},
    }))
    .await;
    let api: Api<BillingExport> = Api::namespaced(env.client.clone(), "default");
    wait_for(&api, "finance", "2 periods exported", |e| exported(e).len() == 2).await;
    for period in last_due(&env, 2) {
        let dir = root
            .path()
            .join(format!("default/billing/exports/ccs/{CONTRACT}/{period}"));
        let mut names: Vec<String> = std::fs::read_dir(&dir)
            .expect("period directory")
            .filter_map(|e| e.ok()?.file_name().into_string().ok())
            .filter(|n| !n.starts_with('.'))
            .collect();
        names.sort();
        let mut expected = Vec::new();
        for (name, content) in expected_files(&env, period, true).await {
            let on_disk = std::fs::read(dir.join(&name)).expect("file");
            assert_eq!(sha256(&on_disk), sha256(&content), "{name}");
            expected.push(name);
        }
        expected.sort();
        assert_eq!(names, expected);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_next_period_follows_the_portal_clock_after_delay_after_close() {
    let env = Env::start().await;
    let moto = Moto::start().await;
    moto.create_bucket(BUCKET).await;
    let cfg = config(&env, Some(&moto.url), None);
    let _op = env.operator(&["--config", &cfg]);
    let at = |y, m, d, h| {
        chrono::TimeZone::with_ymd_and_hms(&chrono::Utc, y, m, d, h, 0, 0)
            .single()
            .expect("time")
    };
    env.sim.set_clock(at(2026, 12, 31, 22));
    env.ready_contract().await;
    s3_keys_secret(&env).await;
    env.apply::<BillingExport>(with_endpoint(
        s3_export(
            "finance",
            1,
            json!({"contents": ["BillingReport"], "schedule": {"delayAfterClose": "2h"}}),
        ),
        &moto.url,
    ))
    .await;
    let api: Api<BillingExport> = Api::namespaced(env.client.clone(), "default");
    let e = wait_for(&api, "finance", "November exported", |e| {
        exported(e) == ["2026-11"]
    })
    .await;
    assert_eq!(
        e.status.as_ref().and_then(|s| s.next_run_at.clone()).as_deref(),
        Some("2027-01-01T02:00:00Z")
    );

    // Past the month end, before the delay: December is not exported yet.
    env.sim.set_clock(at(2027, 1, 1, 1));
    let synced = e.status.as_ref().and_then(|s| s.last_sync_time.clone());
    let e = wait_for(&api, "finance", "a later sync", |e| {
        e.status.as_ref().and_then(|s| s.last_sync_time.clone()) != synced
            && e.status.as_ref().is_some_and(|s| {
                s.conditions
                    .iter()
                    .any(|c| c.message.contains("2026-12 is due at 2027-01-01T02:00:00Z"))
            })
    })
    .await;
    assert_eq!(exported(&e), ["2026-11"]);

    env.sim.set_clock(at(2027, 1, 1, 3));
    wait_for(&api, "finance", "December exported", |e| {
        exported(e) == ["2026-11", "2026-12"]
    })
    .await;
    assert_eq!(
        moto.keys(BUCKET, "").await,
        [
            format!("ccs/{CONTRACT}/2026-11/billing-report-{CONTRACT}-2026-11.csv"),
            format!("ccs/{CONTRACT}/2026-12/billing-report-{CONTRACT}-2026-12.csv"),
        ]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn wrong_s3_credentials_are_a_condition_naming_the_bucket_and_the_fix() {
    let env = Env::start().await;
    let moto = Moto::start().await;
    moto.create_bucket(BUCKET).await;
    let gate = S3Gate::start(&moto.url, "finance-key").await;
    let cfg = config(&env, Some(&gate.url), None);
    let op = env.operator(&["--config", &cfg]);
    env.ready_contract().await;
    s3_keys_secret(&env).await; // holds test-access-key, which the gate refuses
    env.apply::<BillingExport>(with_endpoint(s3_export("finance", 1, json!({})), &gate.url))
        .await;
    let api: Api<BillingExport> = Api::namespaced(env.client.clone(), "default");
    let e = wait_for(&api, "finance", "Ready=False", |e| {
        has_condition(e, "Ready", "False")
    })
    .await;
    let (_, reason, message) = condition(&e, "Ready").expect("Ready");
    assert_eq!(reason, "Forbidden", "{message}");
    for needle in [
        BUCKET,
        "default/obs-keys",
        "accessKeyId",
        "secretAccessKey",
        "403",
    ] {
        assert!(message.contains(needle), "{needle} missing from: {message}");
    }
    assert!(
        !message.contains("test-secret-key"),
        "a secret in status: {message}"
    );
    assert!(moto.keys(BUCKET, "").await.is_empty());

    // The fix: the right key. The Secret change is picked up at the next poll.
    let data: BTreeMap<String, String> = [
        ("accessKeyId".to_string(), "finance-key".to_string()),
        ("secretAccessKey".to_string(), "any".to_string()),
    ]
    .into();
    env.secret("obs-keys", data).await;
    wait_for(&api, "finance", "Ready after the fix", |e| {
        exported(e).len() == 1 && has_condition(e, "Ready", "True")
    })
    .await;

    // The scrape carries every billing series the alert rules use, with no personal data.
    let scrape = op.scrape().await;
    assert!(
        op.metric("ccs_billing_export_failures_total{name=\"finance\",namespace=\"default\"}")
            .await
            .is_some_and(|n| n >= 1.0),
        "{scrape}"
    );
    let file = env.dir.path().join("billing-scrape.txt");
    std::fs::write(&file, &scrape).expect("scrape written");
    let missing = crate::runtime::missing_metric_names(&file);
    assert!(
        missing.iter().all(|m| !m.starts_with("ccs_billing_export")),
        "{missing:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn s3_503s_are_retried_then_the_export_is_ready() {
    let env = Env::start().await;
    let moto = Moto::start().await;
    moto.create_bucket(BUCKET).await;
    let gate = S3Gate::start(&moto.url, "test-access-key").await;
    let cfg = config(&env, Some(&gate.url), None);
    let _op = env.operator(&["--config", &cfg]);
    env.ready_contract().await;
    s3_keys_secret(&env).await;
    gate.unavailable.store(5, Ordering::SeqCst);
    env.apply::<BillingExport>(with_endpoint(s3_export("finance", 2, json!({})), &gate.url))
        .await;
    let api: Api<BillingExport> = Api::namespaced(env.client.clone(), "default");
    wait_for(&api, "finance", "Ready after retries", |e| {
        exported(e).len() == 2 && has_condition(e, "Ready", "True")
    })
    .await;
    assert_eq!(gate.refused.load(Ordering::SeqCst), 5, "every 503 was met");
    assert_bucket_holds(&env, &moto, &last_due(&env, 2), &[]).await;
}

/// Runs `ccs-operator billing download` against the simulator.
fn download(
    sim: &ccs_simulator::Simulator,
    creds: &std::path::Path,
    out: &std::path::Path,
    from: Month,
    to: Month,
) -> std::process::Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_ccs-operator"))
        .args(["billing", "download", "--contract", CONTRACT])
        .args(["--from", &from.to_string(), "--to", &to.to_string()])
        .args(["--endpoint", &sim.base_url(), "--allow-insecure"])
        .arg("--credentials-file")
        .arg(creds)
        .arg("--out")
        .arg(out)
        .env_remove("HTTP_PROXY")
        .env_remove("http_proxy")
        .output()
        .expect("binary runs")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn billing_download_fetches_resumes_by_checksum_and_names_every_failed_file() {
    let env = Env::start().await;
    let dir = tempfile::tempdir().expect("tmp");
    let c = env.credential(CONTRACT, "operator");
    let creds = dir.path().join("creds.yaml");
    std::fs::write(
        &creds,
        format!(
            "clientId: {}\nclientSecret: {}\napiKey: {}\n",
            c.client_id, c.client_secret, c.api_key
        ),
    )
    .expect("creds");
    let out = dir.path().join("out");
    let months = last_due(&env, 3);
    let (from, to) = (months[0], months[2]);

    let run = download(&env.sim, &creds, &out, from, to);
    let stdout = String::from_utf8_lossy(&run.stdout);
    assert!(
        run.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let mut expected = Vec::new();
    for month in &months {
        for (name, content) in expected_files(&env, *month, true).await {
            let path = format!("{month}/{name}");
            let on_disk = std::fs::read(out.join(&path)).expect("downloaded");
            assert_eq!(sha256(&on_disk), sha256(&content), "{path}");
            assert!(stdout.contains(&format!("downloaded {path}")), "{stdout}");
            expected.push(format!("{}  {path}", sha256(&content)));
        }
    }
    expected.sort_by(|a, b| a[66..].cmp(&b[66..]));
    let sums = std::fs::read_to_string(out.join("SHA256SUMS")).expect("SHA256SUMS");
    assert_eq!(sums.lines().collect::<Vec<_>>(), expected);

    // Resume: a damaged and a missing file are fetched again, the rest is verified and kept.
    let report = format!("{}/billing-report-{CONTRACT}-{}.csv", months[1], months[1]);
    let invoice = format!(
        "{}/invoice-INV-{CONTRACT}-{}.pdf",
        months[2],
        months[2].to_string().replace('-', "")
    );
    std::fs::write(out.join(&report), "tampered").expect("tamper");
    std::fs::remove_file(out.join(&invoice)).expect("remove");
    let run = download(&env.sim, &creds, &out, from, to);
    let stdout = String::from_utf8_lossy(&run.stdout);
    assert!(run.status.success(), "{stdout}");
    assert!(
        stdout.contains(&format!("downloaded {report}")) && stdout.contains(&format!("downloaded {invoice}")),
        "{stdout}"
    );
    assert_eq!(stdout.matches("present ").count(), 4, "{stdout}");
    assert!(
        stdout.contains("2 downloaded, 4 already present, 0 failed"),
        "{stdout}"
    );
    assert_eq!(
        std::fs::read_to_string(out.join("SHA256SUMS")).expect("sums"),
        sums
    );

    // Failures: every invoice of a new month fails; each is named and the exit is non-zero.
    env.sim.set_faults(vec![FaultRule {
        method: None,
        route: "/customer-space/b2b/v1/contracts/{contractId}/bills/{billId}/pdf".into(),
        fault: FaultKind::Error { status: 404 },
        rate: 1.0,
        count: None,
    }]);
    let earlier = (from.plus(-2), from.plus(-1));
    let run = download(&env.sim, &creds, &out, earlier.0, earlier.1);
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert!(!run.status.success());
    for month in [earlier.0, earlier.1] {
        let path = format!(
            "{month}/invoice-INV-{CONTRACT}-{}.pdf",
            month.to_string().replace('-', "")
        );
        assert!(stderr.contains(&path), "{path} not named: {stderr}");
        assert!(!out.join(&path).exists(), "no file for a failed download");
    }
    assert!(stderr.contains("2 file(s) failed"), "{stderr}");
}
