//! `ccs-dev bench billing`: `ccs-operator billing download` (streamed, bounded concurrency)
//! side by side with a plain sequential download of the same files (each file read whole into
//! memory, one after the other), both as child processes against the simulator with realistic
//! invoice PDFs and a per-call latency. Prints the time and the peak memory (VmHWM) of each, and
//! runs both again with PDFs ten times larger to show what memory depends on.

use super::operator::memory_kib;
use ccs_operator::billing::Month;
use ccs_operator::portal::{ClientConfig, CustomerSpace, PortalShared, ReqwestPortal};
use ccs_simulator::{FaultKind, FaultRule, SimConfig, Simulator};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

/// Flags of `bench billing`.
#[derive(clap::Args, Debug)]
pub struct BenchArgs {
    /// Contracts downloaded (one after the other).
    #[arg(long, default_value_t = 6)]
    pub contracts: usize,
    /// Closed months per contract (at most 12: the simulator keeps a year of bills).
    #[arg(long, default_value_t = 12, value_parser = clap::value_parser!(i32).range(1..=12))]
    pub months: i32,
    /// `--concurrency` of `billing download`.
    #[arg(long, default_value_t = 8)]
    pub concurrency: u16,
    /// Latency the simulator adds to each file download, in ms: a WAN round trip, the portal
    /// rendering the file and the transfer of an average 1.1 MB PDF at about 50 Mbit/s.
    #[arg(long, default_value_t = 200)]
    pub latency_ms: u64,
    /// Smallest invoice PDF, in bytes.
    #[arg(long, default_value_t = 200_000)]
    pub pdf_min_bytes: usize,
    /// Largest invoice PDF, in bytes.
    #[arg(long, default_value_t = 2_000_000)]
    pub pdf_max_bytes: usize,
}

/// Flags of the plain downloader (the baseline, a child process of the benchmark).
#[derive(clap::Args, Debug)]
pub struct PlainArgs {
    /// Portal base URL.
    #[arg(long)]
    endpoint: String,
    /// Contract id.
    #[arg(long)]
    contract: String,
    /// Credentials file (clientId, clientSecret, apiKey).
    #[arg(long)]
    credentials_file: PathBuf,
    /// First month.
    #[arg(long)]
    from: String,
    /// Last month.
    #[arg(long)]
    to: String,
    /// Output directory.
    #[arg(long)]
    out: PathBuf,
}

/// A plain sequential download: every file read whole into memory, then written, one at a time.
pub fn plain(args: PlainArgs) -> anyhow::Result<()> {
    let creds: std::collections::BTreeMap<String, String> =
        serde_saphyr::from_str(&std::fs::read_to_string(&args.credentials_file)?)?;
    let get = |k: &str| creds.get(k).cloned().unwrap_or_default();
    let (from, to) = (
        Month::parse(&args.from).ok_or_else(|| anyhow::anyhow!("--from"))?,
        Month::parse(&args.to).ok_or_else(|| anyhow::anyhow!("--to"))?,
    );
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?
        .block_on(async {
            let shared = PortalShared::new(
                ClientConfig {
                    allow_http: true,
                    max_response_bytes: 256 * 1024 * 1024,
                    ..ClientConfig::default()
                },
                &prometheus::Registry::new(),
            )?;
            let portal = ReqwestPortal::new(
                shared,
                args.endpoint.clone(),
                ccs_operator::portal::Credentials::new(get("clientId"), get("clientSecret"), get("apiKey")),
            );
            std::fs::create_dir_all(&args.out)?;
            for bill in portal.list_bills(&args.contract, 500).await? {
                let month = Month::parse(&bill.period).ok_or_else(|| anyhow::anyhow!("period"))?;
                if month < from || month > to {
                    continue;
                }
                let pdf = portal.bill_pdf(&args.contract, &bill.id).await?;
                std::fs::write(args.out.join(format!("invoice-{}.pdf", bill.id)), pdf)?;
            }
            for n in 0..=from.months_until(to) {
                let period = from.plus(n).to_string();
                let csv = portal.billing_report(&args.contract, &period).await?;
                std::fs::write(args.out.join(format!("report-{period}.csv")), csv)?;
            }
            Ok(())
        })
}

/// Time and peak memory of one way of downloading.
#[derive(Clone, Copy, Debug, Default)]
struct Measure {
    seconds: f64,
    peak_kib: u64,
    files: usize,
    bytes: u64,
}

/// Runs `command`, sampling its peak memory until it exits.
fn measured(mut command: Command) -> anyhow::Result<(Duration, u64)> {
    let start = Instant::now();
    let mut child = command
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()?;
    let mut peak = 0;
    loop {
        peak = peak.max(memory_kib(child.id()).1);
        if let Some(status) = child.try_wait()? {
            let elapsed = start.elapsed();
            if !status.success() {
                let mut err = String::new();
                if let Some(mut e) = child.stderr.take() {
                    use std::io::Read;
                    let _ = e.read_to_string(&mut err);
                }
                anyhow::bail!("{command:?} failed: {err}");
            }
            return Ok((elapsed, peak));
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

fn dir_totals(dir: &Path) -> (usize, u64) {
    let mut files = 0;
    let mut bytes = 0;
    for entry in walk(dir) {
        if entry.file_name().is_some_and(|n| n != "SHA256SUMS") {
            files += 1;
            bytes += entry.metadata().map(|m| m.len()).unwrap_or_default();
        }
    }
    (files, bytes)
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        if path.is_dir() {
            out.extend(walk(&path));
        } else {
            out.push(path);
        }
    }
    out
}

/// Downloads `contracts` one after the other with both ways; returns (streamed, plain).
async fn compare(
    args: &BenchArgs,
    pdf: (usize, usize),
    contracts: usize,
) -> anyhow::Result<(Measure, Measure)> {
    let sim = Simulator::start(SimConfig {
        contracts: contracts.max(5),
        pdf_min_bytes: pdf.0,
        pdf_max_bytes: pdf.1,
        ..SimConfig::default()
    })
    .await?;
    let route = |rest: &str| {
        format!(
            "{}/contracts/{{contractId}}{rest}",
            ccs_operator::portal::model::API_PREFIX
        )
    };
    sim.set_faults(
        [route("/bills/{billId}/pdf"), route("/billing-report")]
            .into_iter()
            .map(|route| FaultRule {
                method: None,
                route,
                fault: FaultKind::Latency {
                    ms: args.latency_ms,
                    jitter_ms: 0,
                },
                rate: 1.0,
                count: None,
            })
            .collect(),
    );
    // The months before the simulator's current one, which all have their invoice.
    let to = Month::containing(sim.now()).plus(-1);
    let from = to.plus(1 - args.months);
    let scratch = tempfile_dir()?;
    let operator = super::operator_binary()?;
    let mut streamed = Measure::default();
    let mut plain = Measure::default();
    for (n, contract) in sim.contract_ids().into_iter().take(contracts).enumerate() {
        let c = sim
            .seeded_credentials()
            .into_iter()
            .find(|c| c.label == "operator" && c.contracts.contains(&contract))
            .ok_or_else(|| anyhow::anyhow!("no credential for {contract}"))?;
        let creds = scratch.join(format!("creds-{n}.yaml"));
        std::fs::write(
            &creds,
            format!(
                "clientId: {}\nclientSecret: {}\napiKey: {}\n",
                c.client_id, c.client_secret, c.api_key
            ),
        )?;
        let out_streamed = scratch.join(format!("streamed-{n}"));
        let mut cmd = Command::new(&operator);
        cmd.args(["billing", "download", "--contract", &contract, "--allow-insecure"])
            .args(["--from", &from.to_string(), "--to", &to.to_string()])
            .args([
                "--endpoint",
                &sim.base_url(),
                "--concurrency",
                &args.concurrency.to_string(),
            ])
            .args(["--max-file-bytes", &(256u64 * 1024 * 1024).to_string()])
            .arg("--credentials-file")
            .arg(&creds)
            .arg("--out")
            .arg(&out_streamed);
        let (t, peak) = measured(cmd)?;
        let (files, bytes) = dir_totals(&out_streamed);
        streamed.seconds += t.as_secs_f64();
        streamed.peak_kib = streamed.peak_kib.max(peak);
        streamed.files += files;
        streamed.bytes += bytes;

        let out_plain = scratch.join(format!("plain-{n}"));
        let mut cmd = Command::new(std::env::current_exe()?);
        cmd.args(["bench", "billing-plain", "--contract", &contract])
            .args(["--from", &from.to_string(), "--to", &to.to_string()])
            .args(["--endpoint", &sim.base_url()])
            .arg("--credentials-file")
            .arg(&creds)
            .arg("--out")
            .arg(&out_plain);
        let (t, peak) = measured(cmd)?;
        let (files, bytes) = dir_totals(&out_plain);
        plain.seconds += t.as_secs_f64();
        plain.peak_kib = plain.peak_kib.max(peak);
        plain.files += files;
        plain.bytes += bytes;
        std::fs::remove_dir_all(&out_streamed)?;
        std::fs::remove_dir_all(&out_plain)?;
    }
    std::fs::remove_dir_all(&scratch)?;
    anyhow::ensure!(
        streamed.files == plain.files && streamed.bytes == plain.bytes,
        "both ways must fetch the same files: {streamed:?} vs {plain:?}"
    );
    Ok((streamed, plain))
}

fn tempfile_dir() -> anyhow::Result<PathBuf> {
    let dir = std::env::temp_dir().join(format!("ccs-bench-billing-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    Ok(dir)
}

/// Runs the benchmark and prints the table.
pub fn run(args: BenchArgs) -> anyhow::Result<()> {
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    let (streamed, plain) = runtime.block_on(compare(
        &args,
        (args.pdf_min_bytes, args.pdf_max_bytes),
        args.contracts,
    ))?;
    let large = (args.pdf_min_bytes * 10, args.pdf_max_bytes * 10);
    let (streamed_large, plain_large) = runtime.block_on(compare(&args, large, 1))?;
    let mib = |kib: u64| kib as f64 / 1024.0;
    println!(
        "billing download: {} contracts x {} months, {} files, {:.1} MiB (PDFs {}-{} KB), {} ms latency per file",
        args.contracts,
        args.months,
        streamed.files,
        streamed.bytes as f64 / 1048576.0,
        args.pdf_min_bytes / 1000,
        args.pdf_max_bytes / 1000,
        args.latency_ms
    );
    println!(
        "| | billing download (--concurrency {}) | plain sequential | ratio |",
        args.concurrency
    );
    println!("|---|---|---|---|");
    println!(
        "| time | {:.2} s | {:.2} s | {:.1}x faster |",
        streamed.seconds,
        plain.seconds,
        plain.seconds / streamed.seconds.max(1e-9)
    );
    println!(
        "| peak memory (VmHWM), PDFs {}-{} KB | {:.1} MiB | {:.1} MiB | |",
        args.pdf_min_bytes / 1000,
        args.pdf_max_bytes / 1000,
        mib(streamed.peak_kib),
        mib(plain.peak_kib)
    );
    println!(
        "| peak memory (VmHWM), PDFs {}-{} KB (1 contract) | {:.1} MiB | {:.1} MiB | |",
        large.0 / 1000,
        large.1 / 1000,
        mib(streamed_large.peak_kib),
        mib(plain_large.peak_kib)
    );
    Ok(())
}
