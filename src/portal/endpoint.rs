//! Which portal endpoints the operator may call: the operator's configuration decides, never a
//! tenant's manifest. A CloudContract's `spec.endpoint` must match one entry of the allowlist;
//! `http` is allowed only for entries marked `allowInsecure` (the simulator, tests, the demo).

use url::Url;

/// One allowed base URL.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AllowedEndpoint {
    /// The parsed base URL (scheme, host, port, optional path prefix).
    pub url: Url,
    /// Whether plain `http` is allowed for it.
    pub allow_insecure: bool,
}

/// The allowlist of portal endpoints.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct EndpointPolicy {
    allowed: Vec<AllowedEndpoint>,
}

/// Parses a portal base URL: `http` or `https`, a host, no user info, query or fragment.
pub fn parse_base(text: &str) -> Result<Url, String> {
    let url = Url::parse(text.trim()).map_err(|e| format!("{text:?} is not a URL: {e}"))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(format!(
            "{text:?}: the scheme must be https (or http with allowInsecure)"
        ));
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err(format!("{text:?} has no host"));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(format!("{text:?} holds user information; remove it"));
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(format!("{text:?} has a query or a fragment; remove it"));
    }
    if url.cannot_be_a_base() {
        return Err(format!("{text:?} cannot be a base URL"));
    }
    Ok(url)
}

/// Whether two base URLs name the same endpoint (scheme, host, port with its default, path
/// without trailing slashes).
fn same(a: &Url, b: &Url) -> bool {
    a.scheme() == b.scheme()
        && a.host_str().map(str::to_ascii_lowercase) == b.host_str().map(str::to_ascii_lowercase)
        && a.port_or_known_default() == b.port_or_known_default()
        && a.path().trim_end_matches('/') == b.path().trim_end_matches('/')
}

impl EndpointPolicy {
    /// Builds the allowlist from `(url, allowInsecure)` pairs (repeated URLs merge, any
    /// `allowInsecure` wins); an `http` entry without `allowInsecure` or a malformed URL is an
    /// error naming the entry and the fix.
    pub fn new(entries: impl IntoIterator<Item = (String, bool)>) -> Result<Self, String> {
        let mut allowed: Vec<AllowedEndpoint> = Vec::new();
        for (text, allow_insecure) in entries {
            let url = parse_base(&text)?;
            match allowed.iter_mut().find(|a| same(&a.url, &url)) {
                Some(existing) => existing.allow_insecure |= allow_insecure,
                None => allowed.push(AllowedEndpoint { url, allow_insecure }),
            }
        }
        if let Some(plain) = allowed
            .iter()
            .find(|a| a.url.scheme() == "http" && !a.allow_insecure)
        {
            let url = plain.url.as_str().trim_end_matches('/');
            return Err(format!(
                "{url} uses plain http: use https, or add {{url: {url}, allowInsecure: true}} to portal.allowedEndpoints (test and demo setups only)"
            ));
        }
        Ok(Self { allowed })
    }

    /// The allowed entry matching `endpoint`, or why it is refused.
    pub fn check(&self, endpoint: &str) -> Result<&AllowedEndpoint, String> {
        let url = parse_base(endpoint)?;
        self.allowed
            .iter()
            .find(|a| same(&a.url, &url))
            .ok_or_else(|| format!("{} is not among the allowed portal endpoints", url.as_str()))
    }

    /// Whether some entry allows plain http (the HTTP client must then accept it).
    pub fn any_insecure(&self) -> bool {
        self.allowed.iter().any(|a| a.allow_insecure)
    }

    /// The allowed URLs, for messages.
    pub fn describe(&self) -> String {
        self.allowed
            .iter()
            .map(|a| a.url.as_str().trim_end_matches('/').to_string())
            .collect::<Vec<_>>()
            .join(", ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy() -> EndpointPolicy {
        EndpointPolicy::new([
            ("https://portal.example".to_string(), false),
            ("http://127.0.0.1:8080/".to_string(), true),
        ])
        .expect("valid")
    }

    #[test]
    fn allowed_endpoints_match_by_scheme_host_port_and_path() {
        let p = policy();
        assert!(p.check("https://portal.example/").is_ok());
        assert!(p.check("https://PORTAL.example:443").is_ok());
        assert!(p.check("http://127.0.0.1:8080").is_ok());
        assert!(p.check("http://portal.example").is_err(), "scheme differs");
        assert!(p.check("https://portal.example:8443").is_err(), "port differs");
        assert!(p.check("https://portal.example/other").is_err(), "path differs");
        assert!(p.check("https://attacker.example").is_err());
        assert!(p.check("https://portal.example@attacker.example").is_err());
        assert!(p.check("https://portal.example/#x").is_err());
        assert!(p.any_insecure());
    }

    #[test]
    fn http_needs_allow_insecure_and_bad_urls_are_named() {
        let err = EndpointPolicy::new([("http://sim:8080".to_string(), false)]).unwrap_err();
        assert!(err.contains("allowInsecure"), "{err}");
        let err = EndpointPolicy::new([("ftp://x".to_string(), true)]).unwrap_err();
        assert!(err.contains("https"), "{err}");
        let err = EndpointPolicy::new([("https://u:p@x".to_string(), false)]).unwrap_err();
        assert!(err.contains("user information"), "{err}");
    }
}
