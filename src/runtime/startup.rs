//! Start-up checks and their messages: each says in one line what is wrong and what to do, with
//! the root cause only (never the whole chain of wrapped errors).
//!
//! - No kubeconfig and not in a cluster, an unreadable kubeconfig, an unreachable API server:
//!   fatal (the operator can do nothing).
//! - A missing CRD or RBAC rule: fatal (see `preflight`).
//! - The SMTP server refusing (connection, TLS or credentials): fatal when `smtp.host` is set; a
//!   wrong host, port, TLS mode or password would otherwise only show later as `NotificationFailed`
//!   on every BudgetAlert. An outage at that very moment makes Kubernetes restart the operator with
//!   back-off until the server answers; once running, outages are retried and reported per object.
//! - The portal endpoint unreachable: a warning only. It is the default of CloudContracts that
//!   name no `spec.endpoint`, others may name their own, and a portal outage is reported on each
//!   contract's conditions and retried; stopping would halt the contracts that do work.

use super::KubeSource;
use std::error::Error as StdError;
use std::time::Duration;

/// The innermost cause of `err`: what actually went wrong, without the wrapping messages.
pub fn root_cause(err: &(dyn StdError + 'static)) -> String {
    let mut cause = err;
    while let Some(next) = cause.source() {
        cause = next;
    }
    // Some causes quote the offending input over several lines: the first says what is wrong.
    cause
        .to_string()
        .lines()
        .next()
        .unwrap_or_default()
        .trim()
        .to_string()
}

/// Why no kube client configuration could be loaded from `source`, and what to do.
pub fn kube_config_error(source: &KubeSource, err: &(dyn StdError + 'static)) -> anyhow::Error {
    const FIX: &str = "pass --kubeconfig FILE or set KUBECONFIG, or run the operator in a cluster";
    let cause = root_cause(err);
    match source {
        KubeSource::File(path) if !path.exists() => {
            anyhow::anyhow!(
                "--kubeconfig {}: no such file: name an existing kubeconfig file",
                path.display()
            )
        }
        KubeSource::File(path) => {
            anyhow::anyhow!(
                "--kubeconfig {}: {cause}: fix or replace that kubeconfig",
                path.display()
            )
        }
        _ => {
            let in_cluster = std::env::var_os("KUBERNETES_SERVICE_HOST").is_some();
            let kubeconfig = std::env::var_os("KUBECONFIG").filter(|v| !v.is_empty());
            let default = std::env::var_os("HOME").map(|h| std::path::Path::new(&h).join(".kube/config"));
            match (kubeconfig, in_cluster) {
                (Some(paths), false) => {
                    let missing: Vec<_> = std::env::split_paths(&paths).filter(|p| !p.exists()).collect();
                    if missing.is_empty() {
                        anyhow::anyhow!(
                            "KUBECONFIG={}: {cause}: fix that kubeconfig or point KUBECONFIG at another",
                            paths.to_string_lossy()
                        )
                    } else {
                        anyhow::anyhow!(
                            "no kubeconfig and not running in a cluster: KUBECONFIG names {}, which does not exist: {FIX}",
                            missing
                                .iter()
                                .map(|p| p.display().to_string())
                                .collect::<Vec<_>>()
                                .join(", ")
                        )
                    }
                }
                (None, false) if default.as_ref().is_none_or(|d| !d.exists()) => anyhow::anyhow!(
                    "no kubeconfig and not running in a cluster: KUBECONFIG is unset and {} does not exist: {FIX}",
                    default.map_or_else(|| "~/.kube/config".into(), |d| d.display().to_string())
                ),
                (_, true) => anyhow::anyhow!(
                    "cannot use the in-cluster service account: {cause}: check the pod's service account token mount"
                ),
                _ => anyhow::anyhow!("cannot load the kubeconfig: {cause}: {FIX}"),
            }
        }
    }
}

/// Warns, in one line, when nothing accepts a TCP connection at the default portal endpoint.
/// Never fatal (see the module documentation).
pub async fn check_portal(endpoint: String, timeout: Duration) {
    let Ok(url) = url::Url::parse(&endpoint) else {
        return;
    };
    let (Some(host), Some(port)) = (url.host_str(), url.port_or_known_default()) else {
        return;
    };
    let host = host.trim_start_matches('[').trim_end_matches(']').to_string();
    let failure =
        match tokio::time::timeout(timeout, tokio::net::TcpStream::connect((host.as_str(), port))).await {
            Ok(Ok(_)) => return,
            Ok(Err(e)) => root_cause(&e),
            Err(_) => format!("no answer within {}", humantime::format_duration(timeout)),
        };
    tracing::warn!(
        "the portal endpoint {endpoint} is unreachable ({failure}); continuing: contracts using it stay Ready=False (Unavailable) until it answers. Check portal.endpoint (--portal-endpoint) and the network policy"
    );
}

/// Fails, in one line, when the configured SMTP server refuses the connection, TLS or login.
pub async fn check_smtp(
    mailer: &crate::email::LettreMailer,
    smtp: &crate::config::SmtpConfig,
) -> anyhow::Result<()> {
    let checked = tokio::time::timeout(Duration::from_secs(15), mailer.check_server()).await;
    let cause = match checked {
        Ok(Ok(())) => return Ok(()),
        Ok(Err(cause)) => cause,
        Err(_) => "no answer within 15s".into(),
    };
    anyhow::bail!(
        "the SMTP server {}:{} refused ({cause}): check smtp.host, smtp.port, smtp.tls and the credentials, or leave smtp.host empty to write .eml files to smtp.mailDir",
        smtp.host,
        smtp.port
    )
}
