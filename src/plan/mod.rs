//! `ccs-operator plan -f PATH...`: what the operator would do in the portal if these manifests
//! were applied, computed with the controllers' own pure plan functions.
//!
//! "Current" is each object's last observed status, read from the cluster with list calls only:
//! no portal call, no Secret read, never a write. `--refresh` also reads the portal, read-only, with
//! each CloudContract's credentials (see [`refresh`]). `--offline` reads no cluster at all: schema and
//! CEL validation with the API server's validator (`ccs-admission`), and the plan against empty
//! status. Output: text, markdown (a pull-request comment) or JSON (schema:
//! `config/plan-output.schema.json`). Exit codes: 0 success, 1 error or something refused,
//! 2 changes with `--detailed-exitcode`.

mod budget;
mod compute;
mod contract;
mod current;
mod diff;
pub mod input;
mod live;
pub mod mask;
mod order;
mod refresh;
pub mod render;
pub mod report;
mod user;

use anyhow::Context as _;
use std::collections::BTreeSet;
use std::io::{IsTerminal, Write};
use std::path::PathBuf;

/// Output format.
#[derive(clap::ValueEnum, Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Output {
    /// One block per object, coloured on a terminal (unless NO_COLOR is set).
    #[default]
    Text,
    /// Markdown, for a pull-request comment.
    Markdown,
    /// JSON; schema in config/plan-output.schema.json.
    Json,
}

/// Flags of the `plan` subcommand.
#[derive(clap::Args, Debug, Default)]
pub struct PlanArgs {
    /// Manifest files or directories (.yaml, .yml, .json, recursively), or - for stdin. Repeatable.
    #[arg(short = 'f', long = "filename", required = true, num_args = 1..)]
    pub files: Vec<PathBuf>,
    /// Kubeconfig file; default: KUBECONFIG, ~/.kube/config, or the in-cluster service account.
    #[arg(long)]
    pub kubeconfig: Option<PathBuf>,
    /// Namespace of manifests without one; default: the kubeconfig context's, else `default`.
    #[arg(short = 'n', long)]
    pub namespace: Option<String>,
    /// Read no cluster: schema and CEL validation, and the plan against empty status.
    #[arg(long)]
    pub offline: bool,
    /// Output format.
    #[arg(short = 'o', long, value_enum, default_value_t)]
    pub output: Output,
    /// Also read the portal (read-only, with each CloudContract's credentials) for a fresh view of
    /// "current", under the operator's rules (allowed endpoints, labelled credentials Secrets).
    #[arg(long, conflicts_with = "offline")]
    pub refresh: bool,
    /// With --refresh: the operator's configuration file (as `ccs-operator run --config`), for the
    /// portal endpoint and its policy (portal.allowedEndpoints); CCS_* variables apply on top.
    #[arg(long, requires = "refresh")]
    pub config: Option<PathBuf>,
    /// Exit 0 when nothing changes, 2 when something does, 1 on an error or a refusal.
    #[arg(long)]
    pub detailed_exitcode: bool,
    /// Show every email address as `a***@domain`.
    #[arg(long)]
    pub mask_emails: bool,
    /// Age beyond which spend data triggers no threshold; the operator's is twice the BudgetAlert poll interval.
    #[arg(long, value_parser = humantime::parse_duration, default_value = "10m")]
    pub spend_freshness: std::time::Duration,
}

/// The plan of `manifests` given the live objects (empty offline).
pub fn compute(
    manifests: &[input::Manifest],
    live: &live::Live,
    offline: bool,
    default_namespace: &str,
    freshness: std::time::Duration,
) -> report::Plan {
    let objects = compute::plan_all(
        manifests,
        live,
        offline,
        default_namespace,
        chrono::Utc::now(),
        freshness,
    );
    report::Plan::new(if offline { "offline" } else { "cluster" }, objects)
}

async fn plan(args: &PlanArgs, manifests: &[input::Manifest]) -> anyhow::Result<report::Plan> {
    if args.offline {
        let namespace = args.namespace.clone().unwrap_or_else(|| "default".into());
        return Ok(compute(
            manifests,
            &live::Live::default(),
            true,
            &namespace,
            args.spend_freshness,
        ));
    }
    let source = args
        .kubeconfig
        .clone()
        .map(crate::runtime::KubeSource::File)
        .unwrap_or_default();
    let client = crate::runtime::kube_client(&source)
        .await
        .context("connecting to the cluster (use --kubeconfig, or --offline to plan without one)")?;
    let namespace = args
        .namespace
        .clone()
        .unwrap_or_else(|| client.default_namespace().to_string());
    let namespaces: BTreeSet<String> = manifests
        .iter()
        .map(|m| {
            m.object["metadata"]["namespace"]
                .as_str()
                .filter(|n| !n.is_empty())
                .unwrap_or(&namespace)
                .to_string()
        })
        .collect();
    let mut live = live::read(&client, &namespaces).await?;
    if args.refresh {
        let mut config = match &args.config {
            Some(path) => crate::config::OperatorConfig::from_file(path)?,
            None => crate::config::OperatorConfig::default(),
        };
        config.apply_env(std::env::vars())?;
        live.portal = Some(refresh::read(&client, &config, manifests, &live, &namespace).await?);
    }
    let mut plan = compute(manifests, &live, false, &namespace, args.spend_freshness);
    if args.refresh {
        plan.mode = "refresh";
    }
    Ok(plan)
}

/// Runs `plan`: prints the plan and exits with the documented code (this never returns on success
/// with `--detailed-exitcode` and changes, to exit 2).
pub fn main(args: PlanArgs) -> anyhow::Result<()> {
    let manifests = input::read_all(&args.files)?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    let plan = runtime.block_on(plan(&args, &manifests))?;
    let rendered = match args.output {
        Output::Json => serde_json::to_string_pretty(&plan)? + "\n",
        Output::Markdown => render::markdown(&plan),
        Output::Text => {
            let color = std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none();
            render::text(&plan, color)
        }
    };
    let rendered = if args.mask_emails {
        mask::emails(&rendered)
    } else {
        rendered
    };
    let mut stdout = std::io::stdout().lock();
    stdout.write_all(rendered.as_bytes())?;
    stdout.flush()?;
    if plan.refused {
        anyhow::bail!("{} object(s) refused; see the [x] lines", plan.summary.refused);
    }
    if args.detailed_exitcode && plan.changes {
        std::process::exit(2);
    }
    Ok(())
}
