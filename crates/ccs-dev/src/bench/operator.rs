//! `ccs-dev bench operator`: N contracts with M BudgetAlerts each on an in-process dev-cluster
//! and simulator, the operator as a child process (this same binary, `run`). Measures the time
//! from start to all Ready, portal calls per poll interval in steady state (from the simulator's
//! call log), and the operator's memory (VmRSS and VmHWM of the child from `/proc`).

use ccs_api::{BudgetAlert, CloudContract};
use ccs_devcluster::{DevCluster, DevClusterConfig};
use ccs_simulator::{SimConfig, Simulator};
use k8s_openapi::api::core::v1::Secret;
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::api::{Api, ListParams, Patch, PatchParams, PostParams};
use kube::{Resource, ResourceExt};
use serde_json::json;
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Flags of `bench operator`.
#[derive(clap::Args, Debug)]
pub struct BenchArgs {
    /// CloudContracts (one simulator contract and one Secret each).
    #[arg(long, default_value_t = 50)]
    pub contracts: usize,
    /// BudgetAlerts per contract.
    #[arg(long, default_value_t = 4)]
    pub budgets_per_contract: usize,
    /// The operator's poll interval.
    #[arg(long, default_value = "10s", value_parser = humantime::parse_duration)]
    pub poll_interval: Duration,
    /// Poll intervals measured in steady state.
    #[arg(long, default_value_t = 4)]
    pub intervals: u32,
}

/// The figures of one run.
#[derive(Debug)]
pub struct Report {
    /// Objects created.
    pub contracts: usize,
    /// BudgetAlerts created.
    pub budgets: usize,
    /// Poll interval.
    pub poll: Duration,
    /// From spawning the operator to every object Ready.
    pub time_to_ready: Duration,
    /// Steady-state window measured.
    pub window: Duration,
    /// Portal reads (GET) per contract per poll interval, mean over contracts.
    pub reads_per_contract_interval: f64,
    /// The same, for the contract read most.
    pub max_reads_per_contract_interval: f64,
    /// Token requests in the window.
    pub token_calls: usize,
    /// Writes (non-GET, tokens excluded) in the window.
    pub writes: usize,
    /// Resident memory of the operator at the end, in KiB.
    pub rss_kib: u64,
    /// Peak resident memory of the operator, in KiB.
    pub peak_rss_kib: u64,
}

impl std::fmt::Display for Report {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let rows = [
            (
                "contracts / budget alerts",
                format!("{} / {}", self.contracts, self.budgets),
            ),
            ("poll interval", format!("{:?}", self.poll)),
            (
                "start to all Ready",
                format!("{:.2} s", self.time_to_ready.as_secs_f64()),
            ),
            (
                "steady-state window",
                format!("{:.1} s", self.window.as_secs_f64()),
            ),
            (
                "portal reads / contract / interval",
                format!(
                    "{:.2} mean, {:.2} max (goal <= 2)",
                    self.reads_per_contract_interval, self.max_reads_per_contract_interval
                ),
            ),
            ("token calls in window", self.token_calls.to_string()),
            ("portal writes in window", self.writes.to_string()),
            (
                "operator RSS now / peak",
                format!("{} / {} KiB", self.rss_kib, self.peak_rss_kib),
            ),
        ];
        writeln!(f, "{:<36} | value", "measure")?;
        writeln!(f, "{:-<36}-+-{:-<40}", "", "")?;
        for (name, value) in rows {
            writeln!(f, "{name:<36} | {value}")?;
        }
        Ok(())
    }
}

/// Runs the benchmark and prints its table.
pub fn main(args: BenchArgs) -> anyhow::Result<()> {
    let report = tokio::runtime::Runtime::new()?.block_on(run(args))?;
    println!("{report}");
    Ok(())
}

/// The operator child process; killed on drop (also when a benchmark fails half way).
pub(crate) struct Operator(pub(crate) Child);

impl Drop for Operator {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// `VmRSS` and `VmHWM` of a process, in KiB (0 where `/proc` is unavailable).
pub(super) fn memory_kib(pid: u32) -> (u64, u64) {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|v| v.split_whitespace().next()?.parse().ok())
            .unwrap_or(0)
    };
    (field("VmRSS:"), field("VmHWM:"))
}

pub(crate) async fn install_crds(client: &kube::Client) -> anyhow::Result<()> {
    let api: Api<CustomResourceDefinition> = Api::all(client.clone());
    for crd in ccs_api::all_crds() {
        api.create(&PostParams::default(), &crd).await?;
    }
    for crd in ccs_api::all_crds() {
        wait(Duration::from_secs(30), "CRD established", || async {
            let crd = api.get(&crd.name_any()).await.ok()?;
            crd.status?
                .conditions?
                .iter()
                .any(|c| c.type_ == "Established" && c.status == "True")
                .then_some(())
        })
        .await?;
    }
    Ok(())
}

pub(crate) async fn wait<T, Fut: Future<Output = Option<T>>>(
    deadline: Duration,
    what: &str,
    mut check: impl FnMut() -> Fut,
) -> anyhow::Result<T> {
    let start = Instant::now();
    loop {
        if let Some(v) = check().await {
            return Ok(v);
        }
        anyhow::ensure!(start.elapsed() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn apply<K>(client: &kube::Client, manifest: serde_json::Value) -> anyhow::Result<()>
where
    K: Resource<DynamicType = (), Scope = kube::core::NamespaceResourceScope>
        + Clone
        + serde::de::DeserializeOwned
        + std::fmt::Debug,
{
    let name = manifest["metadata"]["name"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    Api::<K>::namespaced(client.clone(), "default")
        .patch(
            &name,
            &PatchParams::apply("bench").force(),
            &Patch::Apply(&manifest),
        )
        .await?;
    Ok(())
}

/// One Secret, one CloudContract and `budgets` BudgetAlerts per simulator contract. The budgets are
/// large, so no email is due.
pub(crate) async fn create_objects(
    client: &kube::Client,
    sim: &Simulator,
    budgets: usize,
) -> anyhow::Result<()> {
    for (i, id) in sim.contract_ids().iter().enumerate() {
        let cred = sim
            .seeded_credentials()
            .into_iter()
            .find(|c| c.label == "operator" && c.contracts.contains(id))
            .ok_or_else(|| anyhow::anyhow!("no operator credential for {id}"))?;
        let secret = format!("creds-{i}");
        let data =
            json!({"clientId": cred.client_id, "clientSecret": cred.client_secret, "apiKey": cred.api_key});
        apply::<Secret>(
            client,
            json!({"apiVersion": "v1", "kind": "Secret",
            "metadata": {"name": secret, "namespace": "default",
                "labels": {ccs_api::common::LABEL_CREDENTIALS: "true"}}, "stringData": data}),
        )
        .await?;
        let contract = format!("contract-{i}");
        apply::<CloudContract>(
            client,
            json!({"apiVersion": "customerspace.io/v1alpha1", "kind": "CloudContract",
            "metadata": {"name": contract, "namespace": "default"},
            "spec": {"contractId": id, "offer": "FlexibleEngine", "credentialsSecretRef": {"name": secret}}}),
        )
        .await?;
        for b in 0..budgets {
            apply::<BudgetAlert>(
                client,
                json!({"apiVersion": "customerspace.io/v1alpha1", "kind": "BudgetAlert",
                "metadata": {"name": format!("{contract}-budget-{b}"), "namespace": "default"},
                "spec": {"contract": contract, "amount": "100000000", "recipients": ["finops@bench.example"],
                         "thresholds": [{"name": "half", "percent": 50}, {"name": "full", "percent": 100}]}}),
            )
            .await?;
        }
    }
    Ok(())
}

fn ready<K: serde::Serialize>(obj: &K) -> bool {
    let value = serde_json::to_value(obj).unwrap_or_default();
    value["status"]["conditions"]
        .as_array()
        .is_some_and(|c| c.iter().any(|c| c["type"] == "Ready" && c["status"] == "True"))
}

pub(crate) async fn all_ready(client: &kube::Client) -> Option<()> {
    let lp = ListParams::default();
    let contracts = Api::<CloudContract>::namespaced(client.clone(), "default")
        .list(&lp)
        .await
        .ok()?;
    let budgets = Api::<BudgetAlert>::namespaced(client.clone(), "default")
        .list(&lp)
        .await
        .ok()?;
    (contracts.items.iter().all(ready) && budgets.items.iter().all(ready)).then_some(())
}

/// Starts the operator with `extra` flags; returns it and the addresses it announced (metrics,
/// then the status page with `--web-listen`).
pub(crate) fn spawn_operator(
    kubeconfig: &std::path::Path,
    sim: &Simulator,
    poll: Duration,
    dir: &std::path::Path,
    extra: &[&str],
) -> anyhow::Result<(Operator, Vec<String>)> {
    let mut child = Command::new(super::operator_binary()?)
        .args([
            "run",
            "--leader-election",
            "false",
            "--metrics-listen",
            "127.0.0.1:0",
            "--log-level",
            "warn",
        ])
        .arg("--kubeconfig")
        .arg(kubeconfig)
        .args(["--portal-endpoint", &sim.base_url(), "--portal-allow-insecure"])
        .args(["--poll-interval", &humantime::format_duration(poll).to_string()])
        .arg("--mail-dir")
        .arg(dir.join("mail"))
        .args(extra)
        .env_remove("HTTP_PROXY")
        .env_remove("http_proxy")
        .stdout(Stdio::piped())
        .stderr(std::fs::File::create(dir.join("operator.log"))?)
        .spawn()?;
    // The first line announces the metrics address: the operator is past its preflight.
    let mut stdout = BufReader::new(child.stdout.take().ok_or_else(|| anyhow::anyhow!("no stdout"))?);
    let lines = 1 + usize::from(extra.contains(&"--web-listen"));
    let mut addresses = Vec::new();
    for _ in 0..lines {
        let mut line = String::new();
        stdout.read_line(&mut line)?;
        addresses.push(
            line.trim()
                .rsplit("http://")
                .next()
                .unwrap_or_default()
                .to_string(),
        );
    }
    Ok((Operator(child), addresses))
}

/// Runs the benchmark.
pub async fn run(args: BenchArgs) -> anyhow::Result<Report> {
    ccs_operator::install_crypto_provider();
    let dir = tempfile_dir()?;
    let mut cluster = DevCluster::start(DevClusterConfig::default()).await?;
    let kubeconfig = dir.join("kubeconfig");
    cluster.write_kubeconfig(&kubeconfig)?;
    let client = cluster.client()?;
    install_crds(&client).await?;
    let sim = Simulator::start(SimConfig {
        contracts: args.contracts,
        start_time: chrono::Utc::now(),
        ..SimConfig::default()
    })
    .await?;
    create_objects(&client, &sim, args.budgets_per_contract).await?;

    let started = Instant::now();
    let (operator, _) = spawn_operator(&kubeconfig, &sim, args.poll_interval, &dir, &[])?;
    wait(Duration::from_secs(600), "every object Ready", || {
        all_ready(&client)
    })
    .await?;
    let time_to_ready = started.elapsed();

    // Steady state: skip one interval (the first polls after startup), then measure.
    tokio::time::sleep(args.poll_interval).await;
    let since = sim.calls(0).last().map_or(0, |c| c.seq);
    let window_start = Instant::now();
    tokio::time::sleep(args.poll_interval * args.intervals).await;
    let window = window_start.elapsed();
    let calls = sim.calls(since + 1);
    let (rss_kib, peak_rss_kib) = memory_kib(operator.0.id());
    drop(operator);

    let intervals = window.as_secs_f64() / args.poll_interval.as_secs_f64();
    let mut reads: std::collections::BTreeMap<String, usize> =
        sim.contract_ids().into_iter().map(|id| (id, 0)).collect();
    for call in calls.iter().filter(|c| c.method == "GET") {
        if let Some(n) = call.contract_id.as_ref().and_then(|id| reads.get_mut(id)) {
            *n += 1;
        }
    }
    let is_token = |c: &&ccs_simulator::CallRecord| c.route.contains("token");
    let total: usize = reads.values().sum();
    let max = reads.values().copied().max().unwrap_or(0);
    let report = Report {
        contracts: args.contracts,
        budgets: args.contracts * args.budgets_per_contract,
        poll: args.poll_interval,
        time_to_ready,
        window,
        reads_per_contract_interval: total as f64 / args.contracts as f64 / intervals,
        max_reads_per_contract_interval: max as f64 / intervals,
        token_calls: calls.iter().filter(is_token).count(),
        writes: calls.iter().filter(|c| c.method != "GET" && !is_token(c)).count(),
        rss_kib,
        peak_rss_kib,
    };
    cluster.shutdown().await;
    let _ = std::fs::remove_dir_all(&dir);
    Ok(report)
}

/// A scratch directory under the system temp dir (tempfile is a dev-dependency only).
pub(crate) fn tempfile_dir() -> anyhow::Result<std::path::PathBuf> {
    let dir = std::env::temp_dir().join(format!("ccs-bench-operator-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    Ok(dir)
}
