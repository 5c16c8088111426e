//! Operator configuration: a YAML file (`config/ccs-operator.yaml` documents every key), then
//! environment variables, then command-line flags, each overriding the one before.

use anyhow::Context;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// The whole configuration.
#[derive(Clone, Debug, Default, Deserialize, Serialize, PartialEq)]
#[serde(rename_all = "camelCase", default, deny_unknown_fields)]
pub struct OperatorConfig {
    /// Customer Space API settings.
    pub portal: PortalConfig,
    /// Namespaces to watch; empty means all namespaces.
    pub namespaces: Vec<String>,
    /// Per-kind controller settings.
    pub controllers: ControllersConfig,
    /// Outgoing email.
    pub smtp: SmtpConfig,
    /// Metrics and health endpoints.
    pub server: ServerConfig,
    /// Leader election between replicas.
    pub leader_election: LeaderElectionConfig,
    /// Technical consoles (ConsoleAccess): which identity endpoints may be called.
    pub console: crate::console::ConsoleConfig,
    /// Logging.
    pub log: LogConfig,
    /// The status page (off unless `web.listen` is set).
    pub web: WebConfig,
    /// BillingExport destinations and downloads.
    pub billing: crate::billing::BillingConfig,
}

/// Customer Space API settings.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
#[serde(rename_all = "camelCase", default, deny_unknown_fields)]
pub struct PortalConfig {
    /// Base URL of the Customer Space API, used when a CloudContract sets no `spec.endpoint`.
    /// Always allowed; `http` only when an `allowedEndpoints` entry for it says `allowInsecure`.
    pub endpoint: String,
    /// Other base URLs a CloudContract's `spec.endpoint` may name (the default endpoint is always
    /// allowed). Any other endpoint is refused with `EndpointNotAllowed` and nothing is sent.
    pub allowed_endpoints: Vec<AllowedEndpoint>,
    /// Extra PEM CA bundle trusted for the portal, on top of the system roots.
    pub ca_bundle: Option<PathBuf>,
    /// TCP connect timeout.
    #[serde(with = "humantime_serde")]
    pub connect_timeout: Duration,
    /// Whole-request timeout.
    #[serde(with = "humantime_serde")]
    pub request_timeout: Duration,
    /// Shared token bucket in front of every portal call.
    pub rate_limit: RateLimit,
    /// Tighter limits for named operations (such as `submitRequest`), on top of the shared one.
    pub operation_rate_limits: std::collections::BTreeMap<String, RateLimit>,
    /// Portal calls on the wire at once, for every controller together (the concurrency the
    /// portal allows this client). Reconciles beyond it wait for a slot.
    pub max_concurrent_calls: usize,
    /// Largest portal answer read, in bytes; a larger one fails with `ResponseTooLarge`.
    pub max_response_bytes: u64,
}

/// A portal endpoint the operator may call.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AllowedEndpoint {
    /// Base URL (scheme, host, port, optional path), such as `https://portal.example`.
    pub url: String,
    /// Allow plain `http` to this endpoint (the simulator, tests, the demo); default https only.
    #[serde(default)]
    pub allow_insecure: bool,
}

impl Default for PortalConfig {
    fn default() -> Self {
        Self {
            endpoint: "https://127.0.0.1:8443".into(),
            allowed_endpoints: Vec::new(),
            ca_bundle: None,
            connect_timeout: Duration::from_secs(5),
            request_timeout: Duration::from_secs(30),
            rate_limit: RateLimit {
                requests_per_second: 20.0,
                burst: 40,
            },
            operation_rate_limits: Default::default(),
            max_concurrent_calls: 16,
            max_response_bytes: 8 * 1024 * 1024,
        }
    }
}

/// A token bucket.
#[derive(Clone, Copy, Debug, Deserialize, Serialize, PartialEq)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RateLimit {
    /// Sustained calls per second.
    pub requests_per_second: f64,
    /// Calls allowed in a burst.
    pub burst: u32,
}

/// Settings of every controller.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
#[serde(rename_all = "camelCase", default, deny_unknown_fields)]
pub struct ControllersConfig {
    /// CloudContract controller.
    pub cloud_contract: ControllerConfig,
    /// PortalUser controller.
    pub portal_user: ControllerConfig,
    /// BudgetAlert controller.
    pub budget_alert: ControllerConfig,
    /// ServiceOrder controller.
    pub service_order: ControllerConfig,
    /// ConsoleAccess controller.
    pub console_access: ControllerConfig,
    /// BillingExport controller.
    pub billing_export: ControllerConfig,
    /// PortalUsers and BudgetAlerts: a poll that changes nothing but the time of the last sync
    /// writes no status while that time is younger than this (default 30m; `0s` writes every poll).
    /// At scale, unchanged objects then cost no API write per poll.
    #[serde(with = "humantime_serde")]
    pub status_heartbeat: Duration,
}

impl Default for ControllersConfig {
    fn default() -> Self {
        let every = |secs| ControllerConfig {
            concurrency: 4,
            poll_interval: Duration::from_secs(secs),
            max_incident_emails_per_reconcile: None,
        };
        Self {
            cloud_contract: every(300),
            portal_user: every(600),
            budget_alert: every(300),
            service_order: every(60),
            console_access: every(300),
            billing_export: every(600),
            status_heartbeat: Duration::from_secs(1800),
        }
    }
}

/// Settings of one controller.
#[derive(Clone, Copy, Debug, Deserialize, Serialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ControllerConfig {
    /// Objects reconciled at the same time.
    pub concurrency: u16,
    /// Default resync interval (jittered); `customerspace.io/poll-interval` overrides it per object.
    #[serde(with = "humantime_serde")]
    pub poll_interval: Duration,
    /// CloudContract only: most incident emails one reconcile sends (default 10). Past it, the
    /// last of them summarises every other incident change in one email.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_incident_emails_per_reconcile: Option<u16>,
}

/// Default of `controllers.cloudContract.maxIncidentEmailsPerReconcile`.
pub const DEFAULT_MAX_INCIDENT_EMAILS: usize = 10;

impl ControllerConfig {
    /// Most incident emails per reconcile (CloudContract).
    pub fn max_incident_emails(&self) -> usize {
        self.max_incident_emails_per_reconcile
            .map_or(DEFAULT_MAX_INCIDENT_EMAILS, usize::from)
            .max(1)
    }
}

/// How email leaves the operator.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase", default, deny_unknown_fields)]
pub struct SmtpConfig {
    /// SMTP server host. Empty disables SMTP (emails go to `mailDir` if set, else nowhere).
    pub host: String,
    /// SMTP server port.
    pub port: u16,
    /// `implicit` (SMTPS), `starttls`, or `none` (local sinks only).
    pub tls: SmtpTls,
    /// SMTP user name, if the server wants authentication.
    pub username: Option<String>,
    /// File holding the SMTP password (a mounted Secret); `CCS_SMTP_PASSWORD` overrides it.
    pub password_file: Option<PathBuf>,
    /// Sender address.
    pub from: String,
    /// Write each email as an `.eml` file in this directory instead of sending it.
    pub mail_dir: Option<PathBuf>,
    /// Domains recipients may belong to (subdomains included); empty allows any domain (the
    /// operator warns at start). Others are refused with a condition naming the setting.
    pub allowed_recipient_domains: Vec<String>,
    /// Emails per namespace and period; more are held and sent in order as the limit allows.
    pub email_rate_limit: EmailRateLimit,
}

/// The per-namespace email limit (`smtp.emailRateLimit`).
#[derive(Clone, Copy, Debug, Deserialize, Serialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase", default, deny_unknown_fields)]
pub struct EmailRateLimit {
    /// Emails one namespace may send per `period` (all at once, or spread); 0 disables the limit.
    pub per_namespace: u32,
    /// The period (1s..24h).
    #[serde(with = "humantime_serde")]
    pub period: Duration,
}

impl Default for EmailRateLimit {
    fn default() -> Self {
        Self {
            per_namespace: 100,
            period: Duration::from_secs(3600),
        }
    }
}

impl Default for SmtpConfig {
    fn default() -> Self {
        Self {
            host: String::new(),
            port: 25,
            tls: SmtpTls::None,
            username: None,
            password_file: None,
            from: "ccs-operator <ccs-operator@localhost>".into(),
            mail_dir: None,
            allowed_recipient_domains: Vec::new(),
            email_rate_limit: EmailRateLimit::default(),
        }
    }
}

/// TLS mode of the SMTP connection.
#[derive(Clone, Copy, Debug, Default, Deserialize, Serialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum SmtpTls {
    /// TLS from the first byte (port 465).
    Implicit,
    /// Plain connection upgraded with STARTTLS (port 587).
    Starttls,
    /// No TLS: local sinks only.
    #[default]
    None,
}

/// Metrics and health endpoints.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase", default, deny_unknown_fields)]
pub struct ServerConfig {
    /// Address serving `/metrics`, `/healthz` and `/readyz`.
    pub listen: String,
}

impl Default for ServerConfig {
    fn default() -> Self {
        Self {
            listen: "0.0.0.0:8080".into(),
        }
    }
}

/// The status page: contracts, weather, budgets, requests and the catalog, read from the
/// operator's caches.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase", default, deny_unknown_fields)]
pub struct WebConfig {
    /// Address of the status page, such as `0.0.0.0:8081`; unset (the default) serves none.
    pub listen: Option<String>,
    /// Who may see what: `proxy` (an authenticating reverse proxy names the person; each
    /// namespace shown only when a SubjectAccessReview allows `list cloudcontracts` there) or
    /// `none` (everyone sees everything: only behind `kubectl port-forward`). Required with `listen`.
    pub auth: Option<WebAuth>,
    /// Header holding the user name set by the proxy (only read in `proxy` mode).
    pub user_header: String,
    /// Header holding the user's groups, comma-separated (only read in `proxy` mode).
    pub groups_header: String,
    /// How long a SubjectAccessReview answer is reused.
    #[serde(with = "humantime_serde")]
    pub access_review_ttl: Duration,
}

impl Default for WebConfig {
    fn default() -> Self {
        Self {
            listen: None,
            auth: None,
            user_header: "X-Forwarded-User".into(),
            groups_header: "X-Forwarded-Groups".into(),
            access_review_ttl: Duration::from_secs(30),
        }
    }
}

/// Access control of the status page.
#[derive(Clone, Copy, Debug, Deserialize, Serialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum WebAuth {
    /// Everyone who reaches the page sees every contract.
    None,
    /// Identity from trusted headers set by an authenticating reverse proxy, checked by
    /// SubjectAccessReviews.
    Proxy,
}

/// Leader election on a `coordination.k8s.io/v1` Lease.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase", default, deny_unknown_fields)]
pub struct LeaderElectionConfig {
    /// Elect a leader; disable only with a single replica.
    pub enabled: bool,
    /// Name of the Lease.
    pub lease_name: String,
    /// Namespace of the Lease; defaults to `POD_NAMESPACE`, then `default`.
    pub lease_namespace: Option<String>,
    /// How long a lease lasts without renewal; a standby takes over within this time.
    #[serde(with = "humantime_serde")]
    pub lease_duration: Duration,
}

impl Default for LeaderElectionConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            lease_name: "ccs-operator".into(),
            lease_namespace: None,
            lease_duration: Duration::from_secs(15),
        }
    }
}

/// Logging.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase", default, deny_unknown_fields)]
pub struct LogConfig {
    /// `text` or `json`.
    pub format: LogFormat,
    /// A tracing filter such as `info` or `ccs_operator=debug,info`.
    pub level: String,
}

impl Default for LogConfig {
    fn default() -> Self {
        Self {
            format: LogFormat::Text,
            level: "info".into(),
        }
    }
}

/// Log line format.
#[derive(Clone, Copy, Debug, Default, Deserialize, Serialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// Human-readable lines.
    #[default]
    Text,
    /// One JSON object per line.
    Json,
}

impl PortalConfig {
    /// The portal client's settings.
    pub fn client_config(&self) -> crate::portal::ClientConfig {
        let limit = |l: &RateLimit| crate::portal::RateLimit {
            per_second: l.requests_per_second,
            burst: l.burst.max(1),
        };
        crate::portal::ClientConfig {
            connect_timeout: self.connect_timeout,
            request_timeout: self.request_timeout,
            rate_limit: Some(limit(&self.rate_limit)),
            operation_limits: self
                .operation_rate_limits
                .iter()
                .map(|(k, v)| {
                    let op = crate::portal::operation_name(k).unwrap_or_default();
                    (op.to_string(), limit(v))
                })
                .collect(),
            extra_ca_bundle: self.ca_bundle.clone(),
            max_concurrent_calls: Some(self.max_concurrent_calls),
            allow_http: self.endpoint_policy().is_ok_and(|p| p.any_insecure()),
            max_response_bytes: self.max_response_bytes,
            ..Default::default()
        }
    }

    /// The endpoint allowlist: `endpoint` plus `allowedEndpoints`, each https unless marked
    /// `allowInsecure`. An error names the key and the fix.
    pub fn endpoint_policy(&self) -> anyhow::Result<crate::portal::EndpointPolicy> {
        let entries = std::iter::once((self.endpoint.clone(), false)).chain(
            self.allowed_endpoints
                .iter()
                .map(|a| (a.url.clone(), a.allow_insecure)),
        );
        crate::portal::EndpointPolicy::new(entries)
            .map_err(|e| anyhow::anyhow!("portal.endpoint/portal.allowedEndpoints: {e}"))
    }

    /// Marks the default endpoint as allowed over plain http (`--portal-allow-insecure`).
    pub fn allow_insecure_default(&mut self) {
        self.allowed_endpoints.push(AllowedEndpoint {
            url: self.endpoint.clone(),
            allow_insecure: true,
        });
    }
}

impl OperatorConfig {
    /// Reads a YAML configuration file; keys left out keep their defaults.
    pub fn from_file(path: &Path) -> anyhow::Result<Self> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| anyhow::anyhow!("cannot read the configuration file {}: {e}", path.display()))?;
        serde_saphyr::from_str(&text)
            .map_err(|e| anyhow::anyhow!("{}: {}", path.display(), parse_error(&text, &e.to_string())))
    }

    /// Applies `CCS_*` environment variables from `vars` (normally `std::env::vars()`).
    pub fn apply_env(&mut self, vars: impl IntoIterator<Item = (String, String)>) -> anyhow::Result<()> {
        for (key, value) in vars {
            let parse_duration =
                |v: &str| humantime::parse_duration(v).with_context(|| format!("{key}: not a duration: {v}"));
            match key.as_str() {
                "CCS_PORTAL_ENDPOINT" => self.portal.endpoint = value,
                "CCS_PORTAL_CA_BUNDLE" => self.portal.ca_bundle = Some(value.into()),
                "CCS_NAMESPACES" => {
                    self.namespaces = value
                        .split(',')
                        .map(str::trim)
                        .filter(|s| !s.is_empty())
                        .map(Into::into)
                        .collect()
                }
                "CCS_SMTP_HOST" => self.smtp.host = value,
                "CCS_SMTP_PORT" => {
                    self.smtp.port = value.parse().with_context(|| format!("{key}: not a port"))?
                }
                "CCS_SMTP_USERNAME" => self.smtp.username = Some(value),
                "CCS_SMTP_PASSWORD_FILE" => self.smtp.password_file = Some(value.into()),
                "CCS_SMTP_FROM" => self.smtp.from = value,
                "CCS_MAIL_DIR" => self.smtp.mail_dir = Some(value.into()),
                "CCS_METRICS_LISTEN" => self.server.listen = value,
                "CCS_LEADER_ELECTION" => self.leader_election.enabled = value != "false",
                "CCS_LEASE_DURATION" => self.leader_election.lease_duration = parse_duration(&value)?,
                "CCS_LOG_FORMAT" => {
                    self.log.format =
                        serde_saphyr::from_str(&value).with_context(|| format!("{key}: text or json"))?
                }
                "CCS_LOG_LEVEL" => self.log.level = value,
                "CCS_WEB_LISTEN" => self.web.listen = Some(value),
                "CCS_WEB_AUTH" => {
                    self.web.auth = Some(
                        serde_saphyr::from_str(&value).with_context(|| format!("{key}: proxy or none"))?,
                    )
                }
                _ => {}
            }
        }
        Ok(())
    }

    /// Checks values that parse but cannot work.
    pub fn validate(&self) -> anyhow::Result<()> {
        let controllers = &self.controllers;
        for (name, c) in [
            ("cloudContract", controllers.cloud_contract),
            ("portalUser", controllers.portal_user),
            ("budgetAlert", controllers.budget_alert),
            ("serviceOrder", controllers.service_order),
            ("consoleAccess", controllers.console_access),
            ("billingExport", controllers.billing_export),
        ] {
            anyhow::ensure!(
                c.concurrency > 0,
                "controllers.{name}.concurrency must be at least 1"
            );
            anyhow::ensure!(
                c.poll_interval >= Duration::from_secs(1)
                    && c.poll_interval <= Duration::from_secs(24 * 3600),
                "controllers.{name}.pollInterval must be between 1s and 24h"
            );
            anyhow::ensure!(
                name == "cloudContract" || c.max_incident_emails_per_reconcile.is_none(),
                "controllers.{name}.maxIncidentEmailsPerReconcile: only controllers.cloudContract sends incident emails"
            );
        }
        anyhow::ensure!(
            controllers.cloud_contract.max_incident_emails_per_reconcile != Some(0),
            "controllers.cloudContract.maxIncidentEmailsPerReconcile must be at least 1 (the summary email)"
        );
        anyhow::ensure!(
            self.portal.max_concurrent_calls > 0,
            "portal.maxConcurrentCalls must be at least 1"
        );
        let min_rate = crate::portal::MIN_RATE_PER_SECOND;
        for (name, limit) in std::iter::once(("portal.rateLimit".to_string(), &self.portal.rate_limit)).chain(
            self.portal
                .operation_rate_limits
                .iter()
                .map(|(op, l)| (format!("portal.operationRateLimits.{op}"), l)),
        ) {
            anyhow::ensure!(
                limit.requests_per_second.is_finite() && limit.requests_per_second >= min_rate,
                "{name}.requestsPerSecond must be at least {min_rate} (one call every 1000s), got {}",
                limit.requests_per_second
            );
            anyhow::ensure!(limit.burst >= 1, "{name}.burst must be at least 1");
        }
        anyhow::ensure!(
            self.portal.max_response_bytes >= 1024,
            "portal.maxResponseBytes must be at least 1024"
        );
        self.portal.endpoint_policy()?;
        self.billing.validate()?;
        anyhow::ensure!(
            self.smtp.username.is_none() || self.smtp.tls != SmtpTls::None,
            "smtp.username is set but smtp.tls is none: the password would cross the network in clear text; set smtp.tls to starttls (port 587) or implicit (port 465), or remove smtp.username"
        );
        for op in self.portal.operation_rate_limits.keys() {
            crate::portal::operation_name(op)
                .map_err(|e| anyhow::anyhow!("portal.operationRateLimits: {e}"))?;
        }
        let email_limit = self.smtp.email_rate_limit;
        anyhow::ensure!(
            email_limit.period >= Duration::from_secs(1)
                && email_limit.period <= Duration::from_secs(24 * 3600),
            "smtp.emailRateLimit.period must be between 1s and 24h"
        );
        anyhow::ensure!(
            self.smtp.tls != SmtpTls::Implicit || !self.smtp.host.is_empty(),
            "smtp.tls is implicit but smtp.host is empty"
        );
        let web = &self.web;
        anyhow::ensure!(
            web.listen.is_none() || web.auth.is_some(),
            "web.listen is set but web.auth is not: set web.auth to proxy (behind an authenticating reverse proxy) or none (every viewer sees every contract; only behind kubectl port-forward)"
        );
        anyhow::ensure!(
            web.auth != Some(WebAuth::Proxy)
                || (is_header_name(&web.user_header) && is_header_name(&web.groups_header)),
            "web.userHeader and web.groupsHeader must be HTTP header names, got {:?} and {:?}",
            web.user_header,
            web.groups_header
        );
        anyhow::ensure!(
            web.access_review_ttl <= Duration::from_secs(600),
            "web.accessReviewTtl must be at most 10m (a revoked right must stop showing soon)"
        );
        Ok(())
    }
}

fn is_header_name(name: &str) -> bool {
    axum::http::HeaderName::from_bytes(name.as_bytes()).is_ok()
}

/// One line for a configuration parse error: an unknown key named by its full path with the closest
/// valid key, or else the parser's first line (which carries the position).
fn parse_error(text: &str, message: &str) -> String {
    let first = message
        .lines()
        .next()
        .unwrap_or_default()
        .trim_start_matches("error: ");
    // "line 2 column 3: unknown field `endpont`, expected one of endpoint, allowedEndpoints, ..."
    let parsed = (|| {
        let (position, rest) = first.split_once(": unknown field `")?;
        let line: usize = position.strip_prefix("line ")?.split(' ').next()?.parse().ok()?;
        let (key, expected) = rest.split_once("`, expected ")?;
        Some((line, key, expected.trim_start_matches("one of ")))
    })();
    let Some((line, key, expected)) = parsed else {
        return format!("{first} (every key is documented in config/ccs-operator.yaml)");
    };
    let valid: Vec<&str> = expected
        .split(',')
        .map(|k| k.trim().trim_matches('`'))
        .filter(|k| !k.is_empty())
        .collect();
    let parent = parent_keys(text, line);
    let at = |k: &str| {
        parent
            .iter()
            .map(String::as_str)
            .chain([k])
            .collect::<Vec<_>>()
            .join(".")
    };
    let closest = valid
        .iter()
        .min_by_key(|k| strsim::levenshtein(&k.to_lowercase(), &key.to_lowercase()))
        .filter(|k| strsim::levenshtein(&k.to_lowercase(), &key.to_lowercase()) <= key.len().max(3) / 2);
    match closest {
        Some(closest) => format!(
            "line {line}: unknown key {}; did you mean {}? (every key is documented in config/ccs-operator.yaml)",
            at(key),
            at(closest)
        ),
        None => format!(
            "line {line}: unknown key {}; valid keys here: {} (see config/ccs-operator.yaml)",
            at(key),
            valid.join(", ")
        ),
    }
}

/// The block-style mapping keys enclosing 1-based `line` of `text`, outermost first.
fn parent_keys(text: &str, line: usize) -> Vec<String> {
    let lines: Vec<&str> = text.lines().collect();
    let indent = |l: &str| l.len() - l.trim_start().len();
    let Some(mut limit) = lines.get(line.saturating_sub(1)).map(|l| indent(l)) else {
        return Vec::new();
    };
    let mut keys = Vec::new();
    for l in lines[..line.saturating_sub(1)].iter().rev() {
        let body = l.trim_start();
        if body.is_empty() || body.starts_with('#') || indent(l) >= limit {
            continue;
        }
        if let Some(key) = body
            .strip_suffix(':')
            .or_else(|| body.split_once(": ").map(|(k, _)| k))
        {
            keys.push(key.trim_start_matches("- ").trim().to_string());
        }
        limit = indent(l);
        if limit == 0 {
            break;
        }
    }
    keys.reverse();
    keys
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_documented_default_file_parses_to_the_defaults() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("config/ccs-operator.yaml");
        let config = OperatorConfig::from_file(&path).expect("documented config parses");
        assert_eq!(config, OperatorConfig::default());
        config.validate().expect("defaults are valid");
    }

    #[test]
    fn the_status_page_needs_an_explicit_access_mode() {
        let mut config = OperatorConfig::default();
        config.web.listen = Some("127.0.0.1:0".into());
        let err = config.validate().unwrap_err().to_string();
        assert!(
            err.contains("web.auth") && err.contains("proxy") && err.contains("none"),
            "{err}"
        );
        config
            .apply_env([("CCS_WEB_AUTH".to_string(), "proxy".to_string())])
            .expect("valid env");
        config.validate().expect("proxy mode is valid");
        config.web.user_header = "X User".into();
        assert!(
            config
                .validate()
                .unwrap_err()
                .to_string()
                .contains("web.userHeader")
        );
        assert!(
            config
                .apply_env([("CCS_WEB_AUTH".to_string(), "open".to_string())])
                .is_err()
        );
    }

    #[test]
    fn environment_overrides_the_file() {
        let mut config = OperatorConfig::default();
        config
            .apply_env([
                ("CCS_NAMESPACES".to_string(), "team-a, team-b".to_string()),
                ("CCS_LOG_FORMAT".to_string(), "json".to_string()),
                ("CCS_LEASE_DURATION".to_string(), "30s".to_string()),
                ("UNRELATED".to_string(), "x".to_string()),
            ])
            .expect("valid env");
        assert_eq!(config.namespaces, ["team-a", "team-b"]);
        assert_eq!(config.log.format, LogFormat::Json);
        assert_eq!(config.leader_election.lease_duration, Duration::from_secs(30));
        let err = config
            .apply_env([("CCS_SMTP_PORT".to_string(), "lots".to_string())])
            .unwrap_err();
        assert!(err.to_string().contains("CCS_SMTP_PORT"));
    }

    #[test]
    fn rates_and_poll_intervals_out_of_range_are_rejected_at_start() {
        let mut config = OperatorConfig::default();
        config.portal.rate_limit.requests_per_second = 1e-300;
        let err = config.validate().unwrap_err().to_string();
        assert!(err.contains("portal.rateLimit.requestsPerSecond"), "{err}");
        let mut config = OperatorConfig::default();
        config.portal.operation_rate_limits.insert(
            "submit_request".into(),
            RateLimit {
                requests_per_second: f64::NAN,
                burst: 1,
            },
        );
        let err = config.validate().unwrap_err().to_string();
        assert!(err.contains("operationRateLimits.submit_request"), "{err}");
        let mut config = OperatorConfig::default();
        config.controllers.budget_alert.poll_interval = Duration::from_secs(u64::MAX);
        let err = config.validate().unwrap_err().to_string();
        assert!(err.contains("between 1s and 24h"), "{err}");
        let mut config = OperatorConfig::default();
        config.smtp.email_rate_limit.period = Duration::ZERO;
        let err = config.validate().unwrap_err().to_string();
        assert!(err.contains("smtp.emailRateLimit.period"), "{err}");
    }

    #[test]
    fn the_email_rate_limit_reads_a_count_and_a_period() {
        let config: OperatorConfig =
            serde_saphyr::from_str("smtp:\n  emailRateLimit: {perNamespace: 3, period: 10s}\n")
                .expect("parses");
        assert_eq!(
            config.smtp.email_rate_limit,
            EmailRateLimit {
                per_namespace: 3,
                period: Duration::from_secs(10)
            }
        );
        let config: OperatorConfig =
            serde_saphyr::from_str("smtp:\n  emailRateLimit: {perNamespace: 0}\n").expect("parses");
        assert_eq!(config.smtp.email_rate_limit.period, Duration::from_secs(3600));
        config.validate().expect("0 disables the limit");
    }

    #[test]
    fn smtp_credentials_need_tls_and_operation_names_are_checked() {
        let mut config = OperatorConfig::default();
        config.smtp.host = "mail.example".into();
        config.smtp.username = Some("ops".into());
        let err = config.validate().unwrap_err().to_string();
        assert!(
            err.contains("smtp.tls is none") && err.contains("starttls"),
            "{err}"
        );
        config.smtp.tls = SmtpTls::Starttls;
        config.validate().expect("credentials over TLS");
        let limit = RateLimit {
            requests_per_second: 1.0,
            burst: 1,
        };
        config
            .portal
            .operation_rate_limits
            .insert("submitRequest".into(), limit);
        config.validate().expect("camelCase names are accepted");
        assert!(
            config
                .portal
                .client_config()
                .operation_limits
                .contains_key("submit_request")
        );
        config
            .portal
            .operation_rate_limits
            .insert("submit_requests".into(), limit);
        let err = config.validate().unwrap_err().to_string();
        assert!(
            err.contains("submit_requests") && err.contains("did you mean submit_request"),
            "{err}"
        );
    }

    #[test]
    fn plain_http_endpoints_need_allow_insecure() {
        let mut config = OperatorConfig::default();
        config.portal.endpoint = "http://127.0.0.1:8080".into();
        let err = config.validate().unwrap_err().to_string();
        assert!(err.contains("allowInsecure: true"), "{err}");
        config.portal.allow_insecure_default();
        config.validate().expect("allowed over http");
        assert!(config.portal.client_config().allow_http);
        config.portal.allowed_endpoints.push(AllowedEndpoint {
            url: "http://other:8080".into(),
            allow_insecure: false,
        });
        let err = config.validate().unwrap_err().to_string();
        assert!(
            err.contains("portal.allowedEndpoints") && err.contains("http://other:8080"),
            "{err}"
        );
        assert!(!OperatorConfig::default().portal.client_config().allow_http);
    }

    #[test]
    fn an_unknown_key_is_named_by_its_path_with_the_closest_valid_key() {
        let dir = tempfile::tempdir().expect("tempdir");
        let cases = [
            (
                "portal:\n  endpont: x\n",
                "line 2: unknown key portal.endpont; did you mean portal.endpoint?",
            ),
            (
                "smtp:\n  # the limit\n  emailRateLimit:\n    perNamespce: 3\n",
                "line 4: unknown key smtp.emailRateLimit.perNamespce; did you mean smtp.emailRateLimit.perNamespace?",
            ),
            (
                "portl:\n  endpoint: x\n",
                "line 1: unknown key portl; did you mean portal?",
            ),
            (
                "zzzzzz: 1\n",
                "line 1: unknown key zzzzzz; valid keys here: portal, namespaces",
            ),
        ];
        for (yaml, expected) in cases {
            let path = dir.path().join("c.yaml");
            std::fs::write(&path, yaml).expect("write");
            let err = OperatorConfig::from_file(&path).unwrap_err().to_string();
            assert!(err.contains(expected), "{err}");
            assert_eq!(err.lines().count(), 1, "{err}");
        }
    }

    #[test]
    fn unknown_keys_and_bad_values_are_rejected_with_their_name() {
        let err = serde_saphyr::from_str::<OperatorConfig>("portal:\n  endpont: x\n").unwrap_err();
        assert!(format!("{err}").contains("endpont"), "{err}");
        let mut config = OperatorConfig::default();
        config.controllers.budget_alert.concurrency = 0;
        assert!(
            config
                .validate()
                .unwrap_err()
                .to_string()
                .contains("controllers.budgetAlert.concurrency")
        );
    }

    #[test]
    fn the_incident_email_limit_is_a_cloud_contract_setting_of_at_least_one() {
        let config: OperatorConfig = serde_saphyr::from_str(
            "controllers:\n  cloudContract: {concurrency: 2, pollInterval: 1m, maxIncidentEmailsPerReconcile: 3}\n",
        )
        .expect("parses");
        config.validate().expect("valid");
        assert_eq!(config.controllers.cloud_contract.max_incident_emails(), 3);
        assert_eq!(
            OperatorConfig::default()
                .controllers
                .cloud_contract
                .max_incident_emails(),
            DEFAULT_MAX_INCIDENT_EMAILS
        );
        let mut zero = config.clone();
        zero.controllers.cloud_contract.max_incident_emails_per_reconcile = Some(0);
        assert!(zero.validate().unwrap_err().to_string().contains("at least 1"));
        let mut elsewhere = config;
        elsewhere
            .controllers
            .budget_alert
            .max_incident_emails_per_reconcile = Some(3);
        let err = elsewhere.validate().unwrap_err().to_string();
        assert!(
            err.contains("controllers.budgetAlert.maxIncidentEmailsPerReconcile"),
            "{err}"
        );
    }
}
