//! The table `bench operator` prints.

use super::objects::Counts;
use super::ready::ReadyTimes;
use std::time::Duration;

/// The figures of one run.
#[derive(Debug)]
pub struct Report {
    /// Objects created, per kind.
    pub counts: Counts,
    /// How long creating them took (before the operator starts).
    pub creation: Duration,
    /// Poll interval.
    pub poll: Duration,
    /// From spawning the operator to every object Ready.
    pub time_to_ready: Duration,
    /// When each kind was all Ready.
    pub ready: ReadyTimes,
    /// CPU seconds while converging: the operator, the API server (with the bench's watches and
    /// everything else in this process but the portal), the portal simulator.
    pub cpu: (f64, f64, f64),
    /// Requests the operator sent the API server while converging.
    pub converge_requests: u64,
    /// The same in the steady-state window.
    pub steady_requests: u64,
    /// Steady-state window measured.
    pub window: Duration,
    /// Poll intervals in the window.
    pub intervals: f64,
    /// Portal calls in the window (tokens included).
    pub portal_calls: usize,
    /// Portal reads (GET) per contract per poll interval, mean over contracts.
    pub reads_per_contract_interval: f64,
    /// The same, for the contract read most.
    pub max_reads_per_contract_interval: f64,
    /// Token requests in the window.
    pub token_calls: usize,
    /// Writes (non-GET, tokens excluded) in the window.
    pub writes: usize,
    /// Resident memory of the operator when all were Ready, in KiB.
    pub rss_ready_kib: u64,
    /// Resident memory of the operator at the end, in KiB.
    pub rss_kib: u64,
    /// Peak resident memory of the operator, in KiB.
    pub peak_rss_kib: u64,
}

fn secs(d: Duration) -> String {
    format!("{:.2} s", d.as_secs_f64())
}

fn mib(kib: u64) -> String {
    format!("{:.1} MiB", kib as f64 / 1024.0)
}

impl Report {
    fn rows(&self) -> Vec<(&'static str, String)> {
        let c = &self.counts;
        let objects = c.total().max(1) as f64;
        let kind = |n: usize, at: Duration| format!("{n} created, {n} Ready after {}", secs(at));
        vec![
            (
                "objects created",
                format!(
                    "{} in {} (+{} Secrets)",
                    c.total(),
                    secs(self.creation),
                    c.contracts
                ),
            ),
            ("CloudContracts", kind(c.contracts, self.ready.contracts)),
            ("PortalUsers", kind(c.users, self.ready.users)),
            ("BudgetAlerts", kind(c.budgets, self.ready.budgets)),
            ("ServiceOrders", kind(c.orders, self.ready.orders)),
            ("poll interval", format!("{:?}", self.poll)),
            ("start to all Ready", secs(self.time_to_ready)),
            (
                "CPU while converging",
                format!(
                    "operator {:.1} s, API server {:.1} s, portal {:.1} s",
                    self.cpu.0, self.cpu.1, self.cpu.2
                ),
            ),
            (
                "API requests while converging",
                format!(
                    "{}, {:.2} per object",
                    self.converge_requests,
                    self.converge_requests as f64 / objects
                ),
            ),
            (
                "API requests in steady state",
                format!(
                    "{}, {:.3} per object per interval",
                    self.steady_requests,
                    self.steady_requests as f64 / objects / self.intervals
                ),
            ),
            (
                "steady-state window",
                format!("{:.1} s", self.window.as_secs_f64()),
            ),
            (
                "portal calls / contract / interval",
                format!(
                    "{:.2}",
                    self.portal_calls as f64 / c.contracts.max(1) as f64 / self.intervals
                ),
            ),
            (
                "portal reads / contract / interval",
                format!(
                    "{:.2} mean, {:.2} max (goal <= 2)",
                    self.reads_per_contract_interval, self.max_reads_per_contract_interval
                ),
            ),
            ("token calls in window", self.token_calls.to_string()),
            ("portal writes in window", self.writes.to_string()),
            (
                "operator RSS all Ready / end / peak",
                format!(
                    "{} / {} / {}",
                    mib(self.rss_ready_kib),
                    mib(self.rss_kib),
                    mib(self.peak_rss_kib)
                ),
            ),
        ]
    }
}

impl std::fmt::Display for Report {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(f, "{:<36} | value", "measure")?;
        writeln!(f, "{:-<36}-+-{:-<40}", "", "")?;
        for (name, value) in self.rows() {
            writeln!(f, "{name:<36} | {value}")?;
        }
        Ok(())
    }
}
