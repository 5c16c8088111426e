//! Outgoing email: composed in English or French, sent over SMTP with lettre (or written as `.eml`
//! files for the demo), with a deterministic Message-ID so mail systems can drop duplicates.

pub mod guard;
pub mod once;
pub mod templates;

use crate::config::{SmtpConfig, SmtpTls};
use futures::future::BoxFuture;
use lettre::message::{Mailbox, MultiPart, header::ContentType};
use lettre::transport::smtp::authentication::Credentials;
use lettre::{AsyncFileTransport, AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use std::path::PathBuf;
use std::time::Duration;

/// What an email is about; the `kind` label of the email metrics.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EmailKind {
    /// A budget threshold was crossed.
    Budget,
    /// An incident opened or changed state.
    Incident,
    /// A service order completed or was rejected.
    Order,
}

impl EmailKind {
    /// Metric label value.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Budget => "budget",
            Self::Incident => "incident",
            Self::Order => "order",
        }
    }
}

/// A composed email.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Email {
    /// What it is about.
    pub kind: EmailKind,
    /// Recipients.
    pub to: Vec<String>,
    /// Subject line.
    pub subject: String,
    /// Plain-text body.
    pub text: String,
    /// HTML body.
    pub html: String,
    /// Message-ID without angle brackets, such as `budget.<uid>.2026-11.half@ccs-operator`.
    pub message_id: String,
}

/// Why an email was not sent.
#[derive(Debug, thiserror::Error)]
pub enum EmailError {
    /// An address or the message is malformed: retrying will not help.
    #[error("invalid email: {0}")]
    Invalid(String),
    /// The server could not be reached or refused the message for now.
    #[error("email delivery failed: {0}")]
    Delivery(String),
    /// The server refused some recipients for good (a 5xx answer); the others got the email.
    /// Named by domain only: an address is personal data, and conditions are widely readable.
    #[error(
        "the SMTP server permanently refused the recipient(s) at {} ({delivered} other recipient(s) got the email); fix the recipient list",
        domains.join(", ")
    )]
    Refused {
        /// Domains of the refused recipients (lowercase, without duplicates).
        domains: Vec<String>,
        /// How many recipients got the email.
        delivered: usize,
    },
}

impl EmailError {
    /// Whether a retry can succeed. A refusal is final: retrying would only send the email
    /// again to the recipients that got it.
    pub fn is_retryable(&self) -> bool {
        matches!(self, Self::Delivery(_))
    }

    /// Whether the email went out, to every recipient or to all the server accepted: it must be
    /// recorded as sent, never sent again.
    pub fn was_delivered(result: &Result<(), Self>) -> bool {
        matches!(result, Ok(()) | Err(Self::Refused { .. }))
    }
}

/// The domain of an address, lowercase (what conditions may name instead of the address).
pub fn domain_of(address: &str) -> String {
    address
        .rsplit('@')
        .next()
        .unwrap_or_default()
        .trim_end_matches('>')
        .to_ascii_lowercase()
}

/// Sends emails.
pub trait Mailer: Send + Sync {
    /// Sends one email to all its recipients.
    fn send<'a>(&'a self, email: &'a Email) -> BoxFuture<'a, Result<(), EmailError>>;
}

enum Transport {
    Smtp(AsyncSmtpTransport<Tokio1Executor>),
    Files(AsyncFileTransport<Tokio1Executor>),
    Disabled,
}

/// The lettre-backed mailer.
pub struct LettreMailer {
    from: Mailbox,
    transport: Transport,
}

impl LettreMailer {
    /// Builds the mailer from configuration; `password` comes from the password file or
    /// `CCS_SMTP_PASSWORD`, never from the config file itself.
    pub fn from_config(config: &SmtpConfig, password: Option<String>) -> anyhow::Result<Self> {
        let from: Mailbox = config
            .from
            .parse()
            .map_err(|e| anyhow::anyhow!("smtp.from is not an email address: {e}"))?;
        let transport = if !config.host.is_empty() {
            let builder = match config.tls {
                SmtpTls::Implicit => AsyncSmtpTransport::<Tokio1Executor>::relay(&config.host)?,
                SmtpTls::Starttls => AsyncSmtpTransport::<Tokio1Executor>::starttls_relay(&config.host)?,
                SmtpTls::None => AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(&config.host),
            };
            let mut builder = builder.port(config.port).timeout(Some(Duration::from_secs(20)));
            if let (Some(user), Some(password)) = (&config.username, password) {
                builder = builder.credentials(Credentials::new(user.clone(), password));
            }
            Transport::Smtp(builder.build())
        } else if let Some(dir) = &config.mail_dir {
            std::fs::create_dir_all(dir)?;
            Transport::Files(AsyncFileTransport::<Tokio1Executor>::new(dir))
        } else {
            Transport::Disabled
        };
        Ok(Self { from, transport })
    }

    /// Connects to the SMTP server (TLS and login as configured), says NOOP and quits; the root
    /// cause when that fails. Always Ok without an SMTP server (files or disabled).
    pub async fn check_server(&self) -> Result<(), String> {
        let Transport::Smtp(transport) = &self.transport else {
            return Ok(());
        };
        match transport.test_connection().await {
            Ok(true) => Ok(()),
            Ok(false) => Err("the connection closed right after it opened".into()),
            Err(e) => Err(crate::runtime::startup::root_cause(&e)),
        }
    }

    /// A mailer writing `.eml` files into `dir`.
    pub fn to_directory(dir: PathBuf, from: &str) -> anyhow::Result<Self> {
        let config = SmtpConfig {
            mail_dir: Some(dir),
            from: from.into(),
            ..SmtpConfig::default()
        };
        Self::from_config(&config, None)
    }

    fn build(&self, email: &Email, to: &[String]) -> Result<Message, EmailError> {
        let mut builder = Message::builder()
            .from(self.from.clone())
            .subject(email.subject.clone())
            .message_id(Some(format!("<{}>", email.message_id)));
        for to in to {
            let mailbox: Mailbox = to
                .parse()
                .map_err(|e| EmailError::Invalid(format!("a recipient at {}: {e}", domain_of(to))))?;
            builder = builder.to(mailbox);
        }
        let body = MultiPart::alternative()
            .singlepart(
                lettre::message::SinglePart::builder()
                    .header(ContentType::TEXT_PLAIN)
                    .body(email.text.clone()),
            )
            .singlepart(
                lettre::message::SinglePart::builder()
                    .header(ContentType::TEXT_HTML)
                    .body(email.html.clone()),
            );
        builder
            .multipart(body)
            .map_err(|e| EmailError::Invalid(e.to_string()))
    }
}

impl LettreMailer {
    /// After a permanent failure: one transaction per recipient, so the refused ones are known
    /// and the others get the email. A transient failure of any is retried as a whole.
    async fn send_one_by_one(
        &self,
        smtp: &AsyncSmtpTransport<Tokio1Executor>,
        email: &Email,
    ) -> Result<(), EmailError> {
        let mut refused: Vec<String> = Vec::new();
        let mut delivered = 0;
        for to in &email.to {
            let message = self.build(email, std::slice::from_ref(to))?;
            match smtp.send(message).await {
                Ok(_) => delivered += 1,
                Err(e) if e.is_permanent() => {
                    let domain = domain_of(to);
                    if !refused.contains(&domain) {
                        refused.push(domain);
                    }
                }
                Err(e) => return Err(EmailError::Delivery(e.to_string())),
            }
        }
        if refused.is_empty() {
            return Ok(());
        }
        tracing::warn!(
            kind = email.kind.as_str(),
            domains = %refused.join(","),
            delivered,
            "the SMTP server refused recipients permanently"
        );
        Err(EmailError::Refused {
            domains: refused,
            delivered,
        })
    }
}

impl Mailer for LettreMailer {
    fn send<'a>(&'a self, email: &'a Email) -> BoxFuture<'a, Result<(), EmailError>> {
        Box::pin(async move {
            let message = self.build(email, &email.to)?;
            match &self.transport {
                Transport::Smtp(smtp) => match smtp.send(message).await {
                    Ok(_) => Ok(()),
                    // One refused recipient fails the whole transaction: find out which, and
                    // deliver to the others, rather than retry everyone forever.
                    Err(e) if e.is_permanent() => self.send_one_by_one(smtp, email).await,
                    Err(e) => Err(EmailError::Delivery(e.to_string())),
                },
                Transport::Files(files) => files
                    .send(message)
                    .await
                    .map(drop)
                    .map_err(|e| EmailError::Delivery(e.to_string())),
                Transport::Disabled => {
                    tracing::warn!(
                        kind = email.kind.as_str(),
                        "no SMTP host or mail directory configured; email dropped"
                    );
                    Ok(())
                }
            }
        })
    }
}
