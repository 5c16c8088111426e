//! `ccs-dev bench web`: the status page with 50 contracts, 200 BudgetAlerts and 2,000
//! PortalUsers in the operator's caches (the operator binary as a child process). Measures the
//! render time of the overview and of contract pages (server side, from `Server-Timing`, and
//! the round trip), the page weight, and the API-server and portal calls made while the pages
//! are viewed (the dev-cluster's request counter and the simulator's call log).

use super::operator::objects::Counts;
use super::operator::{
    BenchArgs, install_crds, objects, operator_config, ready, spawn_operator, tempfile_dir, wait,
};
use ccs_devcluster::{DevCluster, DevClusterConfig};
use ccs_simulator::{SimConfig, Simulator};
use futures::{StreamExt, TryStreamExt};
use kube::api::{Api, Patch, PatchParams, PostParams};
use serde_json::json;
use std::time::{Duration, Instant};

/// Flags of `bench web`.
#[derive(clap::Args, Debug)]
pub struct WebBenchArgs {
    /// CloudContracts.
    #[arg(long, default_value_t = 50)]
    pub contracts: usize,
    /// BudgetAlerts per contract.
    #[arg(long, default_value_t = 4)]
    pub budgets_per_contract: usize,
    /// PortalUsers, spread over the contracts (paused, with a status: cached, never sent).
    #[arg(long, default_value_t = 2_000)]
    pub users: usize,
    /// Views of each page measured.
    #[arg(long, default_value_t = 300)]
    pub views: usize,
}

/// Percentiles of a sample, in milliseconds.
struct Timing {
    median: f64,
    p99: f64,
}

fn timing(mut ms: Vec<f64>) -> Timing {
    ms.sort_by(f64::total_cmp);
    let at = |q: f64| ms[((ms.len() as f64 - 1.0) * q).round() as usize];
    Timing {
        median: at(0.5),
        p99: at(0.99),
    }
}

/// One page's figures.
struct PageFigures {
    server: Timing,
    round_trip: Timing,
    /// Uncompressed size.
    bytes: usize,
    /// Size on the wire to a browser (gzip).
    gzip_bytes: usize,
}

async fn measure(http: &reqwest::Client, url: &str, views: usize) -> anyhow::Result<PageFigures> {
    let (mut server, mut round_trip, mut bytes) = (Vec::new(), Vec::new(), 0);
    for _ in 0..views {
        let started = Instant::now();
        let response = http.get(url).send().await?.error_for_status()?;
        let render = response
            .headers()
            .get("server-timing")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("render;dur="))
            .and_then(|v| v.parse::<f64>().ok())
            .ok_or_else(|| anyhow::anyhow!("{url}: no Server-Timing header"))?;
        bytes = response.bytes().await?.len();
        round_trip.push(started.elapsed().as_secs_f64() * 1000.0);
        server.push(render);
    }
    // reqwest here does not decode gzip: the body read is what crosses the network.
    let gzip_bytes = http
        .get(url)
        .header("accept-encoding", "gzip")
        .send()
        .await?
        .bytes()
        .await?
        .len();
    Ok(PageFigures {
        server: timing(server),
        round_trip: timing(round_trip),
        bytes,
        gzip_bytes,
    })
}

/// PortalUsers `0..count` over `contracts`, paused (the operator caches them and sends nothing),
/// each with a status as the operator would write it.
async fn users(client: &kube::Client, contracts: usize, count: usize) -> anyhow::Result<()> {
    let api: Api<ccs_api::PortalUser> = Api::namespaced(client.clone(), "default");
    futures::stream::iter(0..count)
        .map(|i| {
            let api = api.clone();
            async move {
                let name = format!("u{i:05}");
                let contract = format!("contract-{}", i % contracts);
                let profiles = json!({"dashboard": "Visitor", "requests": "Manager", "invoices": "Visitor"});
                let obj = json!({"metadata": {"name": name,
                        "annotations": {ccs_api::common::ANNOTATION_PAUSED: "true"}},
                    "spec": {"email": format!("bench.user.{i:05}@bench.example"), "firstName": "Bench",
                        "lastName": format!("User{i}"), "invitation": {"send": false},
                        "access": [{"contract": contract, "profiles": profiles}]}});
                api.create(&PostParams::default(), &serde_json::from_value(obj)?)
                    .await?;
                let status = json!({"status": {"state": "Active", "accountId": format!("ACC-{i}"),
                    "grants": [{"contract": contract, "profiles": profiles}]}});
                api.patch_status(&name, &PatchParams::default(), &Patch::Merge(&status))
                    .await?;
                anyhow::Ok(())
            }
        })
        .buffer_unordered(16)
        .try_collect::<Vec<_>>()
        .await?;
    Ok(())
}

/// Runs the benchmark and prints its table.
pub fn main(args: WebBenchArgs) -> anyhow::Result<()> {
    tokio::runtime::Runtime::new()?.block_on(run(args))
}

async fn run(args: WebBenchArgs) -> anyhow::Result<()> {
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
    // A long poll interval: after the first round, nothing is due while the pages are viewed.
    let stage = BenchArgs {
        contracts: args.contracts,
        users_per_contract: 0,
        budgets_per_contract: args.budgets_per_contract,
        orders_per_contract: 0,
        poll_interval: Duration::from_secs(600),
        intervals: 0,
        create_concurrency: 64,
        concurrency: 16,
        portal_rate: 1000,
        portal_concurrency: 32,
        deadline: Duration::from_secs(600),
        status_heartbeat: None,
    };
    std::fs::write(dir.join("config.yaml"), operator_config(&stage, &sim.base_url()))?;
    let counts = objects::create(&client, &sim, &stage).await?;
    users(&client, args.contracts, args.users).await?;

    let web = ["--web-listen", "127.0.0.1:0", "--web-auth", "none"];
    let started = Instant::now();
    let (operator, addresses) = spawn_operator(&kubeconfig, &dir, &web)?;
    let base = format!("http://{}", addresses.get(1).cloned().unwrap_or_default());
    // The paused users are not waited for: they keep the status they were created with.
    let expected = Counts { users: 0, ..counts };
    ready::wait_all(&client, expected, started, stage.deadline).await?;
    let http = reqwest::Client::new();
    // Every contract's catalog and requests are cached once the last contract page shows them.
    let last = format!("{base}/contracts/default/contract-{}", args.contracts - 1);
    wait(Duration::from_secs(120), "the caches filled", || async {
        let page = http.get(&last).send().await.ok()?.text().await.ok()?;
        (page.contains("data-item=") && page.contains("Id</th>")).then_some(())
    })
    .await?;

    let api_before = cluster.requests().total();
    let portal_before = sim.calls(0).last().map_or(0, |c| c.seq);
    let overview = measure(&http, &format!("{base}/"), args.views).await?;
    let contract = measure(&http, &format!("{base}/contracts/default/contract-0"), args.views).await?;
    let json = measure(&http, &format!("{base}/api/overview"), args.views).await?;
    let api_calls = cluster.requests().total() - api_before;
    let portal_calls = sim.calls(portal_before + 1).len();
    drop(operator);

    let views = (args.views * 3) as f64;
    println!(
        "{} contracts, {} budget alerts, {} portal users; {} views of each page",
        args.contracts,
        args.contracts * args.budgets_per_contract,
        args.users,
        args.views
    );
    println!(
        "{:<16} | {:>22} | {:>23} | {:>20}",
        "page", "render median / p99", "round trip median / p99", "weight gzip / raw"
    );
    println!("{:-<16}-+-{:->22}-+-{:->23}-+-{:->20}", "", "", "", "");
    for (name, f) in [
        ("overview (HTML)", &overview),
        ("contract (HTML)", &contract),
        ("overview (JSON)", &json),
    ] {
        println!(
            "{name:<16} | {:>9.2} / {:>6.2} ms | {:>10.2} / {:>6.2} ms | {:>6.1} / {:>6.1} KB",
            f.server.median,
            f.server.p99,
            f.round_trip.median,
            f.round_trip.p99,
            f.gzip_bytes as f64 / 1000.0,
            f.bytes as f64 / 1000.0
        );
    }
    println!(
        "goals: p99 render < 20 ms, page weight < 100 KB on the wire (the stylesheet, {:.1} KB, is cached)",
        ccs_operator::web::pages::STYLE.len() as f64 / 1000.0
    );
    println!(
        "calls while viewing: API server {api_calls} ({:.3} per view), portal {portal_calls} ({:.3} per view); goal 0",
        api_calls as f64 / views,
        portal_calls as f64 / views
    );
    cluster.shutdown().await;
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}
