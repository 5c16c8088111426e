//! `ccs-operator billing download`: the invoice PDFs and CSV billing reports of a contract over a
//! range of months, into `OUT/<YYYY-MM>/`, several at a time (bounded), with a progress bar on a
//! terminal and plain lines otherwise. Files already present with the checksum recorded in
//! `OUT/SHA256SUMS` are skipped; each file is written to a temporary name and renamed, so an
//! interrupted run leaves no partial file. Exits non-zero naming every file that failed.

use super::Month;
use crate::portal::{
    BillingFile, ClientConfig, Credentials, CustomerSpace, Downloaded, PortalShared, RateLimit, ReqwestPortal,
};
use anyhow::Context as _;
use futures::StreamExt;
use std::collections::BTreeMap;
use std::io::IsTerminal;
use std::path::{Path, PathBuf};

/// Flags of `billing download`.
#[derive(clap::Args, Debug)]
pub struct DownloadArgs {
    /// Contract id, such as OCB0001234.
    #[arg(long)]
    pub contract: String,
    /// First month, YYYY-MM.
    #[arg(long, value_parser = parse_month)]
    pub from: Month,
    /// Last month, YYYY-MM (included).
    #[arg(long, value_parser = parse_month)]
    pub to: Month,
    /// Download the invoice PDFs (default: invoices and reports).
    #[arg(long)]
    pub invoices: bool,
    /// Download the CSV billing reports (default: invoices and reports).
    #[arg(long)]
    pub reports: bool,
    /// Output directory (created if missing).
    #[arg(long)]
    pub out: PathBuf,
    /// Customer Space API base URL.
    #[arg(long, env = "CCS_PORTAL_ENDPOINT")]
    pub endpoint: String,
    /// Allow a plain http endpoint (a simulator, tests).
    #[arg(long)]
    pub allow_insecure: bool,
    /// YAML or JSON file with clientId, clientSecret and apiKey (such as a mounted Secret's
    /// data); default: the environment variables CCS_CLIENT_ID, CCS_CLIENT_SECRET, CCS_API_KEY.
    #[arg(long)]
    pub credentials_file: Option<PathBuf>,
    /// Files downloaded at the same time.
    #[arg(long, default_value_t = 4, value_parser = clap::value_parser!(u16).range(1..=64))]
    pub concurrency: u16,
    /// Portal calls per second at most (a token bucket with a burst of twice this), like the
    /// operator's `portal.rateLimit`.
    #[arg(long, default_value_t = 20.0)]
    pub requests_per_second: f64,
    /// Largest file accepted, in bytes.
    #[arg(long, default_value_t = 64 * 1024 * 1024)]
    pub max_file_bytes: u64,
}

fn parse_month(text: &str) -> Result<Month, String> {
    Month::parse(text).ok_or_else(|| format!("{text:?} is not a month; use YYYY-MM"))
}

/// One file to fetch.
struct Wanted {
    /// `YYYY-MM/name`, relative to the output directory.
    path: String,
    file: BillingFile,
}

/// The credentials: the file when given, else the environment.
fn credentials(args: &DownloadArgs) -> anyhow::Result<Credentials> {
    let mut values: BTreeMap<String, String> = match &args.credentials_file {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("reading the credentials file {}", path.display()))?;
            serde_saphyr::from_str(&text).map_err(|_| {
                anyhow::anyhow!(
                    "{}: expected a YAML or JSON map with clientId, clientSecret and apiKey",
                    path.display()
                )
            })?
        }
        None => [
            ("clientId", "CCS_CLIENT_ID"),
            ("clientSecret", "CCS_CLIENT_SECRET"),
            ("apiKey", "CCS_API_KEY"),
        ]
        .into_iter()
        .filter_map(|(k, var)| Some((k.to_string(), std::env::var(var).ok()?)))
        .collect(),
    };
    let mut take = |key: &str, var: &str| {
        values
            .remove(key)
            .map(|v| v.trim().to_string())
            .filter(|v| !v.is_empty())
            .ok_or_else(|| anyhow::anyhow!("no {key}: put it in --credentials-file or set {var}"))
    };
    Ok(Credentials::new(
        take("clientId", "CCS_CLIENT_ID")?,
        take("clientSecret", "CCS_CLIENT_SECRET")?,
        take("apiKey", "CCS_API_KEY")?,
    ))
}

/// Reads `SHA256SUMS` (`<hex>  <path>` lines) into path -> checksum.
fn read_sums(path: &Path) -> BTreeMap<String, String> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .filter_map(|l| {
            let (sum, name) = l.split_once("  ")?;
            Some((name.trim().to_string(), sum.trim().to_string()))
        })
        .collect()
}

/// Runs the command.
pub fn main(args: DownloadArgs) -> anyhow::Result<()> {
    anyhow::ensure!(
        args.from <= args.to,
        "--from {} is after --to {}",
        args.from,
        args.to
    );
    anyhow::ensure!(
        args.from.months_until(args.to) < 120,
        "--from {} to --to {} spans more than 120 months",
        args.from,
        args.to
    );
    crate::install_crypto_provider();
    let credentials = credentials(&args)?;
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?
        .block_on(run(args, credentials))
}

async fn run(args: DownloadArgs, credentials: Credentials) -> anyhow::Result<()> {
    let both = !args.invoices && !args.reports;
    let shared = PortalShared::new(
        ClientConfig {
            allow_http: args.allow_insecure,
            max_concurrent_calls: Some(usize::from(args.concurrency)),
            rate_limit: Some(RateLimit {
                per_second: args.requests_per_second,
                burst: (args.requests_per_second * 2.0).clamp(1.0, 10_000.0) as u32,
            }),
            ..ClientConfig::default()
        },
        &prometheus::Registry::new(),
    )?;
    let portal = ReqwestPortal::new(shared, args.endpoint.clone(), credentials);
    let contract = args.contract.as_str();
    let name =
        |kind, source: &str| crate::controllers::billing_export::plan::file_name(kind, contract, source);

    // What to fetch: the bills of the months, and one report per month.
    let mut wanted = Vec::new();
    if args.invoices || both {
        let bills = portal
            .list_bills(contract, 500)
            .await
            .map_err(|e| anyhow::anyhow!("listing the bills of {contract}: {e}"))?;
        for bill in bills {
            let Some(month) = Month::parse(&bill.period) else {
                continue;
            };
            if month >= args.from && month <= args.to {
                let file_name = name(crate::api::billing_export::ExportContent::Invoices, &bill.id);
                wanted.push(Wanted {
                    path: format!("{month}/{file_name}"),
                    file: BillingFile::Invoice { bill_id: bill.id },
                });
            }
        }
    }
    if args.reports || both {
        for n in 0..=args.from.months_until(args.to) {
            let month = args.from.plus(n).to_string();
            let file_name = name(crate::api::billing_export::ExportContent::BillingReport, &month);
            wanted.push(Wanted {
                path: format!("{month}/{file_name}"),
                file: BillingFile::Report { period: month },
            });
        }
    }
    wanted.sort_by(|a, b| a.path.cmp(&b.path));

    std::fs::create_dir_all(&args.out).with_context(|| format!("creating {}", args.out.display()))?;
    let sums_path = args.out.join("SHA256SUMS");
    let known = read_sums(&sums_path);
    let progress = Progress::new(wanted.len() as u64);
    let results: Vec<(String, anyhow::Result<(Downloaded, bool)>)> = futures::stream::iter(wanted)
        .map(|w| {
            let (portal, out, known, progress) = (&portal, &args.out, &known, &progress);
            async move {
                let result = fetch(portal, contract, &w, out, known.get(&w.path), args.max_file_bytes).await;
                progress.done(&w.path, &result);
                (w.path, result)
            }
        })
        .buffer_unordered(usize::from(args.concurrency))
        .collect()
        .await;
    progress.finish();

    // The manifest: every file present and verified, in a stable order.
    let mut sums = known;
    let mut failed = Vec::new();
    let (mut fetched, mut skipped) = (0, 0);
    for (path, result) in results {
        match result {
            Ok((d, was_fetched)) => {
                if was_fetched {
                    fetched += 1
                } else {
                    skipped += 1
                }
                sums.insert(path, d.sha256);
            }
            Err(e) => {
                sums.remove(&path);
                failed.push(format!("{path}: {e:#}"));
            }
        }
    }
    let manifest: String = sums.iter().map(|(p, s)| format!("{s}  {p}\n")).collect();
    let tmp = args.out.join(".SHA256SUMS.partial");
    std::fs::write(&tmp, manifest)?;
    std::fs::rename(&tmp, &sums_path)?;
    println!(
        "{fetched} downloaded, {skipped} already present, {} failed; checksums in {}",
        failed.len(),
        sums_path.display()
    );
    if !failed.is_empty() {
        anyhow::bail!("{} file(s) failed:\n  {}", failed.len(), failed.join("\n  "));
    }
    Ok(())
}

/// Fetches one file unless it is present with its recorded checksum; returns its checksum and
/// whether it was downloaded.
async fn fetch(
    portal: &ReqwestPortal,
    contract: &str,
    wanted: &Wanted,
    out: &Path,
    recorded: Option<&String>,
    cap: u64,
) -> anyhow::Result<(Downloaded, bool)> {
    let target = out.join(&wanted.path);
    if let Some(recorded) = recorded
        && let Ok((bytes, sha256)) = super::store::file_sha256(&target).await
        && &sha256 == recorded
    {
        return Ok((Downloaded { bytes, sha256 }, false));
    }
    let dir = target.parent().unwrap_or(out);
    tokio::fs::create_dir_all(dir).await?;
    let partial = tempfile::Builder::new().prefix(".partial-").tempfile_in(dir)?;
    let got = portal
        .download(contract, &wanted.file, partial.path(), cap)
        .await?;
    partial.persist(&target).map_err(|e| e.error)?;
    Ok((got, true))
}

/// A progress bar on a terminal, plain lines otherwise.
struct Progress {
    bar: Option<indicatif::ProgressBar>,
}

impl Progress {
    fn new(total: u64) -> Self {
        let bar = std::io::stderr().is_terminal().then(|| {
            let bar = indicatif::ProgressBar::new(total);
            if let Ok(style) = indicatif::ProgressStyle::with_template("{bar:40} {pos}/{len} files {msg}") {
                bar.set_style(style);
            }
            bar
        });
        Self { bar }
    }

    fn done(&self, path: &str, result: &anyhow::Result<(Downloaded, bool)>) {
        let line = match result {
            Ok((d, true)) => format!("downloaded {path} ({} bytes)", d.bytes),
            Ok((_, false)) => format!("present    {path} (checksum verified)"),
            Err(e) => format!("FAILED     {path}: {e:#}"),
        };
        match &self.bar {
            Some(bar) => {
                if result.is_err() {
                    bar.println(line);
                }
                bar.set_message(path.to_string());
                bar.inc(1);
            }
            None => println!("{line}"),
        }
    }

    fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}
