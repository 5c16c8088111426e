//! Flags of `ccs-operator run`; they override the configuration file and the environment.

use super::{KubeSource, run};
use crate::config::{LogFormat, OperatorConfig, SmtpTls, WebAuth};
use std::path::PathBuf;

/// Flags of the `run` subcommand.
#[derive(clap::Args, Debug, Default)]
pub struct RunArgs {
    /// Configuration file (every key documented in config/ccs-operator.yaml).
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// Kubeconfig file; default: KUBECONFIG, ~/.kube/config, or the in-cluster service account.
    #[arg(long)]
    pub kubeconfig: Option<PathBuf>,
    /// Customer Space API base URL (portal.endpoint).
    #[arg(long)]
    pub portal_endpoint: Option<String>,
    /// Allow plain http to the portal endpoint (a simulator, tests, a demo; never production).
    #[arg(long)]
    pub portal_allow_insecure: bool,
    /// Namespaces to watch, comma-separated; default all.
    #[arg(long, value_delimiter = ',')]
    pub namespaces: Vec<String>,
    /// Address of /metrics, /healthz, /readyz (server.listen); port 0 picks a free port.
    #[arg(long)]
    pub metrics_listen: Option<String>,
    /// Leader election on a Lease (leaderElection.enabled).
    #[arg(long)]
    pub leader_election: Option<bool>,
    /// SMTP host (smtp.host).
    #[arg(long)]
    pub smtp_host: Option<String>,
    /// SMTP port (smtp.port).
    #[arg(long)]
    pub smtp_port: Option<u16>,
    /// SMTP TLS mode: implicit, starttls or none (smtp.tls).
    #[arg(long)]
    pub smtp_tls: Option<String>,
    /// Write emails as .eml files in this directory instead of sending them (smtp.mailDir).
    #[arg(long)]
    pub mail_dir: Option<PathBuf>,
    /// Poll interval of every kind, such as 30s (controllers.*.pollInterval).
    #[arg(long, value_parser = humantime::parse_duration)]
    pub poll_interval: Option<std::time::Duration>,
    /// Log format: text or json (log.format).
    #[arg(long)]
    pub log_format: Option<String>,
    /// Log filter such as info or ccs_operator=debug (log.level).
    #[arg(long)]
    pub log_level: Option<String>,
    /// Address of the status page (web.listen); port 0 picks a free port. Default: no page.
    #[arg(long)]
    pub web_listen: Option<String>,
    /// Status page access control: proxy or none (web.auth).
    #[arg(long)]
    pub web_auth: Option<String>,
}

impl RunArgs {
    /// The configuration: file, then `CCS_*` environment variables, then these flags.
    pub fn resolve(&self, env: impl IntoIterator<Item = (String, String)>) -> anyhow::Result<OperatorConfig> {
        let mut config = match &self.config {
            Some(path) => OperatorConfig::from_file(path)?,
            None => OperatorConfig::default(),
        };
        config.apply_env(env)?;
        if let Some(v) = &self.portal_endpoint {
            config.portal.endpoint = v.clone();
        }
        if self.portal_allow_insecure {
            config.portal.allow_insecure_default();
        }
        if !self.namespaces.is_empty() {
            config.namespaces = self.namespaces.clone();
        }
        if let Some(v) = &self.metrics_listen {
            config.server.listen = v.clone();
        }
        if let Some(v) = self.leader_election {
            config.leader_election.enabled = v;
        }
        if let Some(v) = &self.smtp_host {
            config.smtp.host = v.clone();
        }
        if let Some(v) = self.smtp_port {
            config.smtp.port = v;
        }
        if let Some(v) = &self.smtp_tls {
            config.smtp.tls = match v.as_str() {
                "implicit" => SmtpTls::Implicit,
                "starttls" => SmtpTls::Starttls,
                "none" => SmtpTls::None,
                other => anyhow::bail!("--smtp-tls {other}: use implicit, starttls or none"),
            };
        }
        if let Some(v) = &self.mail_dir {
            config.smtp.mail_dir = Some(v.clone());
        }
        if let Some(every) = self.poll_interval {
            let c = &mut config.controllers;
            for kind in [
                &mut c.cloud_contract,
                &mut c.portal_user,
                &mut c.budget_alert,
                &mut c.service_order,
                &mut c.console_access,
                &mut c.billing_export,
            ] {
                kind.poll_interval = every;
            }
        }
        if let Some(v) = &self.log_format {
            config.log.format = match v.as_str() {
                "text" => LogFormat::Text,
                "json" => LogFormat::Json,
                other => anyhow::bail!("--log-format {other}: use text or json"),
            };
        }
        if let Some(v) = &self.log_level {
            config.log.level = v.clone();
        }
        if let Some(v) = &self.web_listen {
            config.web.listen = Some(v.clone());
        }
        if let Some(v) = &self.web_auth {
            config.web.auth = Some(match v.as_str() {
                "proxy" => WebAuth::Proxy,
                "none" => WebAuth::None,
                other => anyhow::bail!("--web-auth {other}: use proxy or none"),
            });
        }
        config.validate()?;
        Ok(config)
    }
}

/// Resolves when the process receives SIGTERM or SIGINT.
pub async fn termination() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(term) => term,
            Err(_) => return std::future::pending().await,
        };
        tokio::select! { _ = ctrl_c => {}, _ = term.recv() => {} }
    }
    #[cfg(not(unix))]
    let _ = ctrl_c.await;
}

/// Runs the operator in a new Tokio runtime until SIGTERM or Ctrl-C.
pub fn main(args: RunArgs) -> anyhow::Result<()> {
    let config = args.resolve(std::env::vars())?;
    super::telemetry::init(&config.log);
    let source = args.kubeconfig.clone().map(KubeSource::File).unwrap_or_default();
    let runtime = tokio::runtime::Runtime::new()?;
    let result = runtime.block_on(run(config, source, termination()));
    // Whatever still runs (a hung call) must not delay the exit, above all a failure exit.
    runtime.shutdown_timeout(std::time::Duration::from_secs(5));
    result
}
