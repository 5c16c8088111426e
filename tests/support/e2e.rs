//! End-to-end environment: the embedded API server with the CRDs installed, the Customer Space
//! simulator, a real SMTP server, and the operator binary (started, stopped, killed, restarted).

use super::manifests::{self, CONTRACT};
use super::smtp::SmtpSink;
use ccs_devcluster::{DevCluster, DevClusterConfig};
use ccs_operator::api::CloudContract;
use ccs_simulator::{SimConfig, Simulator};
use k8s_openapi::api::core::v1::Secret;
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::api::{Api, Patch, PatchParams, PostParams};
use kube::{Resource, ResourceExt};
use serde::de::DeserializeOwned;
use std::collections::BTreeMap;
use std::future::Future;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// How long an end-to-end wait may take before the test fails.
pub const DEADLINE: Duration = Duration::from_secs(60);

/// Everything an end-to-end test runs against.
pub struct Env {
    /// The API server.
    pub cluster: DevCluster,
    /// A client of it.
    pub client: kube::Client,
    /// The simulator.
    pub sim: Simulator,
    /// The SMTP server.
    pub smtp: SmtpSink,
    /// Scratch directory (kubeconfig, operator logs).
    pub dir: tempfile::TempDir,
}

/// The simulator settings of the tests: the clock starts now, so data is fresh to the operator
/// (see [`start_time`]).
pub fn sim_config() -> SimConfig {
    SimConfig {
        start_time: start_time(chrono::Utc::now()),
        ..SimConfig::default()
    }
}

/// `now`, except in the first and last days of a month: the month's spend to date is then close
/// to nothing, or an hour's advance crosses into the next period, and the budget tests would
/// depend on the day they run (they failed on the 1st). Those days start on the 15th instead,
/// ahead of the real clock: data from the future is fresh to the operator, never stale.
pub fn start_time(now: chrono::DateTime<chrono::Utc>) -> chrono::DateTime<chrono::Utc> {
    use chrono::{Datelike, Months};
    let day = now.day();
    if (8..=25).contains(&day) {
        return now;
    }
    let month = if day < 8 { now } else { now + Months::new(1) };
    month.with_day(15).unwrap_or(now)
}

impl Env {
    /// Starts the cluster (CRDs established), the simulator and the SMTP server.
    pub async fn start() -> Self {
        Self::start_with(sim_config()).await
    }

    /// Same, with simulator settings.
    pub async fn start_with(sim: SimConfig) -> Self {
        ccs_operator::install_crypto_provider();
        let dir = tempfile::tempdir().expect("tempdir");
        let mut cluster = DevCluster::start(DevClusterConfig::default())
            .await
            .expect("dev cluster");
        cluster
            .write_kubeconfig(&dir.path().join("kubeconfig"))
            .expect("kubeconfig");
        let client = cluster.client().expect("client");
        install_crds(&client).await;
        let sim = Simulator::start(sim).await.expect("simulator");
        let smtp = SmtpSink::start();
        Self {
            cluster,
            client,
            sim,
            smtp,
            dir,
        }
    }

    /// Writes an operator configuration file (YAML) into the scratch directory.
    pub fn config_file(&self, yaml: &str) -> PathBuf {
        let path = self.dir.path().join(format!("config-{}.yaml", fastrand_suffix()));
        std::fs::write(&path, yaml).expect("config written");
        path
    }

    /// The kubeconfig file of the cluster.
    pub fn kubeconfig(&self) -> PathBuf {
        self.dir.path().join("kubeconfig")
    }

    /// The seeded credential with `label` (`operator`, `manager`, `visitor`) for `contract_id`.
    pub fn credential(&self, contract_id: &str, label: &str) -> ccs_simulator::SeededCredential {
        self.sim
            .seeded_credentials()
            .into_iter()
            .find(|c| c.label == label && c.contracts.iter().any(|id| id == contract_id))
            .unwrap_or_else(|| panic!("no {label} credential for {contract_id}"))
    }

    /// Creates (or replaces) a credentials Secret in `default` from a seeded credential.
    pub async fn credentials_secret(&self, name: &str, contract_id: &str, label: &str) {
        let c = self.credential(contract_id, label);
        let data: BTreeMap<String, String> = [
            ("clientId".to_string(), c.client_id),
            ("clientSecret".to_string(), c.client_secret),
            ("apiKey".to_string(), c.api_key),
        ]
        .into();
        self.secret(name, data).await;
    }

    /// Creates or replaces a credentials Secret (labelled for the operator) in `default`.
    pub async fn secret(&self, name: &str, string_data: BTreeMap<String, String>) {
        self.secret_in("default", name, string_data, true).await;
    }

    /// Creates or replaces a Secret in `namespace`, with the credentials label when `marked`.
    pub async fn secret_in(
        &self,
        namespace: &str,
        name: &str,
        string_data: BTreeMap<String, String>,
        marked: bool,
    ) {
        let labels = if marked {
            serde_json::json!({ccs_operator::api::common::LABEL_CREDENTIALS: "true"})
        } else {
            serde_json::json!({})
        };
        let secret = serde_json::json!({
            "apiVersion": "v1", "kind": "Secret",
            "metadata": {"name": name, "namespace": namespace, "labels": labels},
            "stringData": string_data,
        });
        let api: Api<Secret> = Api::namespaced(self.client.clone(), namespace);
        api.patch(name, &PatchParams::apply("e2e").force(), &Patch::Apply(&secret))
            .await
            .expect("secret applied");
    }

    /// Applies a manifest given as JSON (server-side apply) in its namespace.
    pub async fn apply<K>(&self, manifest: serde_json::Value) -> K
    where
        K: Resource<DynamicType = (), Scope = kube::core::NamespaceResourceScope>
            + Clone
            + DeserializeOwned
            + serde::Serialize
            + std::fmt::Debug,
    {
        let name = manifest["metadata"]["name"].as_str().expect("name").to_string();
        let ns = manifest["metadata"]["namespace"]
            .as_str()
            .unwrap_or("default")
            .to_string();
        let api: Api<K> = Api::namespaced(self.client.clone(), &ns);
        api.patch(
            &name,
            &PatchParams::apply("e2e").force(),
            &Patch::Apply(&manifest),
        )
        .await
        .expect("applied")
    }

    /// Applies the Secret `acme-creds` (the `operator` credential) and the CloudContract `acme` on
    /// [`CONTRACT`], waits until it is Ready, and returns its consumption to date.
    pub async fn ready_contract(&self) -> f64 {
        self.credentials_secret("acme-creds", CONTRACT, "operator").await;
        self.apply::<CloudContract>(manifests::contract("acme", CONTRACT, "acme-creds"))
            .await;
        let contracts: Api<CloudContract> = Api::namespaced(self.client.clone(), "default");
        let c = wait_for(&contracts, "acme", "Ready", |c| has_condition(c, "Ready", "True")).await;
        c.status
            .and_then(|s| s.consumption)
            .map(|c| c.amount.parse().expect("decimal"))
            .expect("consumption")
    }

    /// Applies BudgetAlert `name` on contract `acme` sized so that `spend` is 60% of it: above the
    /// `half` threshold, below `most`.
    pub async fn budget_above_half(&self, name: &str, spend: f64) {
        let amount = format!("{:.0}", (spend / 0.6).round());
        self.apply::<ccs_operator::api::BudgetAlert>(manifests::budget(name, "acme", &amount))
            .await;
    }

    /// Starts the operator binary against this environment.
    pub fn operator(&self, extra: &[&str]) -> Operator {
        Operator::start(self, &self.kubeconfig(), extra, &[])
    }

    /// Same, reaching the cluster through the kubeconfig file `kubeconfig` (such as a [`super::gate::Gate`]'s).
    pub fn operator_via(&self, kubeconfig: &Path, extra: &[&str]) -> Operator {
        Operator::start(self, kubeconfig, extra, &[])
    }

    /// A kubeconfig file like the cluster's, pointing at `server` instead.
    pub fn kubeconfig_for(&self, server: &str) -> PathBuf {
        let text = read(&self.kubeconfig()).replace(&self.cluster.base_url(), server);
        let path = self.dir.path().join(format!("kubeconfig-{}", fastrand_suffix()));
        std::fs::write(&path, text).expect("kubeconfig written");
        path
    }

    /// Same, with extra environment variables (such as `CCS_LEASE_DURATION`).
    pub fn operator_with_env(&self, vars: &[(&str, &str)], extra: &[&str]) -> Operator {
        Operator::start(self, &self.kubeconfig(), extra, vars)
    }

    /// The simulator's calls from sequence `since` on.
    pub fn calls_since(&self, since: u64) -> Vec<ccs_simulator::CallRecord> {
        self.sim.calls(since)
    }

    /// The sequence number of the last call so far.
    pub fn last_call(&self) -> u64 {
        self.sim.calls(0).last().map_or(0, |c| c.seq)
    }
}

/// Creates the four CRDs and waits until they are established.
pub async fn install_crds(client: &kube::Client) {
    let api: Api<CustomResourceDefinition> = Api::all(client.clone());
    for crd in ccs_operator::api::all_crds() {
        api.create(&PostParams::default(), &crd)
            .await
            .expect("CRD created");
    }
    for crd in ccs_operator::api::all_crds() {
        let name = crd.name_any();
        wait_until(DEADLINE, &format!("CRD {name} established"), || {
            let api = api.clone();
            let name = name.clone();
            async move {
                let crd = api.get(&name).await.ok()?;
                let established = crd
                    .status?
                    .conditions?
                    .iter()
                    .any(|c| c.type_ == "Established" && c.status == "True");
                established.then_some(())
            }
        })
        .await;
    }
}

/// Polls `check` until it returns `Some`, failing the test at the deadline.
pub async fn wait_until<T, F, Fut>(deadline: Duration, what: &str, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let start = Instant::now();
    loop {
        if let Some(value) = check().await {
            return value;
        }
        assert!(
            start.elapsed() < deadline,
            "timed out after {deadline:?} waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Waits until the object satisfies `pred`, and returns it.
pub async fn wait_for<K>(api: &Api<K>, name: &str, what: &str, pred: impl Fn(&K) -> bool) -> K
where
    K: Resource + Clone + DeserializeOwned + std::fmt::Debug,
{
    wait_until(DEADLINE, &format!("{name}: {what}"), || async {
        api.get(name).await.ok().filter(|o| pred(o))
    })
    .await
}

/// The status of condition `type_` of an object with standard conditions, read as JSON.
pub fn condition<K: serde::Serialize>(obj: &K, type_: &str) -> Option<(String, String, String)> {
    let value = serde_json::to_value(obj).ok()?;
    let c = value["status"]["conditions"]
        .as_array()?
        .iter()
        .find(|c| c["type"] == type_)?
        .clone();
    Some((
        c["status"].as_str()?.to_string(),
        c["reason"].as_str()?.to_string(),
        c["message"].as_str().unwrap_or_default().to_string(),
    ))
}

/// Whether condition `type_` has `status`.
pub fn has_condition<K: serde::Serialize>(obj: &K, type_: &str, status: &str) -> bool {
    condition(obj, type_).is_some_and(|(s, _, _)| s == status)
}

/// A running operator process.
pub struct Operator {
    child: Child,
    /// Its stdout and stderr, merged into one file.
    pub log: PathBuf,
    /// Address of its metrics server.
    pub metrics: String,
    /// Address of its status page, when started with `--web-listen`.
    pub web: Option<String>,
}

impl Operator {
    fn start(env: &Env, kubeconfig: &Path, extra: &[&str], vars: &[(&str, &str)]) -> Self {
        let log = env.dir.path().join(format!("operator-{}.log", fastrand_suffix()));
        let log_file = std::fs::File::create(&log).expect("log file");
        let mut args: Vec<String> = vec![
            "run".into(),
            "--kubeconfig".into(),
            kubeconfig.display().to_string(),
            "--portal-endpoint".into(),
            env.sim.base_url(),
            // The simulator speaks plain http on loopback.
            "--portal-allow-insecure".into(),
            "--metrics-listen".into(),
            "127.0.0.1:0".into(),
            "--smtp-host".into(),
            "127.0.0.1".into(),
            "--smtp-port".into(),
            env.smtp.port.to_string(),
            "--poll-interval".into(),
            "2s".into(),
        ];
        if !extra.contains(&"--leader-election") {
            args.extend(["--leader-election".into(), "false".into()]);
        }
        args.extend(extra.iter().map(|s| s.to_string()));
        let mut child = Command::new(env!("CARGO_BIN_EXE_ccs-operator"))
            .args(&args)
            .env("CCS_LOG_LEVEL", "info,ccs_operator=debug")
            .envs(vars.iter().copied())
            .env_remove("HTTPS_PROXY")
            .env_remove("https_proxy")
            .env_remove("HTTP_PROXY")
            .env_remove("http_proxy")
            .stdout(Stdio::piped())
            .stderr(log_file)
            .spawn()
            .expect("operator starts");
        let mut stdout = BufReader::new(child.stdout.take().expect("stdout"));
        let mut announced = |what: &str| {
            let mut line = String::new();
            stdout.read_line(&mut line).expect("a line");
            line.trim()
                .rsplit("http://")
                .next()
                .filter(|a| a.contains(':'))
                .unwrap_or_else(|| {
                    panic!(
                        "operator did not announce its {what} address: {line:?}; log: {}",
                        read(&log)
                    )
                })
                .to_string()
        };
        let metrics = announced("metrics");
        let web = extra.contains(&"--web-listen").then(|| announced("status page"));
        Self {
            child,
            log,
            metrics,
            web,
        }
    }

    /// The operator's log so far.
    pub fn logs(&self) -> String {
        read(&self.log)
    }

    /// A scrape of its `/metrics`.
    pub async fn scrape(&self) -> String {
        reqwest::get(format!("http://{}/metrics", self.metrics))
            .await
            .expect("scrape")
            .text()
            .await
            .expect("scrape body")
    }

    /// The value of a metric line starting with `series` (name plus labels), if present.
    pub async fn metric(&self, series: &str) -> Option<f64> {
        self.scrape()
            .await
            .lines()
            .find(|l| l.starts_with(series))
            .and_then(|l| l.rsplit(' ').next()?.parse().ok())
    }

    /// The HTTP status of `path` (such as `/readyz`) on its metrics server.
    pub async fn probe(&self, path: &str) -> u16 {
        reqwest::get(format!("http://{}{path}", self.metrics))
            .await
            .expect("probe")
            .status()
            .as_u16()
    }

    /// The process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Stops it with SIGTERM and waits for the exit (graceful shutdown).
    pub fn stop(&mut self) {
        let _ = Command::new("kill")
            .arg("-TERM")
            .arg(self.child.id().to_string())
            .status();
        let _ = self.child.wait();
    }

    /// Kills it with SIGKILL (a crash).
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Whether it is still running.
    pub fn is_running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    /// Waits until it exits on its own, failing the test at `deadline`; returns its exit status.
    pub async fn exited_within(&mut self, deadline: Duration) -> std::process::ExitStatus {
        let start = Instant::now();
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                return status;
            }
            assert!(
                start.elapsed() < deadline,
                "the operator still runs after {deadline:?}; log:\n{}",
                self.logs()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

impl Drop for Operator {
    fn drop(&mut self) {
        self.kill();
    }
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_default()
}

fn fastrand_suffix() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(0)
}

#[test]
fn the_simulated_clock_starts_mid_month_and_never_behind_the_real_one() {
    let at = |s: &str| s.parse::<chrono::DateTime<chrono::Utc>>().expect("instant");
    for (now, start) in [
        ("2026-11-20T08:00:00Z", "2026-11-20T08:00:00Z"),
        ("2026-12-01T00:09:00Z", "2026-12-15T00:09:00Z"),
        ("2026-11-30T22:55:00Z", "2026-12-15T22:55:00Z"),
        ("2027-01-31T12:00:00Z", "2027-02-15T12:00:00Z"),
        ("2026-12-28T12:00:00Z", "2027-01-15T12:00:00Z"),
    ] {
        assert_eq!(start_time(at(now)), at(start), "{now}");
        assert!(start_time(at(now)) >= at(now));
    }
}
