//! Credentials of a contract: what the client sends and the simulator checks.

/// A secret string whose `Debug` never shows the value.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wraps a value.
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }
    /// The value, for the one place that must send it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("<redacted>")
    }
}

/// OAuth2 client credentials plus the API key, as stored in the contract's Secret.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Credentials {
    /// OAuth2 client id (not secret; shown in logs).
    pub client_id: String,
    /// OAuth2 client secret.
    pub client_secret: Secret,
    /// `X-Api-Key` value.
    pub api_key: Secret,
}

impl Credentials {
    /// Builds credentials from plain strings.
    pub fn new(
        client_id: impl Into<String>,
        client_secret: impl Into<String>,
        api_key: impl Into<String>,
    ) -> Self {
        Self {
            client_id: client_id.into(),
            client_secret: Secret::new(client_secret),
            api_key: Secret::new(api_key),
        }
    }
}
