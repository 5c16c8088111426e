//! OAuth2 client-credentials tokens and the `Caller` extractor (bearer token + `X-Api-Key`).

use super::errors::{ApiError, tr};
use super::rights::Caller;
use super::server::App;
use axum::Json;
use axum::extract::{FromRequestParts, State};
use axum::http::HeaderMap;
use axum::http::request::Parts;
use base64::Engine;
use ccs_portal_model::{Language, TokenResponse};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// A token handed out: which credential, until when (real time).
pub struct Grant {
    /// Index in `World::credentials`.
    pub credential: usize,
    /// Expiry.
    pub expires: Instant,
}

/// `en` unless the first `Accept-Language` tag is French.
pub fn language(headers: &HeaderMap) -> Language {
    let first = headers
        .get("accept-language")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if first.trim_start().to_ascii_lowercase().starts_with("fr") {
        Language::Fr
    } else {
        Language::En
    }
}

/// The client id and secret of an HTTP Basic header.
pub fn basic_credentials(headers: &HeaderMap) -> Option<(String, String)> {
    let value = headers.get("authorization")?.to_str().ok()?;
    let encoded = value
        .strip_prefix("Basic ")
        .or_else(|| value.strip_prefix("basic "))?;
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(encoded.trim())
        .ok()?;
    let text = String::from_utf8(decoded).ok()?;
    let (id, secret) = text.split_once(':')?;
    Some((id.to_string(), secret.to_string()))
}

/// The bearer token of a request.
pub fn bearer(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get("authorization")?.to_str().ok()?;
    value
        .strip_prefix("Bearer ")
        .or_else(|| value.strip_prefix("bearer "))
        .map(str::trim)
}

fn api_key(headers: &HeaderMap) -> Option<&str> {
    headers.get("x-api-key").and_then(|v| v.to_str().ok())
}

fn bad_key(lang: Language) -> ApiError {
    ApiError::unauthorized(
        42,
        tr(
            lang,
            "missing or invalid X-Api-Key header",
            "en-tête X-Api-Key absent ou invalide",
        ),
    )
}

/// `POST /oauth/v3/token`: HTTP Basic client id and secret, `X-Api-Key`, form
/// `grant_type=client_credentials`.
pub async fn token(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    body: String,
) -> Result<Json<TokenResponse>, ApiError> {
    let lang = language(&headers);
    let grant_ok = body
        .split('&')
        .any(|kv| kv.trim() == "grant_type=client_credentials");
    if !grant_ok {
        return Err(ApiError::bad_request(tr(
            lang,
            "grant_type must be client_credentials",
            "grant_type doit valoir client_credentials",
        )));
    }
    let Some((id, secret)) = basic_credentials(&headers) else {
        return Err(ApiError::unauthorized(
            40,
            tr(
                lang,
                "HTTP Basic client credentials are required",
                "identifiants client HTTP Basic requis",
            ),
        ));
    };
    let (index, key_ok, ttl) = {
        let world = app.read();
        let found = world
            .credentials
            .iter()
            .position(|c| c.client_id == id && c.client_secret == secret);
        let Some(index) = found else {
            return Err(ApiError::unauthorized(
                40,
                tr(
                    lang,
                    "invalid client id or secret",
                    "identifiant ou secret client invalide",
                ),
            ));
        };
        (
            index,
            api_key(&headers) == Some(world.credentials[index].api_key.as_str()),
            world.config.token_ttl_seconds,
        )
    };
    if !key_ok {
        return Err(bad_key(lang));
    }
    let access_token = format!("tok-{:032x}", fastrand::u128(..));
    let grant = Grant {
        credential: index,
        expires: Instant::now() + Duration::from_secs(ttl),
    };
    let mut tokens = app.tokens.lock().unwrap_or_else(|e| e.into_inner());
    // Drop expired grants now and then so the map stays small.
    if tokens.len() > 10_000 {
        let now = Instant::now();
        tokens.retain(|_, g| g.expires > now);
    }
    tokens.insert(access_token.clone(), grant);
    Ok(Json(TokenResponse {
        access_token,
        token_type: "Bearer".into(),
        expires_in: ttl,
    }))
}

impl FromRequestParts<Arc<App>> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, app: &Arc<App>) -> Result<Self, Self::Rejection> {
        let lang = language(&parts.headers);
        let Some(token) = bearer(&parts.headers) else {
            return Err(ApiError::unauthorized(
                41,
                tr(lang, "missing bearer token", "jeton d'accès absent"),
            ));
        };
        let credential = {
            let tokens = app.tokens.lock().unwrap_or_else(|e| e.into_inner());
            tokens
                .get(token)
                .filter(|g| g.expires > Instant::now())
                .map(|g| g.credential)
        };
        let Some(credential) = credential else {
            return Err(ApiError::unauthorized(
                41,
                tr(lang, "invalid or expired token", "jeton invalide ou expiré"),
            ));
        };
        let world = app.read();
        let cred = &world.credentials[credential];
        if api_key(&parts.headers) != Some(cred.api_key.as_str()) {
            return Err(bad_key(lang));
        }
        Ok(Caller {
            account_id: cred.account_id.clone(),
            contracts: cred.contracts.clone(),
            lang,
        })
    }
}
