//! `ccs-dev bench operator`: N contracts with PortalUsers, BudgetAlerts and ServiceOrders each on
//! an in-process dev-cluster and simulator, the operator as a child process (`ccs-operator run`).
//! Measures the time from start to all Ready per kind, the operator's requests to the API server
//! (told from the bench's own by their `User-Agent`) while converging and in steady state, portal
//! calls per poll interval in steady state (from the simulator's call log), CPU per process part,
//! and the operator's memory (VmRSS and VmHWM of the child from `/proc`).

pub(crate) mod objects;
pub(crate) mod ready;
mod report;

pub use report::Report;

use super::users::{PORTAL_THREADS, cpu_seconds, thread_cpu_seconds};
use ccs_devcluster::{DevCluster, DevClusterConfig};
use ccs_simulator::{SimConfig, Simulator};
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::ResourceExt;
use kube::api::{Api, PostParams};
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// `User-Agent` of the bench's own API-server client (the operator's requests are the others).
const BENCH_AGENT: &str = "ccs-dev-bench";

/// Flags of `bench operator`.
#[derive(clap::Args, Debug)]
pub struct BenchArgs {
    /// CloudContracts (one simulator contract and one Secret each).
    #[arg(long, default_value_t = 50)]
    pub contracts: usize,
    /// PortalUsers per contract.
    #[arg(long, default_value_t = 0)]
    pub users_per_contract: usize,
    /// BudgetAlerts per contract.
    #[arg(long, default_value_t = 4)]
    pub budgets_per_contract: usize,
    /// ServiceOrders per contract (public IPs, which the simulator completes 2 s after submission).
    #[arg(long, default_value_t = 0)]
    pub orders_per_contract: usize,
    /// The operator's poll interval (every controller).
    #[arg(long, default_value = "10s", value_parser = humantime::parse_duration)]
    pub poll_interval: Duration,
    /// Poll intervals measured in steady state.
    #[arg(long, default_value_t = 4)]
    pub intervals: u32,
    /// Objects the bench creates at once.
    #[arg(long, default_value_t = 64)]
    pub create_concurrency: usize,
    /// Reconciles at once per controller (`controllers.*.concurrency`).
    #[arg(long, default_value_t = 16)]
    pub concurrency: u16,
    /// The operator's portal rate limit, calls per second (`portal.rateLimit`; burst the same).
    #[arg(long, default_value_t = 1000)]
    pub portal_rate: u32,
    /// Portal calls on the wire at once (`portal.maxConcurrentCalls`).
    #[arg(long, default_value_t = 32)]
    pub portal_concurrency: u16,
    /// How long the operator may take to make every object Ready.
    #[arg(long, default_value = "30m", value_parser = humantime::parse_duration)]
    pub deadline: Duration,
    /// `controllers.statusHeartbeat` of the operator (its default when not given): `0s` writes
    /// every PortalUser's and BudgetAlert's status on every poll.
    #[arg(long, value_parser = humantime::parse_duration)]
    pub status_heartbeat: Option<Duration>,
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
pub(crate) fn memory_kib(pid: u32) -> (u64, u64) {
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

/// The operator's configuration: the bench's rate limit and concurrency, every controller polling
/// every `--poll-interval`.
pub(crate) fn operator_config(args: &BenchArgs, portal: &str) -> String {
    let controller = format!(
        "{{concurrency: {}, pollInterval: {}}}",
        args.concurrency,
        humantime::format_duration(args.poll_interval)
    );
    let heartbeat = args.status_heartbeat.map_or(String::new(), |h| {
        format!("  statusHeartbeat: {}\n", humantime::format_duration(h))
    });
    format!(
        "portal:\n  endpoint: {portal}\n  allowedEndpoints: [{{url: {portal}, allowInsecure: true}}]\n  \
         rateLimit: {{requestsPerSecond: {rate}, burst: {rate}}}\n  maxConcurrentCalls: {}\n\
         controllers:\n  cloudContract: {controller}\n  portalUser: {controller}\n  \
         budgetAlert: {controller}\n  serviceOrder: {controller}\n{heartbeat}\
         server: {{listen: \"127.0.0.1:0\"}}\nleaderElection: {{enabled: false}}\nlog: {{level: warn}}\n",
        args.portal_concurrency,
        rate = args.portal_rate,
    )
}

/// Starts the operator with `extra` flags; returns it and the addresses it announced (metrics,
/// then the status page with `--web-listen`).
pub(crate) fn spawn_operator(
    kubeconfig: &std::path::Path,
    dir: &std::path::Path,
    extra: &[&str],
) -> anyhow::Result<(Operator, Vec<String>)> {
    let mut child = Command::new(super::operator_binary()?)
        .arg("run")
        .arg("--config")
        .arg(dir.join("config.yaml"))
        .arg("--kubeconfig")
        .arg(kubeconfig)
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

/// Requests the API server received from others than the bench's own client: the operator's.
fn operator_requests(cluster: &DevCluster) -> u64 {
    let counter = cluster.requests();
    let own = counter.by_agent().get(BENCH_AGENT).copied().unwrap_or(0);
    counter.total().saturating_sub(own)
}

/// Runs the benchmark.
pub async fn run(args: BenchArgs) -> anyhow::Result<Report> {
    ccs_operator::install_crypto_provider();
    let dir = tempfile_dir()?;
    let mut cluster = DevCluster::start(DevClusterConfig::default()).await?;
    let kubeconfig = dir.join("kubeconfig");
    cluster.write_kubeconfig(&kubeconfig)?;
    let client = cluster.client_with_agent(BENCH_AGENT)?;
    install_crds(&client).await?;
    // The portal on threads of its own, as a remote portal would be (and its CPU told apart).
    let portal_runtime = PortalRuntime(Some(
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name(PORTAL_THREADS)
            .enable_all()
            .build()?,
    ));
    let sim = portal_runtime
        .handle()
        .spawn(Simulator::start(SimConfig {
            contracts: args.contracts.max(5),
            start_time: chrono::Utc::now(),
            request_in_progress_after_seconds: 1,
            request_done_after_seconds: 2,
            ..SimConfig::default()
        }))
        .await??;
    std::fs::write(dir.join("config.yaml"), operator_config(&args, &sim.base_url()))?;
    let creating = Instant::now();
    let counts = objects::create(&client, &sim, &args).await?;
    let creation = creating.elapsed();

    let requests_before = operator_requests(&cluster);
    let cpu_before = (cpu_seconds("self"), thread_cpu_seconds(PORTAL_THREADS));
    let started = Instant::now();
    let (operator, _) = spawn_operator(&kubeconfig, &dir, &[])?;
    let pid = operator.0.id();
    let ready = ready::wait_all(&client, counts, started, args.deadline).await?;
    let time_to_ready = started.elapsed();
    let converge_requests = operator_requests(&cluster) - requests_before;
    let (rss_ready_kib, _) = memory_kib(pid);
    let portal_cpu = thread_cpu_seconds(PORTAL_THREADS) - cpu_before.1;
    let cpu = (
        cpu_seconds(&pid.to_string()),
        cpu_seconds("self") - cpu_before.0 - portal_cpu,
        portal_cpu,
    );

    // Steady state: skip one interval (the first polls after startup), then measure.
    tokio::time::sleep(args.poll_interval).await;
    let since = sim.calls(0).last().map_or(0, |c| c.seq);
    let requests_mark = operator_requests(&cluster);
    let window_start = Instant::now();
    tokio::time::sleep(args.poll_interval * args.intervals).await;
    let window = window_start.elapsed();
    let steady_requests = operator_requests(&cluster) - requests_mark;
    let calls = sim.calls(since + 1);
    let (rss_kib, peak_rss_kib) = memory_kib(pid);
    drop(operator);

    let intervals = window.as_secs_f64() / args.poll_interval.as_secs_f64();
    let mut reads: std::collections::BTreeMap<String, usize> = sim
        .contract_ids()
        .into_iter()
        .take(args.contracts)
        .map(|id| (id, 0))
        .collect();
    for call in calls.iter().filter(|c| c.method == "GET") {
        if let Some(n) = call.contract_id.as_ref().and_then(|id| reads.get_mut(id)) {
            *n += 1;
        }
    }
    let is_token = |c: &&ccs_simulator::CallRecord| c.route.contains("token");
    let total: usize = reads.values().sum();
    let max = reads.values().copied().max().unwrap_or(0);
    let report = Report {
        counts,
        creation,
        poll: args.poll_interval,
        time_to_ready,
        ready,
        cpu,
        converge_requests,
        steady_requests,
        window,
        intervals,
        portal_calls: calls.len(),
        reads_per_contract_interval: total as f64 / args.contracts.max(1) as f64 / intervals,
        max_reads_per_contract_interval: max as f64 / intervals,
        token_calls: calls.iter().filter(is_token).count(),
        writes: calls.iter().filter(|c| c.method != "GET" && !is_token(c)).count(),
        rss_ready_kib,
        rss_kib,
        peak_rss_kib,
    };
    cluster.shutdown().await;
    drop(sim);
    drop(portal_runtime);
    let _ = std::fs::remove_dir_all(&dir);
    Ok(report)
}

/// The portal simulator's runtime, shut down in the background when dropped: a runtime cannot be
/// dropped from async code, also when the bench fails half way.
struct PortalRuntime(Option<tokio::runtime::Runtime>);

impl PortalRuntime {
    fn handle(&self) -> &tokio::runtime::Handle {
        self.0.as_ref().expect("present until dropped").handle()
    }
}

impl Drop for PortalRuntime {
    fn drop(&mut self) {
        if let Some(runtime) = self.0.take() {
            runtime.shutdown_background();
        }
    }
}

/// A scratch directory under the system temp dir (tempfile is a dev-dependency only).
pub(crate) fn tempfile_dir() -> anyhow::Result<std::path::PathBuf> {
    let dir = std::env::temp_dir().join(format!("ccs-bench-operator-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    Ok(dir)
}
