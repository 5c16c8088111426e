//! `ccs-dev bench users`: PortalUsers at scale against the simulator with latency, the
//! operator running as a separate process so its memory is measured alone.
//!
//! Reports the time until every PortalUser is Ready against the bound (portal calls strictly
//! needed x latency / allowed concurrency), the steady-state portal calls per poll interval and
//! contract, and the operator's resident memory with `--objects` objects in its caches.

use ccs_devcluster::{DevCluster, DevClusterConfig};
use ccs_simulator::{FaultKind, FaultRule, SimConfig, Simulator};
use futures::{StreamExt, TryStreamExt};
use k8s_openapi::api::core::v1::Secret;
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::ResourceExt;
use kube::api::{Api, PostParams};
use serde_json::json;
use std::time::{Duration, Instant};

/// Flags of `bench users`.
#[derive(clap::Args, Debug, Clone)]
pub struct UsersBenchArgs {
    /// PortalUsers to converge.
    #[arg(long, default_value_t = 2_000)]
    pub users: usize,
    /// Contracts they are spread over.
    #[arg(long, default_value_t = 20)]
    pub contracts: usize,
    /// Simulated latency of every portal call, in milliseconds.
    #[arg(long, default_value_t = 20)]
    pub latency_ms: u64,
    /// `portal.maxConcurrentCalls` of the operator: the portal calls allowed on the wire at once,
    /// the divisor of the bound.
    #[arg(long, default_value_t = 32)]
    pub portal_concurrency: u16,
    /// `controllers.portalUser.concurrency` of the operator: reconciles at once. More than the
    /// portal concurrency lets the Kubernetes reads and writes of some overlap the portal calls
    /// of others; `0` means twice the portal concurrency.
    #[arg(long, default_value_t = 0)]
    pub concurrency: u16,
    /// Poll interval of PortalUsers and CloudContracts during the steady-state measurement.
    #[arg(long, default_value = "20s", value_parser = humantime::parse_duration)]
    pub poll: Duration,
    /// Poll intervals the steady state is observed for.
    #[arg(long, default_value_t = 3)]
    pub steady_polls: u32,
    /// Objects in the operator's caches for the memory figure (the extra ones are paused
    /// PortalUsers: cached, never sent to the portal).
    #[arg(long, default_value_t = 10_000)]
    pub objects: usize,
}

impl UsersBenchArgs {
    /// Reconciles at once (see `--concurrency`).
    fn reconciles(&self) -> u16 {
        match self.concurrency {
            0 => self.portal_concurrency.saturating_mul(2),
            n => n,
        }
    }
}

/// Runs the benchmark.
pub fn run(args: UsersBenchArgs) -> anyhow::Result<()> {
    ccs_operator::install_crypto_provider();
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?
        .block_on(bench(args))
}

/// Everything the operator process needs: the cluster, the portal, its configuration.
struct Stage {
    cluster: DevCluster,
    client: kube::Client,
    sim: Simulator,
    /// The simulator's own runtime (see [`stage`]).
    portal_runtime: tokio::runtime::Runtime,
    /// Address of the operator's HTTP server.
    server: std::net::SocketAddr,
    /// Scratch directory (kubeconfig, configuration), removed at the end.
    dir: std::path::PathBuf,
}

async fn stage(args: &UsersBenchArgs) -> anyhow::Result<Stage> {
    let dir = std::env::temp_dir().join(format!("ccs-bench-users-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let mut cluster = DevCluster::start(DevClusterConfig::default()).await?;
    cluster.write_kubeconfig(&dir.join("kubeconfig"))?;
    let client = cluster.client()?;
    let crds: Api<CustomResourceDefinition> = Api::all(client.clone());
    for crd in ccs_api::all_crds() {
        crds.create(&PostParams::default(), &crd).await?;
    }
    // The portal runs on threads of its own, as a remote portal would: on the benchmark's runtime
    // its 20 ms answers would wait behind the API server's work. (The API server on its own
    // threads too measured slower: more threads than the 2 cores, more switching.)
    let portal_runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name(PORTAL_THREADS)
        .enable_all()
        .build()?;
    let sim = portal_runtime
        .spawn(Simulator::start(SimConfig {
            contracts: args.contracts.max(5),
            ..SimConfig::default()
        }))
        .await??;
    // A free port for the operator's /readyz, so the run can be timed from the operator being ready
    // (caches synced) too. (Found by binding port 0; the operator binds it a moment later.)
    let server = std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?;
    let config = format!(
        "portal:\n  endpoint: {url}\n  allowedEndpoints: [{{url: {url}, allowInsecure: true}}]\n  rateLimit: {{requestsPerSecond: 10000, burst: 10000}}\n  maxConcurrentCalls: {}\n\
         controllers:\n  cloudContract: {{concurrency: 4, pollInterval: {poll}}}\n  portalUser: {{concurrency: {}, pollInterval: {poll}}}\n\
         server: {{listen: {server}}}\nleaderElection: {{enabled: false}}\nlog: {{level: error}}\n",
        args.portal_concurrency,
        args.reconciles(),
        poll = humantime::format_duration(args.poll),
        server = server,
        url = sim.base_url(),
    );
    std::fs::write(dir.join("config.yaml"), config)?;
    Ok(Stage {
        cluster,
        client,
        sim,
        portal_runtime,
        server,
        dir,
    })
}

/// The simulator's `operator` credential (Manager on every contract, not referent).
fn operator_credential(sim: &Simulator) -> anyhow::Result<ccs_simulator::SeededCredential> {
    sim.seeded_credentials()
        .into_iter()
        .find(|c| c.label == "operator")
        .ok_or_else(|| anyhow::anyhow!("no operator credential"))
}

/// One Secret and CloudContract per simulated contract, with the `operator` credential.
async fn contracts(stage: &Stage, count: usize) -> anyhow::Result<Vec<String>> {
    let operator = operator_credential(&stage.sim)?;
    let ids: Vec<(String, ccs_operator::portal::Offer)> = stage
        .sim
        .with_world(|w| w.contracts.values().map(|c| (c.id.clone(), c.offer)).collect());
    let secrets: Api<Secret> = Api::namespaced(stage.client.clone(), "default");
    let mut names = Vec::new();
    for (i, (id, offer)) in ids.into_iter().take(count).enumerate() {
        let name = format!("c{i:02}");
        let secret = json!({"metadata": {"name": format!("{name}-creds"),
            "labels": {ccs_api::common::LABEL_CREDENTIALS: "true"}}, "stringData": {
            "clientId": operator.client_id, "clientSecret": operator.client_secret, "apiKey": operator.api_key}});
        secrets
            .create(&PostParams::default(), &serde_json::from_value(secret)?)
            .await?;
        let offer = match offer {
            ccs_operator::portal::Offer::FE => "FlexibleEngine",
            ccs_operator::portal::Offer::FCA => "FlexibleComputingAdvanced",
        };
        let contract = json!({"metadata": {"name": name}, "spec": {"contractId": id, "offer": offer,
            "credentialsSecretRef": {"name": format!("{name}-creds")}}});
        let contract: ccs_api::CloudContract = serde_json::from_value(contract)?;
        Api::namespaced(stage.client.clone(), "default")
            .create(&PostParams::default(), &contract)
            .await?;
        names.push(name);
    }
    Ok(names)
}

/// Creates PortalUsers `from..to`, spread over `contracts`; `paused` ones stay in the cache only.
async fn users(
    client: &kube::Client,
    contracts: &[String],
    from: usize,
    to: usize,
    paused: bool,
) -> anyhow::Result<()> {
    let api: Api<ccs_api::PortalUser> = Api::namespaced(client.clone(), "default");
    futures::stream::iter(from..to)
        .map(|i| {
            let api = api.clone();
            let contract = contracts[i % contracts.len()].clone();
            async move {
                let mut obj = json!({"metadata": {"name": format!("u{i:05}")}, "spec": {
                    "email": format!("bench.user.{i:05}@bench.example"), "firstName": "Bench", "lastName": format!("User{i}"),
                    "invitation": {"send": false},
                    "access": [{"contract": contract, "profiles": {"dashboard": "Visitor", "requests": "Manager"}}]}});
                if paused {
                    obj["metadata"]["annotations"] = json!({ccs_api::common::ANNOTATION_PAUSED: "true"});
                }
                api.create(&PostParams::default(), &serde_json::from_value(obj)?).await?;
                anyhow::Ok(())
            }
        })
        .buffer_unordered(32)
        .try_collect::<Vec<_>>()
        .await?;
    Ok(())
}

/// Token requests timed by [`idle_call_time`].
const PROBES: usize = 15;

/// How long one portal call takes, latency included, with nothing else running: the median of
/// [`PROBES`] sequential token requests (a real handler, with no effect on the contracts).
async fn idle_call_time(stage: &Stage) -> anyhow::Result<Duration> {
    let operator = operator_credential(&stage.sim)?;
    let http = reqwest::Client::new();
    let url = format!("{}/oauth/v3/token", stage.sim.base_url());
    let mut times = Vec::with_capacity(PROBES);
    for _ in 0..PROBES {
        let start = Instant::now();
        http.post(&url)
            .basic_auth(&operator.client_id, Some(&operator.client_secret))
            .header("X-Api-Key", &operator.api_key)
            .header("Content-Type", "application/x-www-form-urlencoded")
            .body("grant_type=client_credentials")
            .send()
            .await?
            .error_for_status()?
            .bytes()
            .await?;
        times.push(start.elapsed());
    }
    times.sort();
    Ok(times[PROBES / 2])
}

/// When the operator's `/readyz` first answered 200 (its caches synced), from `started`; asked
/// every 5 ms.
async fn until_ready(server: std::net::SocketAddr, started: Instant) -> Duration {
    let http = reqwest::Client::new();
    let url = format!("http://{server}/readyz");
    loop {
        if http.get(&url).send().await.is_ok_and(|r| r.status().is_success()) {
            return started.elapsed();
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

/// When the PortalUsers became Ready, from the benchmark's start.
struct Convergence {
    /// The elapsed time at which each one (counted once) became Ready, in order.
    times: Vec<Duration>,
}

impl Convergence {
    /// The time by which `fraction` of them were Ready.
    fn at(&self, fraction: f64) -> Duration {
        let i = ((self.times.len() as f64 * fraction).ceil() as usize).clamp(1, self.times.len().max(1));
        self.times.get(i - 1).copied().unwrap_or_default()
    }
}

/// A watch on the PortalUsers, its initial list already read: started before the operator, so
/// the benchmark's own list does not compete with the operator's for the API server and the CPU.
type UserEvents = std::pin::Pin<
    Box<
        dyn futures::Stream<
                Item = Result<
                    kube::runtime::watcher::Event<ccs_api::PortalUser>,
                    kube::runtime::watcher::Error,
                >,
            > + Send,
    >,
>;

async fn listed_user_watch(client: &kube::Client) -> anyhow::Result<UserEvents> {
    use kube::runtime::watcher::Event;
    let api: Api<ccs_api::PortalUser> = Api::namespaced(client.clone(), "default");
    let mut events: UserEvents = Box::pin(kube::runtime::watcher(
        api,
        kube::runtime::watcher::Config::default(),
    ));
    while let Some(event) = events.try_next().await? {
        if matches!(event, Event::InitDone) {
            return Ok(events);
        }
    }
    anyhow::bail!("the PortalUser watch ended before its initial list")
}

/// Follows the watch (a watch, not repeated lists, so measuring adds little load) until `count`
/// PortalUsers are Ready.
async fn watch_until_ready(
    mut events: UserEvents,
    count: usize,
    started: Instant,
) -> anyhow::Result<Convergence> {
    use kube::runtime::watcher::Event;
    let mut ready = std::collections::HashSet::new();
    let mut times = Vec::with_capacity(count);
    while let Some(event) = events.try_next().await? {
        let (Event::Apply(user) | Event::InitApply(user)) = event else {
            continue;
        };
        let is_ready = user
            .status
            .as_ref()
            .is_some_and(|s| ccs_operator::controllers::common::conditions::is_true(&s.conditions, "Ready"));
        if is_ready && ready.insert(user.name_any()) {
            times.push(started.elapsed());
        }
        if ready.len() >= count {
            return Ok(Convergence { times });
        }
    }
    anyhow::bail!("the PortalUser watch ended")
}

fn rss_mib(pid: u32) -> f64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let kib: f64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .unwrap_or(0.0);
    kib / 1024.0
}

/// Thread name of the portal simulator's runtime (its CPU is told apart from the API server's).
pub(crate) const PORTAL_THREADS: &str = "portal-sim";

/// CPU time (user + system) a process has used so far, in seconds; `self` for this process.
pub(crate) fn cpu_seconds(pid: &str) -> f64 {
    stat_cpu_seconds(&format!("/proc/{pid}/stat"))
}

/// CPU time of this process's threads named `name`.
pub(crate) fn thread_cpu_seconds(name: &str) -> f64 {
    let Ok(tasks) = std::fs::read_dir("/proc/self/task") else {
        return 0.0;
    };
    tasks
        .flatten()
        .filter(|t| std::fs::read_to_string(t.path().join("comm")).is_ok_and(|comm| comm.trim() == name))
        .map(|t| stat_cpu_seconds(&t.path().join("stat").to_string_lossy()))
        .sum()
}

/// utime + stime of a `/proc/.../stat` file, in seconds.
fn stat_cpu_seconds(path: &str) -> f64 {
    let stat = std::fs::read_to_string(path).unwrap_or_default();
    // Fields after the command name (which may hold spaces) start at state; utime, stime are 14, 15.
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .map_or(Vec::new(), |(_, rest)| rest.split_whitespace().collect());
    let ticks: f64 = [11, 12]
        .iter()
        .filter_map(|i| fields.get(*i)?.parse::<f64>().ok())
        .sum();
    ticks / 100.0
}

async fn bench(args: UsersBenchArgs) -> anyhow::Result<()> {
    let stage = stage(&args).await?;
    let names = contracts(&stage, args.contracts).await?;
    users(&stage.client, &names, 0, args.users, false).await?;
    stage.sim.set_faults(vec![FaultRule {
        method: None,
        route: "*".into(),
        fault: FaultKind::Latency {
            ms: args.latency_ms,
            jitter_ms: 0,
        },
        rate: 1.0,
        count: None,
    }]);
    let call_time = idle_call_time(&stage).await?;
    let first_call = stage.sim.calls(0).last().map_or(0, |c| c.seq);
    let events = listed_user_watch(&stage.client).await?;
    let operator = std::process::Command::new(super::operator_binary()?)
        .arg("run")
        .arg("--config")
        .arg(stage.dir.join("config.yaml"))
        .arg("--kubeconfig")
        .arg(stage.dir.join("kubeconfig"))
        .stdout(std::process::Stdio::null())
        .spawn()?;
    let operator = super::operator::Operator(operator);
    let started = Instant::now();
    let cpu_before = cpu_seconds("self");
    let portal_cpu_before = thread_cpu_seconds(PORTAL_THREADS);
    let (convergence, operator_ready) = tokio::time::timeout(Duration::from_secs(1800), async {
        tokio::join!(
            watch_until_ready(events, args.users, started),
            until_ready(stage.server, started)
        )
    })
    .await
    .map_err(|_| anyhow::anyhow!("PortalUsers not Ready after 30 minutes"))?;
    let convergence = convergence?;
    let (first_ready, converged) = (convergence.at(0.0), convergence.at(1.0));
    let operator_cpu = cpu_seconds(&operator.0.id().to_string());
    let portal_cpu = thread_cpu_seconds(PORTAL_THREADS) - portal_cpu_before;
    let stand_in_cpu = cpu_seconds("self") - cpu_before - portal_cpu;
    let calls = stage.sim.calls(first_call);
    let user_calls = calls.iter().filter(|c| c.route.contains("/users")).count();
    // Strictly needed: one token and one users list per contract, one add per user.
    let needed = 2 * args.contracts + args.users;
    let bound = Duration::from_millis(args.latency_ms) * needed as u32 / u32::from(args.portal_concurrency);
    println!(
        "PortalUsers: {} over {} contracts, latency {} ms, {} portal calls at once, {} reconciles at once",
        args.users,
        args.contracts,
        args.latency_ms,
        args.portal_concurrency,
        args.reconciles()
    );
    println!(
        "  all Ready after {:.2} s; bound {:.2} s ({needed} calls x {} ms / {}); ratio {:.2}",
        converged.as_secs_f64(),
        bound.as_secs_f64(),
        args.latency_ms,
        args.portal_concurrency,
        converged.as_secs_f64() / bound.as_secs_f64()
    );
    // The stand-in's call takes longer than the latency it adds (its timer's granularity, its own
    // handling): a perfect operator would be bound by that time, not by the nominal latency.
    let measured_bound = call_time * needed as u32 / u32::from(args.portal_concurrency);
    println!(
        "  one portal call takes {:.1} ms at idle on this stand-in (median of {PROBES}); with that: bound {:.2} s, ratio {:.2}",
        call_time.as_secs_f64() * 1000.0,
        measured_bound.as_secs_f64(),
        converged.as_secs_f64() / measured_bound.as_secs_f64()
    );
    let working = converged.saturating_sub(operator_ready);
    println!(
        "  operator ready (caches synced) after {:.2} s: from then {:.2} s, ratio {:.2}; first PortalUser Ready after {:.2} s",
        operator_ready.as_secs_f64(),
        working.as_secs_f64(),
        working.as_secs_f64() / bound.as_secs_f64(),
        first_ready.as_secs_f64(),
    );
    let quartiles: Vec<String> = [0.25, 0.5, 0.75, 0.9]
        .iter()
        .map(|f| format!("{:.0}% {:.2} s", f * 100.0, convergence.at(*f).as_secs_f64()))
        .collect();
    println!("  Ready by: {}", quartiles.join(", "));
    println!(
        "  portal calls while converging: {} in all, {user_calls} on users routes",
        calls.len()
    );
    println!(
        "  CPU while converging: operator {operator_cpu:.2} s, API server + this watch {stand_in_cpu:.2} s, portal simulator {portal_cpu:.2} s, on {} cores",
        std::thread::available_parallelism().map_or(1, |n| n.get())
    );

    // Steady state: every object has synced once; count the calls over whole poll intervals.
    tokio::time::sleep(args.poll).await;
    let mark = stage.sim.calls(0).last().map_or(0, |c| c.seq);
    tokio::time::sleep(args.poll * args.steady_polls).await;
    let steady = stage.sim.calls(mark);
    let writes = steady
        .iter()
        .filter(|c| c.method != "GET" && !c.route.contains("oauth"))
        .count();
    let per_contract = steady.len() as f64 / f64::from(args.steady_polls) / args.contracts as f64;
    println!(
        "  steady state over {} polls of {:?}: {} calls, {per_contract:.2} per contract per poll, {writes} writes",
        args.steady_polls,
        args.poll,
        steady.len()
    );

    let mut by_route: std::collections::BTreeMap<String, usize> = std::collections::BTreeMap::new();
    for c in &steady {
        *by_route.entry(format!("{} {}", c.method, c.route)).or_default() += 1;
    }
    for (route, n) in by_route {
        println!("    {n:>6}  {route}");
    }

    let rss_before = rss_mib(operator.0.id());
    if args.objects > args.users + args.contracts {
        users(
            &stage.client,
            &names,
            args.users,
            args.objects - args.contracts,
            true,
        )
        .await?;
        // Let the watches deliver them.
        tokio::time::sleep(Duration::from_secs(5)).await;
    }
    println!(
        "  operator RSS: {rss_before:.1} MiB with {} objects, {:.1} MiB with {} objects",
        args.users + args.contracts,
        rss_mib(operator.0.id()),
        args.objects.max(args.users + args.contracts)
    );
    drop(operator);
    let _ = std::fs::remove_dir_all(&stage.dir);
    stage.cluster.shutdown().await;
    drop(stage.sim);
    // A runtime cannot be dropped from async code: let its threads end on their own.
    stage.portal_runtime.shutdown_background();
    Ok(())
}
