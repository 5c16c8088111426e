//! The benchmarks run end to end on a small scale, through the `ccs-dev` binary.

use std::process::Command;

#[test]
fn dev_cluster_benchmark_runs_end_to_end_on_a_small_scale() {
    let out = Command::new(env!("CARGO_BIN_EXE_ccs-dev"))
        .args(["bench", "dev-cluster", "--objects", "200", "--updates", "200"])
        .env_remove("HTTP_PROXY")
        .env_remove("http_proxy")
        .output()
        .expect("ccs-dev runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "bench failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains("updates/s with 4 watchers"),
        "unexpected report: {stdout}"
    );
}

#[test]
fn operator_benchmarks_name_the_missing_operator_binary() {
    let out = Command::new(env!("CARGO_BIN_EXE_ccs-dev"))
        .args(["bench", "operator", "--contracts", "1"])
        .env("CCS_OPERATOR_BIN", "/nonexistent/ccs-operator")
        .output()
        .expect("ccs-dev runs");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(stderr.contains("/nonexistent/ccs-operator"), "stderr: {stderr}");
}
