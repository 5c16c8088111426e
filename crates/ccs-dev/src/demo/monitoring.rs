//! The demo's monitoring path: the operator's metrics and health endpoints, and with `--prometheus`
//! a real Prometheus scraping the operator and evaluating the chart's alert and recording rules.

use anyhow::Context;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

/// The chart's alert and recording rules (one file), compiled in so that the demo runs from any
/// directory; written out unchanged unless `--alert-for-max` shortens the `for:` clauses.
pub const CHART_RULES: &str = include_str!("../../../../charts/ccs-operator/files/alerts.yaml");

/// How often Prometheus scrapes the operator and evaluates the rules: the fast clock moves a
/// month in about two minutes, so a few seconds already span hours of portal time.
const INTERVAL: &str = "2s";

/// Flags of the monitoring path.
#[derive(clap::Args, Debug, Clone, Default)]
pub struct MonitoringArgs {
    /// Start Prometheus (the `prometheus` binary on PATH) on loopback, scraping the operator and
    /// evaluating the chart's alert rules; its config and storage go to `OUT/prometheus/`.
    #[arg(long)]
    pub prometheus: bool,
    /// The Prometheus binary to run (implies --prometheus).
    #[arg(long, value_name = "PATH")]
    pub prometheus_bin: Option<PathBuf>,
    /// Shorten every alert's `for:` to at most this long in the demo's copy of the rules (e.g. 10s),
    /// so that alerts waiting 15 minutes fire at the demo's pace. Default: the chart's rules as they are.
    #[arg(long, value_name = "DURATION", value_parser = humantime::parse_duration)]
    pub alert_for_max: Option<Duration>,
}

/// Where the Prometheus binary is, if the demo should run one.
pub enum Binary {
    /// Not asked for.
    NotAsked,
    /// Asked for, but none on PATH: the demo goes on without it.
    Missing,
    /// This one.
    Found(PathBuf),
}

impl MonitoringArgs {
    /// Finds the binary: an explicit `--prometheus-bin` that is not a file is an error (before
    /// anything starts); a missing `prometheus` on PATH is not.
    pub fn binary(&self) -> anyhow::Result<Binary> {
        anyhow::ensure!(
            self.alert_for_max.is_none() || self.prometheus || self.prometheus_bin.is_some(),
            "--alert-for-max applies to the demo's Prometheus: add --prometheus"
        );
        if let Some(path) = &self.prometheus_bin {
            anyhow::ensure!(
                path.is_file(),
                "--prometheus-bin {}: no such file (Debian: apt-get install prometheus)",
                path.display()
            );
            return Ok(Binary::Found(path.clone()));
        }
        if !self.prometheus {
            return Ok(Binary::NotAsked);
        }
        let on_path = std::env::var_os("PATH")
            .map(|paths| {
                std::env::split_paths(&paths)
                    .map(|dir| dir.join("prometheus"))
                    .find(|p| p.is_file())
            })
            .unwrap_or_default();
        Ok(on_path.map_or(Binary::Missing, Binary::Found))
    }
}

/// Reserves a free loopback port for the operator's metrics server, so that the guide and the
/// Prometheus config can name it before the operator starts.
pub fn free_loopback_addr() -> anyhow::Result<SocketAddr> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").context("finding a free port")?;
    Ok(listener.local_addr()?)
}

/// The chart's rules with every `for:` longer than `max` set to `max`; the rest byte for byte.
pub fn rules_with_for_max(rules: &str, max: Option<Duration>) -> String {
    let Some(max) = max else {
        return rules.to_string();
    };
    let mut out = String::with_capacity(rules.len());
    for line in rules.split_inclusive('\n') {
        let body = line.trim_end_matches('\n');
        let indent = &body[..body.len() - body.trim_start().len()];
        let longer = body
            .trim_start()
            .strip_prefix("for:")
            .and_then(|v| humantime::parse_duration(v.trim()).ok())
            .is_some_and(|d| d > max);
        if longer {
            out.push_str(&format!("{indent}for: {}ms", max.as_millis()));
            out.push_str(&line[body.len()..]);
        } else {
            out.push_str(line);
        }
    }
    out
}

/// The Prometheus configuration: the operator as job `ccs-operator` with `honor_labels` (as the
/// chart's ServiceMonitor does, which the rules assume), the rules written next to it.
pub fn prometheus_config(operator: SocketAddr, rules_file: &str) -> String {
    format!(
        "# Written by `ccs-dev demo --prometheus`: the operator as the chart's ServiceMonitor\n\
         # scrapes it, and the chart's rules (charts/ccs-operator/files/alerts.yaml).\n\
         global:\n  scrape_interval: {INTERVAL}\n  evaluation_interval: {INTERVAL}\n\
         rule_files:\n  - {rules_file}\n\
         scrape_configs:\n  - job_name: ccs-operator\n    honor_labels: true\n\
         \x20   static_configs:\n      - targets: [\"{operator}\"]\n"
    )
}

/// A Prometheus server started by the demo; killed when dropped (error paths included).
pub struct Prometheus {
    child: tokio::process::Child,
    url: String,
    http: reqwest::Client,
}

impl Prometheus {
    /// Writes the config and rules into `dir`, starts `binary` on a free loopback port with its
    /// storage in `dir/data` (emptied first: alerts start from this run) and waits until it is ready.
    pub async fn start(
        binary: &Path,
        dir: &Path,
        operator: SocketAddr,
        for_max: Option<Duration>,
    ) -> anyhow::Result<Self> {
        let data = dir.join("data");
        if data.exists() {
            std::fs::remove_dir_all(&data).with_context(|| format!("emptying {}", data.display()))?;
        }
        std::fs::create_dir_all(&data).with_context(|| format!("creating {}", data.display()))?;
        std::fs::write(dir.join("alerts.yaml"), rules_with_for_max(CHART_RULES, for_max))?;
        let config = dir.join("prometheus.yml");
        std::fs::write(&config, prometheus_config(operator, "alerts.yaml"))?;
        let log_path = dir.join("prometheus.log");
        let log = std::fs::File::create(&log_path)?;
        let listen = free_loopback_addr()?;
        let child = tokio::process::Command::new(binary)
            .arg(format!("--config.file={}", config.display()))
            .arg(format!("--storage.tsdb.path={}", data.display()))
            .arg(format!("--web.listen-address={listen}"))
            // POST /-/quit: a clean stop that closes the TSDB.
            .arg("--web.enable-lifecycle")
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log)
            .kill_on_drop(true)
            .spawn()
            .with_context(|| format!("starting {}", binary.display()))?;
        let mut prometheus = Self {
            child,
            url: format!("http://{listen}"),
            http: reqwest::Client::builder()
                .no_proxy()
                .timeout(Duration::from_secs(2))
                .build()?,
        };
        prometheus
            .wait_ready(Duration::from_secs(30))
            .await
            .with_context(|| format!("Prometheus did not start; see {}", log_path.display()))?;
        Ok(prometheus)
    }

    async fn wait_ready(&mut self, within: Duration) -> anyhow::Result<()> {
        let deadline = Instant::now() + within;
        loop {
            if let Some(status) = self.child.try_wait()? {
                anyhow::bail!("it exited with {status}");
            }
            let ready = self.http.get(format!("{}/-/ready", self.url)).send().await;
            if ready.is_ok_and(|r| r.status().is_success()) {
                return Ok(());
            }
            anyhow::ensure!(Instant::now() < deadline, "not ready after {within:?}");
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    /// The web UI's address.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// How many alerts fire now (`/api/v1/alerts`); `None` when Prometheus does not answer.
    pub async fn firing_alerts(&self) -> Option<usize> {
        let body: serde_json::Value = self
            .http
            .get(format!("{}/api/v1/alerts", self.url))
            .send()
            .await
            .ok()?
            .json()
            .await
            .ok()?;
        let alerts = body["data"]["alerts"].as_array()?;
        Some(alerts.iter().filter(|a| a["state"] == "firing").count())
    }

    /// Asks Prometheus to quit cleanly, then kills it if it has not after a few seconds.
    pub async fn stop(mut self) {
        let _ = self.http.post(format!("{}/-/quit", self.url)).send().await;
        if tokio::time::timeout(Duration::from_secs(10), self.child.wait())
            .await
            .is_err()
        {
            let _ = self.child.kill().await;
        }
    }
}

/// The monitoring part of the demo: the operator's endpoints and, when asked, Prometheus.
pub struct Monitoring {
    operator: SocketAddr,
    prometheus: Option<Prometheus>,
    missing: bool,
    for_max: Option<Duration>,
}

impl Monitoring {
    /// Starts Prometheus when asked and found; `dir` holds its files.
    pub async fn start(
        args: &MonitoringArgs,
        binary: Binary,
        operator: SocketAddr,
        dir: &Path,
    ) -> anyhow::Result<Self> {
        let (prometheus, missing) = match binary {
            Binary::NotAsked => (None, false),
            Binary::Missing => (None, true),
            Binary::Found(bin) => (
                Some(Prometheus::start(&bin, dir, operator, args.alert_for_max).await?),
                false,
            ),
        };
        Ok(Self {
            operator,
            prometheus,
            missing,
            for_max: args.alert_for_max,
        })
    }

    /// The guide's monitoring lines.
    pub fn print_guide(&self) {
        let m = self.operator;
        println!(
            "The operator's metrics: http://{m}/metrics  (health: http://{m}/healthz, http://{m}/readyz)"
        );
        match &self.prometheus {
            Some(p) => {
                let url = p.url();
                println!("Prometheus (the chart's alert rules, scraping every {INTERVAL}): {url}");
                println!("  alerts: {url}/alerts   rules: {url}/rules   targets: {url}/targets");
                println!("  spend vs budget: {url}/graph?g0.expr=ccs_budget_used_ratio&g0.tab=0");
                if self.for_max.is_none() {
                    println!(
                        "  alerts with a `for:` (CcsPlatformWeatherDegraded: 15m) wait that long; \
                         --alert-for-max 10s shortens them in the demo's copy of the rules"
                    );
                }
            }
            None if self.missing => println!(
                "--prometheus: no prometheus binary on PATH; install it (Debian: apt-get install prometheus) \
                 or pass --prometheus-bin PATH. Going on without it."
            ),
            None => println!("Add --prometheus to watch the chart's alerts fire in a real Prometheus."),
        }
        println!();
    }

    /// The summary line's part: firing alerts, when Prometheus runs.
    pub async fn summary(&self) -> String {
        match &self.prometheus {
            Some(p) => match p.firing_alerts().await {
                Some(n) => format!(" | alerts firing {n}"),
                None => " | alerts firing ?".into(),
            },
            None => String::new(),
        }
    }

    /// Stops Prometheus.
    pub async fn stop(self) {
        if let Some(p) = self.prometheus {
            p.stop().await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_rules_are_the_charts_unless_for_is_capped_and_then_only_for_lines_change() {
        assert_eq!(rules_with_for_max(CHART_RULES, None), CHART_RULES);
        let capped = rules_with_for_max(CHART_RULES, Some(Duration::from_secs(10)));
        let (before, after): (Vec<_>, Vec<_>) = (CHART_RULES.lines().collect(), capped.lines().collect());
        assert_eq!(before.len(), after.len());
        let mut changed = 0;
        for (b, a) in before.iter().zip(&after) {
            if b != a {
                changed += 1;
                assert!(b.trim_start().starts_with("for: "), "{b}");
                assert_eq!(a.trim_start(), "for: 10000ms");
                assert_eq!(a.len() - a.trim_start().len(), b.len() - b.trim_start().len());
            }
        }
        assert!(changed >= 5, "the chart's rules have for: 1h, 15m and 5m clauses");
        // Shorter ones stay.
        assert_eq!(
            rules_with_for_max(CHART_RULES, Some(Duration::from_secs(7200))),
            CHART_RULES
        );
    }

    #[test]
    fn the_config_scrapes_the_operator_as_the_rules_expect() {
        let config = prometheus_config("127.0.0.1:9000".parse().unwrap(), "alerts.yaml");
        for part in [
            "job_name: ccs-operator",
            "honor_labels: true",
            "targets: [\"127.0.0.1:9000\"]",
            "- alerts.yaml",
        ] {
            assert!(config.contains(part), "{config}");
        }
    }
}
