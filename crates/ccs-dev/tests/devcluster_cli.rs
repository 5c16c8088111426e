//! The `ccs-dev dev-cluster` command: serves kubectl, stops on Ctrl-C, keeps its data dir.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

fn start(dir: &Path) -> Child {
    Command::new(env!("CARGO_BIN_EXE_ccs-dev"))
        .args(["dev-cluster", "--listen", "127.0.0.1:0", "--kubeconfig"])
        .arg(dir.join("kubeconfig"))
        .arg("--data-dir")
        .arg(dir.join("data"))
        .stderr(Stdio::piped())
        .spawn()
        .expect("the binary starts")
}

/// Waits (with a deadline) for the kubeconfig, then runs kubectl with a fresh cache.
fn kubectl(dir: &Path, args: &[&str]) -> String {
    let kubeconfig = dir.join("kubeconfig");
    let deadline = Instant::now() + Duration::from_secs(20);
    while !kubeconfig.exists() {
        assert!(Instant::now() < deadline, "no kubeconfig written");
        std::thread::sleep(Duration::from_millis(20));
    }
    let cache = tempfile::tempdir().unwrap();
    let out = Command::new("kubectl")
        .arg("--kubeconfig")
        .arg(&kubeconfig)
        .arg("--cache-dir")
        .arg(cache.path())
        .args(args)
        .env_remove("HTTPS_PROXY")
        .env_remove("https_proxy")
        .env_remove("HTTP_PROXY")
        .env_remove("http_proxy")
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(
        out.status.success(),
        "kubectl {args:?}: {text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    text
}

fn interrupt(mut child: Child) {
    let pid = child.id().to_string();
    assert!(
        Command::new("kill")
            .args(["-INT", &pid])
            .status()
            .unwrap()
            .success()
    );
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            assert!(status.success(), "dev-cluster exits cleanly on Ctrl-C: {status}");
            return;
        }
        assert!(Instant::now() < deadline, "dev-cluster did not stop");
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn dev_cluster_command_serves_kubectl_and_keeps_its_data_dir() {
    let dir = tempfile::tempdir().unwrap();
    let first = start(dir.path());
    kubectl(dir.path(), &["create", "configmap", "kept", "--from-literal=a=1"]);
    interrupt(first);

    std::fs::remove_file(dir.path().join("kubeconfig")).unwrap();
    let second = start(dir.path());
    let names = kubectl(dir.path(), &["get", "configmaps", "-o", "name"]);
    assert!(names.contains("configmap/kept"), "{names}");
    interrupt(second);
}

#[test]
fn help_says_it_is_a_development_tool() {
    let out = Command::new(env!("CARGO_BIN_EXE_ccs-dev"))
        .args(["dev-cluster", "--help"])
        .output()
        .unwrap();
    let help = String::from_utf8_lossy(&out.stdout);
    assert!(help.contains("not a production API server"), "{help}");
}
