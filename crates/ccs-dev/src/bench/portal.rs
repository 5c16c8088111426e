//! `ccs-dev bench simulator|client`: loopback throughput of the simulator, and the portal
//! client's overhead per call next to a raw reqwest call on the same route.

use ccs_operator::portal::{
    ClientConfig, CustomerSpace, PortalShared, ReqwestPortal, TokenResponse, model::API_PREFIX,
};
use ccs_simulator::{SimConfig, Simulator};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Flags of the `bench` subcommand.
#[derive(clap::Args, Debug)]
pub struct BenchArgs {
    /// What to measure.
    #[arg(value_enum)]
    pub target: BenchTarget,
    /// Number of calls.
    #[arg(long, default_value_t = 20_000)]
    pub requests: usize,
    /// Concurrent connections (simulator benchmark).
    #[arg(long, default_value_t = 32)]
    pub concurrency: usize,
}

/// Benchmark targets.
#[derive(clap::ValueEnum, Clone, Copy, Debug)]
pub enum BenchTarget {
    /// Requests per second the simulator answers (authenticated GET of a contract).
    Simulator,
    /// Client overhead per call versus raw reqwest.
    Client,
}

/// A raw authenticated GET of one contract, the unit both benchmarks repeat.
struct Raw {
    http: reqwest::Client,
    url: String,
    token: String,
    api_key: String,
}

impl Raw {
    async fn new(sim: &Simulator) -> anyhow::Result<(Self, ccs_operator::portal::Credentials, String)> {
        let contract = sim
            .contract_ids()
            .into_iter()
            .next()
            .ok_or_else(|| anyhow::anyhow!("no contract"))?;
        let cred = sim
            .credentials(&contract, "manager")
            .ok_or_else(|| anyhow::anyhow!("no credential"))?;
        let http = reqwest::Client::new();
        let token: TokenResponse = http
            .post(format!("{}/oauth/v3/token", sim.base_url()))
            .basic_auth(&cred.client_id, Some(cred.client_secret.expose()))
            .header("X-Api-Key", cred.api_key.expose())
            .header("Content-Type", "application/x-www-form-urlencoded")
            .body("grant_type=client_credentials")
            .send()
            .await?
            .error_for_status()?
            .json()
            .await?;
        let url = format!("{}{API_PREFIX}/contracts/{contract}", sim.base_url());
        let raw = Self {
            http,
            url,
            token: token.access_token,
            api_key: cred.api_key.expose().to_string(),
        };
        Ok((raw, cred, contract))
    }

    async fn call(&self) -> anyhow::Result<()> {
        let resp = self
            .http
            .get(&self.url)
            .bearer_auth(&self.token)
            .header("X-Api-Key", &self.api_key)
            .send()
            .await?;
        anyhow::ensure!(resp.status().is_success(), "status {}", resp.status());
        let _: serde_json::Value = resp.json().await?;
        Ok(())
    }
}

/// Runs a benchmark and prints its figures.
pub fn run(args: BenchArgs) -> anyhow::Result<()> {
    tokio::runtime::Runtime::new()?.block_on(async move {
        let sim = Simulator::start(SimConfig::default()).await?;
        match args.target {
            BenchTarget::Simulator => simulator(&sim, args.requests, args.concurrency.max(1)).await,
            BenchTarget::Client => client(&sim, args.requests.max(10)).await,
        }
    })
}

async fn simulator(sim: &Simulator, requests: usize, concurrency: usize) -> anyhow::Result<()> {
    let (raw, _, _) = Raw::new(sim).await?;
    let raw = Arc::new(raw);
    let start = Instant::now();
    let tasks: Vec<_> = (0..concurrency)
        .map(|i| {
            let raw = raw.clone();
            let n = requests / concurrency + usize::from(i < requests % concurrency);
            tokio::spawn(async move {
                for _ in 0..n {
                    raw.call().await?;
                }
                anyhow::Ok(())
            })
        })
        .collect();
    for task in tasks {
        task.await??;
    }
    let elapsed = start.elapsed();
    println!(
        "simulator: {requests} authenticated GET /contracts/{{id}} over {concurrency} connections in {:.2}s = {:.0} requests/s (client and server share this process)",
        elapsed.as_secs_f64(),
        requests as f64 / elapsed.as_secs_f64()
    );
    Ok(())
}

async fn client(sim: &Simulator, calls: usize) -> anyhow::Result<()> {
    let (raw, cred, contract) = Raw::new(sim).await?;
    let config = ClientConfig {
        rate_limit: None,
        allow_http: true,
        ..ClientConfig::default()
    };
    let shared = PortalShared::new(config, &prometheus::Registry::new())?;
    let portal = ReqwestPortal::new(shared, sim.base_url(), cred);
    portal.get_contract(&contract).await?;
    // Alternate batches so both see the same machine load.
    let (mut raw_total, mut client_total) = (Duration::ZERO, Duration::ZERO);
    let batch = 100;
    for _ in 0..calls.div_ceil(batch) {
        let t = Instant::now();
        for _ in 0..batch {
            raw.call().await?;
        }
        raw_total += t.elapsed();
        let t = Instant::now();
        for _ in 0..batch {
            portal.get_contract(&contract).await?;
        }
        client_total += t.elapsed();
    }
    let n = (calls.div_ceil(batch) * batch) as f64;
    let raw_us = raw_total.as_secs_f64() * 1e6 / n;
    let client_us = client_total.as_secs_f64() * 1e6 / n;
    println!(
        "client: {n} sequential GET /contracts/{{id}} each: raw reqwest {raw_us:.1} us/call, ReqwestPortal {client_us:.1} us/call, overhead {:.1} us/call ({:+.1}%)",
        client_us - raw_us,
        (client_us / raw_us - 1.0) * 100.0
    );
    Ok(())
}
