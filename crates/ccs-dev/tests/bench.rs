//! The benchmarks run end to end on a small scale, through the `ccs-dev` binary.

use std::process::{Command, Output};
use std::time::Duration;

/// Runs `ccs-dev` with `args`, failing the test past `deadline`.
fn ccs_dev(args: &[&str], deadline: Duration) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_ccs-dev"));
    command
        .args(args)
        .env_remove("HTTP_PROXY")
        .env_remove("http_proxy");
    let (done, result) = std::sync::mpsc::channel();
    std::thread::spawn(move || done.send(command.output()));
    result
        .recv_timeout(deadline)
        .expect("ccs-dev ends before its deadline")
        .expect("ccs-dev runs")
}

#[test]
fn dev_cluster_benchmark_runs_end_to_end_on_a_small_scale() {
    let out = ccs_dev(
        &["bench", "dev-cluster", "--objects", "200", "--updates", "200"],
        Duration::from_secs(120),
    );
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

/// The operator benchmark through the shipped binary: `ccs-dev` starts the `ccs-operator` built
/// beside it (`cargo test --workspace` builds both into the same folder).
#[test]
fn the_operator_benchmark_reads_each_contract_at_most_twice_per_interval() {
    let operator = std::path::Path::new(env!("CARGO_BIN_EXE_ccs-dev")).with_file_name("ccs-operator");
    assert!(
        operator.is_file(),
        "{} is missing: run `cargo test --workspace` (or `cargo build -p ccs-operator` first)",
        operator.display()
    );
    let args = [
        "bench",
        "operator",
        "--contracts",
        "5",
        "--budgets-per-contract",
        "4",
        "--poll-interval",
        "2s",
        "--intervals",
        "3",
    ];
    let out = ccs_dev(&args, Duration::from_secs(120));
    let table = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{table}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let reads = table
        .lines()
        .find_map(|l| l.strip_prefix("portal reads / contract / interval"))
        .and_then(|l| {
            l.split(',')
                .nth(1)?
                .split_whitespace()
                .next()?
                .parse::<f64>()
                .ok()
        })
        .unwrap_or_else(|| panic!("no reads row: {table}"));
    assert!(reads <= 2.0, "{table}");
    assert_eq!(
        row(&table, "BudgetAlerts").split(" Ready").next(),
        Some("20 created, 20")
    );
}

/// The value of the report row `name`.
fn row<'t>(table: &'t str, name: &str) -> &'t str {
    table
        .lines()
        .find_map(|l| l.strip_prefix(name)?.trim_start().strip_prefix("| "))
        .unwrap_or_else(|| panic!("no {name} row: {table}"))
}

/// The leading number of a report value.
fn number(value: &str) -> f64 {
    value
        .split(|c: char| c == ',' || c.is_whitespace())
        .next()
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no number in {value:?}"))
}

/// Every kind at once: users, budgets and orders per contract all reach Ready, and the report
/// counts the operator's API-server requests and its memory.
#[test]
fn the_operator_benchmark_brings_users_budgets_and_orders_to_ready() {
    let operator = std::path::Path::new(env!("CARGO_BIN_EXE_ccs-dev")).with_file_name("ccs-operator");
    assert!(
        operator.is_file(),
        "{} is missing: run `cargo build -p ccs-operator` first",
        operator.display()
    );
    let args = [
        "bench",
        "operator",
        "--contracts",
        "2",
        "--users-per-contract",
        "3",
        "--budgets-per-contract",
        "1",
        "--orders-per-contract",
        "2",
        "--poll-interval",
        "2s",
        "--intervals",
        "1",
        "--deadline",
        "90s",
    ];
    let out = ccs_dev(&args, Duration::from_secs(150));
    let table = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{table}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for (kind, n) in [
        ("CloudContracts", 2),
        ("PortalUsers", 6),
        ("BudgetAlerts", 2),
        ("ServiceOrders", 4),
    ] {
        let value = row(&table, kind);
        assert!(
            value.starts_with(&format!("{n} created, {n} Ready after ")),
            "{kind}: {table}"
        );
    }
    assert!(row(&table, "objects created").starts_with("14 in "), "{table}");
    // At least one watch per kind, and the status writes of 14 objects.
    let converging = number(row(&table, "API requests while converging"));
    assert!(converging >= 14.0, "{table}");
    let rss = number(row(&table, "operator RSS all Ready / end / peak"));
    assert!(rss > 1.0, "{table}");
}

/// The status page's benchmark, small: every view is served from the caches (no API-server or
/// portal call while the pages are viewed).
#[test]
fn the_web_benchmark_counts_no_call_per_view() {
    let args = [
        "bench",
        "web",
        "--contracts",
        "5",
        "--budgets-per-contract",
        "2",
        "--users",
        "50",
        "--views",
        "10",
    ];
    let out = ccs_dev(&args, Duration::from_secs(180));
    let table = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{table}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for row in ["overview (HTML)", "contract (HTML)", "overview (JSON)"] {
        assert!(table.contains(row), "{table}");
    }
    assert!(
        table.contains("calls while viewing: API server 0 (0.000 per view), portal 0 (0.000 per view)"),
        "{table}"
    );
}
