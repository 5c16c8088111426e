//! `ccs-dev demo`: the dev-cluster, the simulator (fast clock) and the operator in one
//! process; the samples applied; a guide and a live summary until Ctrl-C.

mod manifests;
pub mod monitoring;
pub mod progress;

use anyhow::Context;
use ccs_devcluster::{DevCluster, DevClusterConfig};
use ccs_operator::config::OperatorConfig;
use ccs_operator::runtime::{KubeSource, run};
use ccs_simulator::{SimConfig, Simulator};
use std::io::Write;
use std::path::PathBuf;
use std::time::Duration;

/// Flags of the `demo` subcommand.
#[derive(clap::Args, Debug)]
pub struct DemoArgs {
    /// Directory for the kubeconfig (`DIR/kubeconfig`) and the emails (`DIR/mail/`).
    #[arg(long, default_value = "demo")]
    pub out: PathBuf,
    /// Directory of manifests to apply instead of the built-in samples (config/samples).
    #[arg(long)]
    pub manifests: Option<PathBuf>,
    /// Send email to this SMTP server (`host:port`, no TLS) instead of writing `.eml` files.
    #[arg(long)]
    pub smtp: Option<String>,
    /// Address of the embedded API server.
    #[arg(long, default_value = "127.0.0.1:0")]
    pub listen: String,
    /// Simulator settings (seed, contracts, clock speed) instead of the built-in ones
    /// (config/simulator-demo.yaml).
    #[arg(long)]
    pub simulator_config: Option<PathBuf>,
    /// Address of the status page; port 0 picks a free port.
    #[arg(long, default_value = "127.0.0.1:0")]
    pub web_listen: String,
    /// Stop by itself after this long (for scripts); default: run until Ctrl-C.
    #[arg(long, value_parser = humantime::parse_duration)]
    pub duration: Option<Duration>,
    /// The monitoring path: Prometheus with the chart's alerts.
    #[command(flatten)]
    pub monitoring: monitoring::MonitoringArgs,
}

/// The simulator settings of `config/simulator-demo.yaml`, compiled in (a test checks they are the
/// file's) so that the demo runs from any directory.
pub const SIMULATOR_CONFIG: &str = include_str!("../../../../config/simulator-demo.yaml");

/// Runs the demo in a new Tokio runtime.
pub fn main(args: DemoArgs) -> anyhow::Result<()> {
    ccs_operator::runtime::telemetry::init(&ccs_operator::config::LogConfig {
        level: std::env::var("CCS_LOG_LEVEL").unwrap_or_else(|_| "error".into()),
        ..Default::default()
    });
    tokio::runtime::Runtime::new()?.block_on(demo(args))
}

async fn demo(args: DemoArgs) -> anyhow::Result<()> {
    // Read first: a wrong --manifests or --simulator-config fails before anything starts.
    let mut docs = match &args.manifests {
        Some(dir) => manifests::load(dir)?,
        None => manifests::samples()?,
    };
    let mut sim_config = match &args.simulator_config {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("--simulator-config {}: cannot read", path.display()))?;
            SimConfig::from_yaml(&text).with_context(|| format!("--simulator-config {}", path.display()))?
        }
        None => SimConfig::from_yaml(SIMULATOR_CONFIG).context("built-in simulator settings")?,
    };
    let prometheus_bin = args.monitoring.binary()?;
    std::fs::create_dir_all(&args.out).with_context(|| format!("creating {}", args.out.display()))?;
    let out = args.out.canonicalize()?;
    let kubeconfig = out.join("kubeconfig");
    let mail_dir = out.join("mail");

    let mut cluster = DevCluster::start(DevClusterConfig {
        listen: args.listen.clone(),
        ..Default::default()
    })
    .await?;
    cluster.write_kubeconfig(&kubeconfig)?;
    let client = cluster.client()?;
    install_crds(&client).await?;

    // The operator compares the portal's data time with its own clock: start the portal's now.
    sim_config.start_time = chrono::Utc::now();
    let sim = Simulator::start(sim_config).await?;

    manifests::wire_credentials(&mut docs, &sim);
    let applied = manifests::apply(&client, &docs).await?;

    let mut config = OperatorConfig::default();
    config.portal.endpoint = sim.base_url();
    // The in-process simulator speaks plain http on loopback.
    config.portal.allow_insecure_default();
    // Known before the operator starts: the guide and Prometheus name it.
    let metrics_addr = monitoring::free_loopback_addr()?;
    config.server.listen = metrics_addr.to_string();
    config.leader_election.enabled = false;
    // Known before the operator starts, so the guide can print it.
    let web = free_address(&args.web_listen)?;
    config.web.listen = Some(web.to_string());
    config.web.auth = Some(ccs_operator::config::WebAuth::None);
    for c in [
        &mut config.controllers.cloud_contract,
        &mut config.controllers.portal_user,
        &mut config.controllers.budget_alert,
        &mut config.controllers.service_order,
    ] {
        c.poll_interval = Duration::from_secs(5);
    }
    match &args.smtp {
        Some(server) => {
            let (host, port) = server.rsplit_once(':').context("--smtp takes host:port")?;
            config.smtp.host = host.into();
            config.smtp.port = port.parse().context("--smtp port")?;
            config.smtp.from = "ccs-operator demo <ccs-operator@demo.example>".into();
        }
        None => {
            std::fs::create_dir_all(&mail_dir)?;
            config.smtp.mail_dir = Some(mail_dir.clone());
        }
    }

    let monitoring = monitoring::Monitoring::start(
        &args.monitoring,
        prometheus_bin,
        metrics_addr,
        &out.join("prometheus"),
    )
    .await?;
    print_guide(&kubeconfig, &mail_dir, applied, &sim, args.smtp.is_some());
    println!("\nStatus page (phone-friendly): http://{web}/\n");
    monitoring.print_guide();
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let operator = {
        let mut rx = stop_rx.clone();
        tokio::spawn(run(config, KubeSource::Client(client.clone()), async move {
            let _ = rx.wait_for(|s| *s).await;
        }))
    };

    let stop = async {
        match args.duration {
            Some(d) => tokio::time::sleep(d).await,
            None => ccs_operator::runtime::cli::termination().await,
        }
    };
    tokio::pin!(stop);
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    let mut announced = false;
    loop {
        tokio::select! {
            _ = &mut stop => break,
            _ = tick.tick() => {
                let p = progress::read(&client, args.smtp.is_none().then_some(mail_dir.as_path()), 0).await;
                let sim_time = sim.now().format("%Y-%m-%d %H:%M").to_string();
                print!("\r{}{}   ", p.line(&sim_time), monitoring.summary().await);
                if p.all_ready() && p.emails > 0 && !announced {
                    announced = true;
                    println!("\nevery sample is Ready and a budget email was written; Ctrl-C to stop");
                }
                let _ = std::io::stdout().flush();
            }
        }
    }
    println!("\nstopping...");
    let _ = stop_tx.send(true);
    let _ = tokio::time::timeout(Duration::from_secs(10), operator).await;
    monitoring.stop().await;
    cluster.shutdown().await;
    println!("stopped; the emails stay in {}", mail_dir.display());
    Ok(())
}

/// `listen` with port 0 replaced by a port free now.
fn free_address(listen: &str) -> anyhow::Result<std::net::SocketAddr> {
    let listener = std::net::TcpListener::bind(listen).with_context(|| format!("--web-listen {listen}"))?;
    Ok(listener.local_addr()?)
}

async fn install_crds(client: &kube::Client) -> anyhow::Result<()> {
    use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
    use kube::api::{Api, Patch, PatchParams};
    let api: Api<CustomResourceDefinition> = Api::all(client.clone());
    for crd in ccs_api::all_crds() {
        let name = crd.metadata.name.clone().unwrap_or_default();
        api.patch(
            &name,
            &PatchParams::apply("ccs-operator-demo").force(),
            &Patch::Apply(&crd),
        )
        .await?;
        kube::runtime::wait::await_condition(
            api.clone(),
            &name,
            kube::runtime::wait::conditions::is_crd_established(),
        )
        .await?;
    }
    Ok(())
}

fn print_guide(
    kubeconfig: &std::path::Path,
    mail_dir: &std::path::Path,
    applied: usize,
    sim: &Simulator,
    smtp: bool,
) {
    let k = kubeconfig.display();
    println!("ccs-operator demo: an in-process Kubernetes API server (development tool), the Customer Space");
    println!(
        "simulator at {} (a month passes in about two minutes), and the operator.",
        sim.base_url()
    );
    println!("{applied} manifests applied. In another terminal:\n");
    println!("  export KUBECONFIG={k}");
    println!("  kubectl get customerspace");
    println!("  kubectl get ccontract,budget,puser,sorder");
    println!("  kubectl describe ccontract acme-prod");
    println!("  kubectl get budget acme-prod-monthly -o yaml");
    println!("  kubectl wait --for=condition=Ready ccontract,budget,puser,sorder --all --timeout=60s");
    println!("  kubectl explain portaluser.spec.access");
    if smtp {
        println!("\nEmails go to the SMTP server given with --smtp.");
    } else {
        println!("\nEmails are written as .eml files to {}", mail_dir.display());
    }
    println!(
        "(kubectl here may need a fresh cache: add --cache-dir \"$(mktemp -d)\" if it picks a wrong version)\n"
    );
}
