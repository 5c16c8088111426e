//! The one-command demo, as a newcomer runs it: start it from any directory (an installed binary,
//! far from the repository), wait for Ready through kubectl, then for the intended health
//! (`Stalled=false`, `Reconciling=false`), find a budget email, stop it with Ctrl-C.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn kubectl(kubeconfig: &std::path::Path, cache: &std::path::Path, args: &[&str]) -> std::process::Output {
    Command::new("kubectl")
        .arg("--kubeconfig")
        .arg(kubeconfig)
        .arg("--cache-dir")
        .arg(cache)
        .args(args)
        .env_remove("HTTPS_PROXY")
        .env_remove("https_proxy")
        .output()
        .expect("kubectl runs")
}

/// A plain HTTP/1.1 GET (no client library needed), answered with its status line and body.
fn http_get(address: &str, path: &str) -> String {
    use std::io::{Read, Write};
    let mut stream = std::net::TcpStream::connect(address).expect("status page reachable");
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\n\r\n"
    )
    .expect("request");
    let mut answer = String::new();
    stream.read_to_string(&mut answer).expect("answer");
    answer
}

#[test]
fn the_demo_started_outside_the_repository_makes_every_sample_ready_and_writes_a_budget_email() {
    // A fresh directory with no config/ in it: the samples and simulator settings are built in,
    // and the default --out (`demo`) is relative to it.
    let cwd = tempfile::tempdir().expect("tempdir");
    let out = cwd.path().canonicalize().expect("canonical").join("demo");
    let cache = cwd.path().join("kubectl-cache");
    let mut demo = Command::new(env!("CARGO_BIN_EXE_ccs-dev"))
        .arg("demo")
        .current_dir(cwd.path())
        .env_remove("HTTPS_PROXY")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("demo starts");
    let started = Instant::now();
    let mut guide = String::new();
    let mut reader = BufReader::new(demo.stdout.take().expect("stdout"));
    while !guide.contains("Status page") {
        let mut line = String::new();
        assert!(
            reader.read_line(&mut line).expect("guide") > 0,
            "demo exited early: {guide}"
        );
        guide.push_str(&line);
    }
    // Keep draining stdout so the live summary never blocks on a full pipe.
    std::thread::spawn(move || std::io::copy(&mut reader, &mut std::io::sink()));
    let kubeconfig = out.join("kubeconfig");
    assert!(
        guide.contains(&format!("export KUBECONFIG={}", kubeconfig.display())),
        "{guide}"
    );

    let wait = kubectl(
        &kubeconfig,
        &cache,
        &[
            "wait",
            "--for=condition=Ready",
            "ccontract,budget,puser,sorder",
            "--all",
            "--timeout=90s",
        ],
    );
    assert!(
        wait.status.success(),
        "not Ready: {}",
        String::from_utf8_lossy(&wait.stderr)
    );
    // The intended health once Ready: nothing stuck, nothing left in progress (kstatus Current).
    for condition in ["Stalled=false", "Reconciling=false"] {
        let wait = kubectl(
            &kubeconfig,
            &cache,
            &[
                "wait",
                &format!("--for=condition={condition}"),
                "ccontract,budget,puser,sorder",
                "--all",
                "--timeout=90s",
            ],
        );
        assert!(
            wait.status.success(),
            "not {condition}: {}{}",
            String::from_utf8_lossy(&wait.stdout),
            String::from_utf8_lossy(&wait.stderr)
        );
    }
    // The status page whose URL the guide printed shows the sample contract.
    let url = guide
        .lines()
        .find(|l| l.contains("Status page"))
        .and_then(|l| l.split("http://").nth(1))
        .map(|rest| rest.trim().trim_end_matches('/').to_string())
        .unwrap_or_else(|| panic!("no status page URL in {guide}"));
    let page = http_get(&url, "/");
    assert!(
        page.starts_with("HTTP/1.1 200") && page.contains("data-contract=\"default/acme-prod\""),
        "{page}"
    );
    let get = kubectl(&kubeconfig, &cache, &["get", "customerspace"]);
    let table = String::from_utf8_lossy(&get.stdout);
    for name in [
        "acme-prod",
        "jane-doe",
        "acme-prod-monthly",
        "acme-prod-extra-storage",
    ] {
        assert!(table.contains(name), "{table}");
    }

    let mail = out.join("mail");
    let budget_email = loop {
        let found = std::fs::read_dir(&mail)
            .into_iter()
            .flatten()
            .filter_map(|e| std::fs::read_to_string(e.ok()?.path()).ok())
            .find(|m| m.contains("threshold"));
        if let Some(found) = found {
            break found;
        }
        assert!(
            started.elapsed() < Duration::from_secs(120),
            "no budget email in {}",
            mail.display()
        );
        std::thread::sleep(Duration::from_millis(200));
    };
    assert!(
        budget_email.contains("Message-ID: <") && budget_email.contains("acme-prod-monthly"),
        "{budget_email}"
    );

    Command::new("kill")
        .arg("-INT")
        .arg(demo.id().to_string())
        .status()
        .expect("kill");
    let status = demo.wait().expect("demo exits");
    assert!(status.success(), "demo exited with {status}");
}

#[test]
fn an_explicit_manifests_or_simulator_config_that_cannot_be_read_fails_at_once() {
    let cwd = tempfile::tempdir().expect("tempdir");
    for (flag, expected) in [
        ("--manifests", "--manifests missing: cannot read the directory"),
        ("--simulator-config", "--simulator-config missing: cannot read"),
    ] {
        let output = Command::new(env!("CARGO_BIN_EXE_ccs-dev"))
            .args(["demo", flag, "missing", "--duration", "30s"])
            .current_dir(cwd.path())
            .output()
            .expect("demo runs");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(!output.status.success(), "{flag}: {stderr}");
        assert!(stderr.contains(expected), "{flag}: {stderr}");
        assert!(
            !cwd.path().join("demo").exists(),
            "{flag}: the demo started before checking its inputs"
        );
    }
}
