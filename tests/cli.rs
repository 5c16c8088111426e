//! The command line as a newcomer meets it: `--version`, completions, the man page, and every
//! start-up error said in one line with what to do, with a non-zero exit.

use ccs_devcluster::{DevCluster, DevClusterConfig};
use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

fn binary() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_ccs-operator"));
    // Nothing of the caller's environment decides where the operator connects.
    for var in ["KUBECONFIG", "KUBERNETES_SERVICE_HOST", "KUBERNETES_SERVICE_PORT"] {
        command.env_remove(var);
    }
    for var in ["HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy"] {
        command.env_remove(var);
    }
    command
}

fn stdout(output: &Output) -> String {
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout.clone()).expect("utf8")
}

/// Runs `command` (logging off, so stderr holds the error alone) under a deadline and returns
/// its one-line error.
fn one_line_error(mut command: Command) -> String {
    let mut child = command
        .env("CCS_LOG_LEVEL", "off")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("runs");
    let deadline = Instant::now() + Duration::from_secs(60);
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait") {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("the operator did not exit within 60s");
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let mut stderr = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().expect("stderr"), &mut stderr).expect("stderr");
    assert_eq!(status.code(), Some(1), "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "not one line: {stderr}");
    assert!(stderr.starts_with("error: "), "{stderr}");
    stderr.trim_end().to_string()
}

#[test]
fn version_names_the_git_commit_and_the_kubernetes_api() {
    let version = stdout(&binary().arg("--version").output().expect("runs"));
    let git = Command::new("git")
        .args(["rev-parse", "--short", "HEAD"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string());
    // Built without git (the image build), the commit reads `unknown`.
    let commit = git.unwrap_or_else(|| "unknown".into());
    assert_eq!(
        version.trim(),
        format!(
            "ccs-operator {} (commit {commit}, Kubernetes API v1.33)",
            env!("CARGO_PKG_VERSION")
        )
    );
}

#[test]
fn completions_parse_in_bash_and_name_every_subcommand() {
    let dir = tempfile::tempdir().expect("tempdir");
    for shell in ["bash", "zsh", "fish"] {
        let script = stdout(&binary().args(["completions", shell]).output().expect("runs"));
        for sub in ["run", "crds", "completions", "man", "--kubeconfig"] {
            assert!(script.contains(sub), "{shell} completions lack {sub}");
        }
        let path = dir.path().join(format!("ccs-operator.{shell}"));
        std::fs::write(&path, &script).expect("write");
        if shell == "bash" {
            let check = Command::new("bash")
                .arg("-n")
                .arg(&path)
                .output()
                .expect("bash runs");
            assert!(
                check.status.success(),
                "bash -n: {}",
                String::from_utf8_lossy(&check.stderr)
            );
        }
    }
    let refused = binary().args(["completions", "tcsh"]).output().expect("runs");
    assert!(!refused.status.success());
}

#[test]
fn man_pages_are_roff_for_the_command_and_each_subcommand() {
    let page = stdout(&binary().arg("man").output().expect("runs"));
    assert!(page.contains(".TH ccs-operator 1"), "{page}");
    assert!(page.contains("completions") && page.contains("run"), "{page}");
    let dir = tempfile::tempdir().expect("tempdir");
    stdout(
        &binary()
            .args(["man", "--out-dir"])
            .arg(dir.path())
            .output()
            .expect("runs"),
    );
    let mut pages: Vec<String> = std::fs::read_dir(dir.path())
        .expect("dir")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    pages.sort();
    assert_eq!(
        pages,
        [
            "ccs-operator-billing-download.1",
            "ccs-operator-billing.1",
            "ccs-operator-completions.1",
            "ccs-operator-crds.1",
            "ccs-operator-man.1",
            "ccs-operator-plan.1",
            "ccs-operator-run.1",
            "ccs-operator.1"
        ]
    );
    let run = std::fs::read_to_string(dir.path().join("ccs-operator-run.1")).expect("read");
    assert!(run.contains("kubeconfig"), "{run}");
}

#[test]
fn no_kubeconfig_and_not_in_a_cluster() {
    let home = tempfile::tempdir().expect("tempdir");
    let mut command = binary();
    command.arg("run").env("KUBECONFIG", "/nonexistent/kubeconfig");
    let err = one_line_error(command);
    assert_eq!(
        err,
        "error: no kubeconfig and not running in a cluster: KUBECONFIG names /nonexistent/kubeconfig, which does not exist: pass --kubeconfig FILE or set KUBECONFIG, or run the operator in a cluster"
    );

    let mut command = binary();
    command.arg("run").env("HOME", home.path());
    let err = one_line_error(command);
    assert!(
        err.contains("KUBECONFIG is unset and")
            && err.contains(".kube/config does not exist")
            && err.contains("pass --kubeconfig FILE"),
        "{err}"
    );

    let mut command = binary();
    command.args(["run", "--kubeconfig", "/nonexistent/kubeconfig"]);
    assert_eq!(
        one_line_error(command),
        "error: --kubeconfig /nonexistent/kubeconfig: no such file: name an existing kubeconfig file"
    );

    let broken = home.path().join("broken");
    std::fs::write(&broken, "clusters: [\n").expect("write");
    let mut command = binary();
    command.args(["run", "--kubeconfig"]).arg(&broken);
    let err = one_line_error(command);
    assert!(err.contains("fix or replace that kubeconfig"), "{err}");
}

#[test]
fn an_unknown_config_key_is_named_with_the_closest_valid_key() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("ccs-operator.yaml");
    std::fs::write(
        &path,
        "portal:\n  endpoint: https://portal.example\nsmtp:\n  hots: mail.example\n",
    )
    .expect("write");
    let mut command = binary();
    command.args(["run", "--config"]).arg(&path);
    assert_eq!(
        one_line_error(command),
        format!(
            "error: {}: line 4: unknown key smtp.hots; did you mean smtp.host? (every key is documented in config/ccs-operator.yaml)",
            path.display()
        )
    );
}

/// A dev-cluster, its kubeconfig and a temporary directory; with the CRDs when asked.
struct Cluster {
    dir: tempfile::TempDir,
    kubeconfig: std::path::PathBuf,
    cluster: Option<DevCluster>,
}

impl Cluster {
    async fn start(crds: bool) -> Self {
        ccs_operator::install_crypto_provider();
        let dir = tempfile::tempdir().expect("tempdir");
        let mut cluster = DevCluster::start(DevClusterConfig {
            listen: "127.0.0.1:0".into(),
            ..Default::default()
        })
        .await
        .expect("dev-cluster");
        let kubeconfig = dir.path().join("kubeconfig");
        cluster.write_kubeconfig(&kubeconfig).expect("kubeconfig");
        if crds {
            install_crds(&cluster.client().expect("client")).await;
        }
        Self {
            dir,
            kubeconfig,
            cluster: Some(cluster),
        }
    }

    /// `ccs-operator run` against this cluster, plus `args`.
    fn run(&self, args: &[&str]) -> Command {
        let mut command = binary();
        command
            .args(["run", "--kubeconfig"])
            .arg(&self.kubeconfig)
            .args(["--leader-election", "false", "--metrics-listen", "127.0.0.1:0"])
            .args(args);
        command
    }

    async fn stop(mut self) {
        if let Some(cluster) = self.cluster.take() {
            cluster.shutdown().await;
        }
        drop(self.dir);
    }
}

async fn install_crds(client: &kube::Client) {
    use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
    use kube::api::{Api, PostParams};
    let api: Api<CustomResourceDefinition> = Api::all(client.clone());
    for crd in ccs_operator::api::all_crds() {
        let name = crd.metadata.name.clone().expect("name");
        api.create(&PostParams::default(), &crd)
            .await
            .expect("create CRD");
        let established = kube::runtime::wait::await_condition(
            api.clone(),
            &name,
            kube::runtime::wait::conditions::is_crd_established(),
        );
        tokio::time::timeout(Duration::from_secs(30), established)
            .await
            .expect("CRD established in time")
            .expect("watch");
    }
}

/// A port nothing listens on (bound, then released).
fn closed_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    listener.local_addr().expect("addr").port()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn missing_crds_and_an_unreachable_api_server() {
    let cluster = Cluster::start(false).await;
    let command = cluster.run(&[]);
    let err = tokio::task::spawn_blocking(move || one_line_error(command))
        .await
        .expect("join");
    assert!(
        err.contains("the CRD cloudcontracts.customerspace.io is not installed: kubectl apply -f crds/"),
        "{err}"
    );

    // The same kubeconfig once the API server is gone.
    let dir = tempfile::tempdir().expect("tempdir");
    let gone = dir.path().join("kubeconfig");
    std::fs::copy(&cluster.kubeconfig, &gone).expect("copy");
    cluster.stop().await;
    let mut command = binary();
    command
        .args(["run", "--leader-election", "false", "--kubeconfig"])
        .arg(&gone);
    let err = tokio::task::spawn_blocking(move || one_line_error(command))
        .await
        .expect("join");
    assert!(
        err.starts_with("error: cannot reach the Kubernetes API server (")
            && err.ends_with("check the kubeconfig's server address and that the cluster is up"),
        "{err}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_smtp_server_refusing_stops_the_start() {
    let cluster = Cluster::start(true).await;
    // A server that answers every connection with a permanent refusal.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let refusing = listener.local_addr().expect("addr").port();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { break };
            let _ = stream.write_all(b"554 5.7.1 no service for you\r\n");
        }
    });
    for (port, cause) in [
        (refusing, "no service for you"),
        (closed_port(), "onnection refused"),
    ] {
        let port = port.to_string();
        let command = cluster.run(&["--smtp-host", "127.0.0.1", "--smtp-port", &port]);
        let err = tokio::task::spawn_blocking(move || one_line_error(command))
            .await
            .expect("join");
        assert!(
            err.starts_with(&format!("error: the SMTP server 127.0.0.1:{port} refused ("))
                && err.contains(cause)
                && err.ends_with("check smtp.host, smtp.port, smtp.tls and the credentials, or leave smtp.host empty to write .eml files to smtp.mailDir"),
            "{err}"
        );
    }
    cluster.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreachable_portal_is_a_one_line_warning_and_the_operator_runs_on() {
    let cluster = Cluster::start(true).await;
    let endpoint = format!("http://127.0.0.1:{}", closed_port());
    let mail = cluster.dir.path().join("mail");
    let mut child = cluster
        .run(&[
            "--portal-endpoint",
            &endpoint,
            "--portal-allow-insecure",
            "--mail-dir",
        ])
        .arg(&mail)
        .env("CCS_LOG_LEVEL", "warn")
        .env("NO_COLOR", "1")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("operator starts");
    let stderr = child.stderr.take().expect("stderr");
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let deadline = Instant::now() + Duration::from_secs(30);
    let warning = loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match rx.recv_timeout(left) {
            Ok(line) if line.contains("portal endpoint") => break line,
            Ok(_) => continue,
            Err(e) => {
                let _ = child.kill();
                panic!("no warning about the portal within 30s: {e}");
            }
        }
    };
    assert!(
        warning.contains(&format!("the portal endpoint {endpoint} is unreachable ("))
            && warning.contains("continuing")
            && warning.contains("Check portal.endpoint (--portal-endpoint)"),
        "{warning}"
    );
    // Still running: the metrics server answers.
    let mut first = String::new();
    BufReader::new(child.stdout.take().expect("stdout"))
        .read_line(&mut first)
        .expect("stdout");
    let addr = first
        .trim()
        .rsplit("http://")
        .next()
        .expect("address")
        .to_string();
    let healthz = tokio::task::spawn_blocking(move || {
        let mut stream = std::net::TcpStream::connect(&addr).expect("metrics server");
        stream
            .set_read_timeout(Some(Duration::from_secs(10)))
            .expect("timeout");
        stream
            .write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            .expect("write");
        let mut answer = String::new();
        let _ = std::io::Read::read_to_string(&mut stream, &mut answer);
        answer
    })
    .await
    .expect("join");
    assert!(healthz.starts_with("HTTP/1.1 200"), "{healthz}");
    assert!(child.try_wait().expect("wait").is_none(), "the operator exited");
    let _ = child.kill();
    let _ = child.wait();
    cluster.stop().await;
}
