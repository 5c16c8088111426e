//! The demo's monitoring path as a user takes it: `ccs-dev demo --prometheus` with Debian's real
//! Prometheus evaluating the chart's rules against the running operator. The alerts fire and
//! resolve through what the demo's objects and the simulator's admin API do, and every query of
//! the chart's Grafana dashboard has data. `.ci/test` installs Prometheus (`.ci/install-promtool`).

use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Every wait of this test: generous, for a loaded 2-core machine.
const DEADLINE: Duration = Duration::from_secs(240);
/// The demo's copy of the rules keeps every `for:` at most this long (`--alert-for-max`).
const FOR_MAX: &str = "4s";
const DASHBOARD: &str = include_str!("../../../charts/ccs-operator/files/dashboard.json");

/// The demo process; interrupted (as Ctrl-C does) when dropped, so a failing test leaves nothing.
struct Demo {
    child: Child,
    out: PathBuf,
    guide: String,
    stdout: Arc<Mutex<String>>,
    _cwd: tempfile::TempDir,
}

impl Demo {
    fn start(args: &[&str], path: Option<&Path>) -> Demo {
        let cwd = tempfile::tempdir().expect("tempdir");
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_ccs-dev"));
        cmd.arg("demo")
            .args(args)
            .current_dir(cwd.path())
            .env_remove("HTTPS_PROXY")
            .env_remove("https_proxy")
            .stdout(Stdio::piped())
            .stderr(Stdio::null());
        if let Some(path) = path {
            cmd.env("PATH", path);
        }
        let mut child = cmd.spawn().expect("demo starts");
        let mut reader = BufReader::new(child.stdout.take().expect("stdout"));
        let mut guide = String::new();
        // The guide ends with an empty line after the monitoring lines.
        while !(guide.contains("metrics: http://") && guide.ends_with("\n\n")) {
            let mut line = String::new();
            assert!(
                reader.read_line(&mut line).expect("guide") > 0,
                "demo exited early: {guide}"
            );
            guide.push_str(&line);
        }
        // Keep draining stdout (the live summary) so it never blocks on a full pipe.
        let stdout = Arc::new(Mutex::new(String::new()));
        let sink = stdout.clone();
        std::thread::spawn(move || {
            let mut buf = [0u8; 4096];
            while let Ok(n) = reader.read(&mut buf) {
                if n == 0 {
                    break;
                }
                sink.lock().unwrap().push_str(&String::from_utf8_lossy(&buf[..n]));
            }
        });
        let out = cwd.path().canonicalize().expect("canonical").join("demo");
        Demo {
            child,
            out,
            guide,
            stdout,
            _cwd: cwd,
        }
    }

    /// The first `http://...` after `label` in the guide.
    fn url(&self, label: &str) -> String {
        let rest = &self.guide[self
            .guide
            .find(label)
            .unwrap_or_else(|| panic!("{label} in {}", self.guide))..];
        let start = rest.find("http://").expect("a URL");
        rest[start..]
            .split(|c: char| c.is_whitespace() || c == ')' || c == ',')
            .next()
            .unwrap()
            .trim_end_matches("/metrics")
            .to_string()
    }

    /// Interrupts the demo as Ctrl-C does and waits for it to end.
    fn interrupt(&mut self) -> std::process::ExitStatus {
        let _ = Command::new("kill")
            .arg("-INT")
            .arg(self.child.id().to_string())
            .status();
        let start = Instant::now();
        loop {
            if let Some(status) = self.child.try_wait().expect("wait") {
                return status;
            }
            if start.elapsed() > Duration::from_secs(30) {
                let _ = self.child.kill();
                panic!("the demo did not stop within 30 s of Ctrl-C");
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

impl Drop for Demo {
    fn drop(&mut self) {
        if matches!(self.child.try_wait(), Ok(None)) {
            let _ = Command::new("kill")
                .arg("-INT")
                .arg(self.child.id().to_string())
                .status();
            let _ = self.child.wait();
        }
    }
}

fn http() -> reqwest::Client {
    ccs_operator::install_crypto_provider();
    reqwest::Client::builder()
        .no_proxy()
        .timeout(Duration::from_secs(5))
        .build()
        .expect("client")
}

async fn get_json(http: &reqwest::Client, url: &str, query: &[(&str, &str)]) -> Option<Value> {
    let resp = http.get(url).query(query).send().await.ok()?;
    resp.status().is_success().then_some(())?;
    resp.json().await.ok()
}

/// Waits for `check` to give a value, polling every 500 ms until `DEADLINE`.
async fn eventually<T, F, Fut>(what: &str, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let start = Instant::now();
    loop {
        if let Some(value) = check().await {
            return value;
        }
        assert!(start.elapsed() < DEADLINE, "timed out waiting: {what}");
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

/// Alerts of `alertname` for the object `name`, by state.
async fn alert_states(
    http: &reqwest::Client,
    prom: &str,
    alertname: &str,
    name: &str,
) -> Option<Vec<String>> {
    let body = get_json(http, &format!("{prom}/api/v1/alerts"), &[]).await?;
    Some(
        body["data"]["alerts"]
            .as_array()?
            .iter()
            .filter(|a| a["labels"]["alertname"] == alertname && a["labels"]["name"] == name)
            .map(|a| a["state"].as_str().unwrap_or_default().to_string())
            .collect(),
    )
}

async fn firing(http: &reqwest::Client, prom: &str, alertname: &str, name: &str) -> Option<()> {
    let states = alert_states(http, prom, alertname, name).await?;
    states.iter().any(|s| s == "firing").then_some(())
}

async fn gone(http: &reqwest::Client, prom: &str, alertname: &str, name: &str) -> Option<()> {
    alert_states(http, prom, alertname, name)
        .await?
        .is_empty()
        .then_some(())
}

/// Every PromQL query of the dashboard, with its panel's title, the template variables as
/// Grafana substitutes them for the demo: namespace `default`, a rate interval a few scrapes long.
fn dashboard_queries() -> Vec<(String, String)> {
    let dashboard: Value = serde_json::from_str(DASHBOARD).expect("dashboard JSON");
    let mut queries = vec![];
    for panel in dashboard["panels"].as_array().expect("panels") {
        for target in panel["targets"].as_array().into_iter().flatten() {
            let expr = target["expr"].as_str().expect("expr");
            let expr = expr
                .replace("$namespace", "default")
                .replace("$__rate_interval", "1m");
            assert!(
                !expr.contains('$'),
                "a template variable the test does not know: {expr}"
            );
            queries.push((panel["title"].as_str().unwrap_or_default().to_string(), expr));
        }
    }
    assert!(queries.len() > 15, "{queries:?}");
    queries
}

/// Evaluates the dashboard's queries every 2 s and keeps those that have not yet returned data.
fn watch_dashboard(http: reqwest::Client, prom: String) -> Arc<Mutex<BTreeMap<String, String>>> {
    let pending: BTreeMap<String, String> = dashboard_queries()
        .into_iter()
        .map(|(title, expr)| (expr, title))
        .collect();
    let pending = Arc::new(Mutex::new(pending));
    let shared = pending.clone();
    tokio::spawn(async move {
        loop {
            let exprs: Vec<String> = shared.lock().unwrap().keys().cloned().collect();
            for expr in exprs {
                let answer = get_json(&http, &format!("{prom}/api/v1/query"), &[("query", &expr)]).await;
                if let Some(answer) = answer {
                    assert_eq!(answer["status"], "success", "{expr}: {answer}");
                    if answer["data"]["result"].as_array().is_some_and(|r| !r.is_empty()) {
                        shared.lock().unwrap().remove(&expr);
                    }
                }
            }
            tokio::time::sleep(Duration::from_secs(2)).await;
        }
    });
    pending
}

fn kubectl_apply(demo: &Demo, manifest: &str) {
    let cache = tempfile::tempdir().expect("tempdir");
    let mut child = Command::new("kubectl")
        .arg("--kubeconfig")
        .arg(demo.out.join("kubeconfig"))
        .arg("--cache-dir")
        .arg(cache.path())
        .args(["apply", "-f", "-"])
        .env_remove("HTTPS_PROXY")
        .env_remove("https_proxy")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("kubectl runs");
    use std::io::Write;
    child
        .stdin
        .take()
        .unwrap()
        .write_all(manifest.as_bytes())
        .unwrap();
    let output = child.wait_with_output().unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
}

fn prometheus_on_path() {
    assert!(
        Command::new("prometheus")
            .arg("--version")
            .output()
            .is_ok_and(|o| o.status.success()),
        "prometheus is missing: run `bash .ci/install-promtool` (Debian: apt-get install prometheus)"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_demo_with_prometheus_fires_and_resolves_the_charts_alerts_and_fills_every_dashboard_panel() {
    prometheus_on_path();
    let mut demo = Demo::start(&["--prometheus", "--alert-for-max", FOR_MAX], None);
    let client = http();
    let (metrics, prom, sim) = (
        demo.url("metrics:"),
        demo.url("Prometheus"),
        demo.url("simulator at"),
    );
    // Copyable references for the polling closures.
    let (http, metrics, prom, sim) = (&client, metrics.as_str(), prom.as_str(), sim.as_str());
    assert!(demo.guide.contains(&format!("{prom}/alerts")), "{}", demo.guide);

    // The operator's endpoints named in the guide answer.
    let scrape = eventually("the operator's /metrics", move || async move {
        let text = http
            .get(format!("{metrics}/metrics"))
            .send()
            .await
            .ok()?
            .text()
            .await
            .ok()?;
        text.contains("ccs_resources").then_some(text)
    })
    .await;
    assert!(scrape.contains("ccs_leader 1"), "{scrape}");
    for health in ["healthz", "readyz"] {
        eventually(health, move || async move {
            let r = http.get(format!("{metrics}/{health}")).send().await.ok()?;
            r.status().is_success().then_some(())
        })
        .await;
    }

    // Prometheus loaded the chart's rules from the files the demo wrote, and scrapes the operator.
    let written = std::fs::read_to_string(demo.out.join("prometheus/alerts.yaml")).expect("rules written");
    assert!(written.contains("alert: CcsBudgetThresholdExceeded"));
    let dashboard = watch_dashboard(client.clone(), prom.to_string());

    // The weather: an incident on the contract's region, through the simulator's admin API.
    let state = get_json(http, &format!("{sim}/admin/state"), &[])
        .await
        .expect("simulator state");
    let region = state["contracts"]["OCB675658"]["regions"][0]
        .as_str()
        .expect("region")
        .to_string();
    let opened: Value = http
        .post(format!("{sim}/admin/incidents"))
        .json(&json!({"region": region, "severity": 2, "title": "Storage degraded", "durationSeconds": 30 * 86400}))
        .send()
        .await
        .expect("open incident")
        .json()
        .await
        .expect("incident");
    let incident = opened["id"].as_str().expect("incident id").to_string();
    // Portal failures for the error panels: a burst of 503s on the contracts' dashboard, retried
    // (5 attempts a call) and then failing reconciles. One route, and more 503s than several
    // calls' attempts: spread over every route, a burst could be absorbed by calls that each
    // met one 503 and succeeded on retry (a contract reads its dashboard and requests at once).
    let faults = json!([{"route": "/customer-space/b2b/v1/contracts/{contractId}/dashboard",
        "fault": {"type": "error", "status": 503}, "count": 25}]);
    let put = http
        .put(format!("{sim}/admin/faults"))
        .json(&faults)
        .send()
        .await
        .expect("faults");
    assert!(put.status().is_success());

    eventually(
        "every rule evaluated and healthy in /api/v1/rules",
        move || async move {
            let body = get_json(http, &format!("{prom}/api/v1/rules"), &[]).await?;
            let rules: Vec<&Value> = body["data"]["groups"]
                .as_array()?
                .iter()
                .flat_map(|g| g["rules"].as_array().into_iter().flatten())
                .collect();
            let unhealthy: Vec<_> = rules.iter().filter(|r| r["health"] != "ok").collect();
            assert!(
                !unhealthy.iter().any(|r| r["health"] == "err"),
                "rules failing: {unhealthy:?}"
            );
            (rules.len() >= 17 && unhealthy.is_empty()).then_some(())
        },
    )
    .await;

    eventually("CcsPlatformWeatherDegraded firing for acme-prod", move || {
        firing(http, prom, "CcsPlatformWeatherDegraded", "acme-prod")
    })
    .await;
    let resolved = http
        .put(format!("{sim}/admin/incidents/{incident}/state"))
        .json(&json!({"state": "Resolved"}))
        .send()
        .await
        .expect("resolve");
    assert!(
        resolved.status().is_success(),
        "{}",
        resolved.text().await.unwrap_or_default()
    );
    eventually(
        "CcsPlatformWeatherDegraded resolved with the incident",
        move || gone(http, prom, "CcsPlatformWeatherDegraded", "acme-prod"),
    )
    .await;

    // The fast clock crosses the budget's thresholds within the period...
    eventually(
        "CcsBudgetThresholdExceeded firing for acme-prod-monthly",
        move || firing(http, prom, "CcsBudgetThresholdExceeded", "acme-prod-monthly"),
    )
    .await;
    let summary = &demo.stdout;
    eventually("the summary line counting firing alerts", move || async move {
        let text = summary.lock().unwrap().clone();
        text.split("alerts firing ")
            .skip(1)
            .any(|rest| rest.starts_with(|c: char| c.is_ascii_digit() && c != '0'))
            .then_some(())
    })
    .await;
    // ...and a new period re-arms them, which resolves the alert (as its runbook says).
    eventually(
        "CcsBudgetThresholdExceeded resolved by the next period",
        move || gone(http, prom, "CcsBudgetThresholdExceeded", "acme-prod-monthly"),
    )
    .await;

    // An order that stays in progress (the portal's clock stopped) for "Orders not final yet".
    let stop = http
        .put(format!("{sim}/admin/clock"))
        .json(&json!({"speed": 0}))
        .send()
        .await;
    assert!(stop.is_ok_and(|r| r.status().is_success()));
    kubectl_apply(
        &demo,
        "apiVersion: customerspace.io/v1alpha1\nkind: ServiceOrder\nmetadata: {name: acme-prod-more-storage, namespace: default}\n\
         spec: {contract: acme-prod, catalogItem: FE-EVS, quantity: 1, parameters: {region: eu-west-0, sizeGb: \"100\", type: SSD}}\n",
    );
    let start = Instant::now();
    loop {
        let left = dashboard.lock().unwrap().clone();
        if left.is_empty() {
            break;
        }
        assert!(
            start.elapsed() < DEADLINE,
            "dashboard queries that never returned data (query: panel): {left:#?}"
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }

    // The namespace variable's query lists the demo's namespace.
    let values = get_json(
        http,
        &format!("{prom}/api/v1/label/namespace/values"),
        &[("match[]", "ccs_contract_weather")],
    )
    .await
    .expect("label values");
    assert_eq!(values["data"], json!(["default"]));

    // Ctrl-C stops Prometheus too: nothing answers on its port, no process is left.
    let status = demo.interrupt();
    assert!(status.success(), "demo exited with {status}");
    assert!(
        http.get(format!("{prom}/-/ready")).send().await.is_err(),
        "Prometheus still answers"
    );
    let config = demo.out.join("prometheus/prometheus.yml");
    let left = Command::new("pgrep")
        .arg("-f")
        .arg(config.as_os_str())
        .output()
        .expect("pgrep");
    assert!(
        left.stdout.is_empty(),
        "Prometheus left running: {}",
        String::from_utf8_lossy(&left.stdout)
    );
}

#[test]
fn without_a_prometheus_binary_the_demo_says_how_to_install_it_and_goes_on() {
    let empty = tempfile::tempdir().expect("tempdir");
    let mut demo = Demo::start(&["--prometheus", "--duration", "3s"], Some(empty.path()));
    assert!(
        demo.guide
            .contains("no prometheus binary on PATH; install it (Debian: apt-get install prometheus)"),
        "{}",
        demo.guide
    );
    let start = Instant::now();
    let status = loop {
        if let Some(status) = demo.child.try_wait().expect("wait") {
            break status;
        }
        assert!(start.elapsed() < Duration::from_secs(60), "the demo did not end");
        std::thread::sleep(Duration::from_millis(100));
    };
    assert!(status.success(), "{status}");
    assert!(!demo.out.join("prometheus").exists());
}

#[test]
fn an_explicit_prometheus_bin_that_does_not_exist_or_a_lone_alert_for_max_fails_before_anything_starts() {
    let cwd = tempfile::tempdir().expect("tempdir");
    for (args, expected) in [
        (
            &["--prometheus-bin", "/nonexistent/prometheus"][..],
            "--prometheus-bin /nonexistent/prometheus: no such file",
        ),
        (
            &["--alert-for-max", "5s"][..],
            "--alert-for-max applies to the demo's Prometheus: add --prometheus",
        ),
    ] {
        let output = Command::new(env!("CARGO_BIN_EXE_ccs-dev"))
            .arg("demo")
            .args(args)
            .args(["--duration", "30s"])
            .current_dir(cwd.path())
            .output()
            .expect("demo runs");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(!output.status.success(), "{args:?}: {stderr}");
        assert!(stderr.contains(expected), "{args:?}: {stderr}");
        assert!(!cwd.path().join("demo").exists(), "{args:?}: the demo started");
    }
}
