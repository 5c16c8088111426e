//! Who is looking, and what they may see: in `proxy` mode the person named by the trusted
//! headers of an authenticating reverse proxy, each namespace checked by a SubjectAccessReview
//! (answers reused for `web.accessReviewTtl`, at most [`CAPACITY`] kept); in `none` mode everyone.

use crate::config::{WebAuth, WebConfig};
use axum::http::HeaderMap;
use k8s_openapi::api::authorization::v1::{ResourceAttributes, SubjectAccessReview, SubjectAccessReviewSpec};
use kube::Api;
use kube::api::PostParams;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// SubjectAccessReview answers kept at most (the least recently used go first).
pub const CAPACITY: usize = 10_000;

/// The person viewing the page.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Viewer {
    /// `web.auth: none`: everything is visible.
    Anyone,
    /// Named by the proxy.
    User {
        /// User name.
        name: String,
        /// Groups.
        groups: Vec<String>,
    },
}

/// What a viewer may do in one namespace.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Rights {
    /// `list cloudcontracts`: the namespace's contracts are shown.
    pub contracts: bool,
    /// `list portalusers`: email addresses are shown.
    pub emails: bool,
}

type Key = (Viewer, String, &'static str);

/// Checks rights with SubjectAccessReviews, caching the answers briefly.
pub struct Access {
    mode: WebAuth,
    user_header: String,
    groups_header: String,
    ttl: Duration,
    client: kube::Client,
    answers: Mutex<lru::LruCache<Key, (bool, Instant)>>,
}

impl Access {
    /// From the `web` configuration (its `auth` is required when the page is served).
    pub fn new(config: &WebConfig, client: kube::Client) -> Self {
        Self {
            mode: config.auth.unwrap_or(WebAuth::Proxy),
            user_header: config.user_header.clone(),
            groups_header: config.groups_header.clone(),
            ttl: config.access_review_ttl,
            client,
            answers: Mutex::new(crate::controllers::common::lru_cache(CAPACITY)),
        }
    }

    /// The viewer named by the request; `None` in proxy mode without a user header (the proxy
    /// is missing or misconfigured: nothing is shown).
    pub fn viewer(&self, headers: &HeaderMap) -> Option<Viewer> {
        if self.mode == WebAuth::None {
            return Some(Viewer::Anyone);
        }
        let text = |name: &str| {
            headers
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::trim)
                .filter(|v| !v.is_empty())
        };
        let name = text(&self.user_header)?.to_string();
        let groups = text(&self.groups_header)
            .map(|g| {
                g.split(',')
                    .map(str::trim)
                    .filter(|g| !g.is_empty())
                    .map(String::from)
                    .collect()
            })
            .unwrap_or_default();
        Some(Viewer::User { name, groups })
    }

    /// What `viewer` may see in `namespace`.
    pub async fn rights(&self, viewer: &Viewer, namespace: &str) -> Rights {
        let contracts = self.may_list(viewer, namespace, "cloudcontracts").await;
        let emails = contracts && self.may_list(viewer, namespace, "portalusers").await;
        Rights { contracts, emails }
    }

    async fn may_list(&self, viewer: &Viewer, namespace: &str, resource: &'static str) -> bool {
        let Viewer::User { name, groups } = viewer else {
            return true;
        };
        let key: Key = (viewer.clone(), namespace.to_string(), resource);
        if let Some((allowed, at)) = self.lock().get(&key).copied()
            && at.elapsed() < self.ttl
        {
            return allowed;
        }
        let review = SubjectAccessReview {
            spec: SubjectAccessReviewSpec {
                user: Some(name.clone()),
                groups: Some(groups.clone()),
                resource_attributes: Some(ResourceAttributes {
                    namespace: Some(namespace.to_string()),
                    verb: Some("list".into()),
                    group: Some("customerspace.io".into()),
                    resource: Some(resource.into()),
                    ..Default::default()
                }),
                ..Default::default()
            },
            ..Default::default()
        };
        let api: Api<SubjectAccessReview> = Api::all(self.client.clone());
        let allowed = match api.create(&PostParams::default(), &review).await {
            Ok(answer) => answer.status.is_some_and(|s| s.allowed),
            Err(err) => {
                // Refused when the answer is unknown; not cached, so the next view asks again.
                tracing::warn!(%err, "SubjectAccessReview failed; the namespace is hidden");
                return false;
            }
        };
        self.lock().put(key, (allowed, Instant::now()));
        allowed
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, lru::LruCache<Key, (bool, Instant)>> {
        self.answers.lock().unwrap_or_else(|p| p.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn access(mode: WebAuth) -> Access {
        crate::install_crypto_provider();
        let config = WebConfig {
            auth: Some(mode),
            user_header: "X-Auth-User".into(),
            ..WebConfig::default()
        };
        let kube = kube::Config::new("http://127.0.0.1:9".parse().expect("url"));
        Access::new(&config, kube::Client::try_from(kube).expect("client"))
    }

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(*k, v.parse().expect("value"));
        }
        h
    }

    #[tokio::test]
    async fn proxy_mode_trusts_only_the_configured_headers() {
        let proxy = access(WebAuth::Proxy);
        assert_eq!(proxy.viewer(&headers(&[("X-Forwarded-User", "eve")])), None);
        assert_eq!(proxy.viewer(&headers(&[("X-Auth-User", "  ")])), None);
        assert_eq!(
            proxy.viewer(&headers(&[
                ("X-Auth-User", "ann"),
                ("X-Forwarded-Groups", "ops, ,finance")
            ])),
            Some(Viewer::User {
                name: "ann".into(),
                groups: vec!["ops".into(), "finance".into()]
            })
        );
        // An unreachable API server: the namespace is hidden, not shown.
        let ann = proxy.viewer(&headers(&[("X-Auth-User", "ann")])).expect("ann");
        assert_eq!(proxy.rights(&ann, "team").await, Rights::default());
        let none = access(WebAuth::None);
        let anyone = none.viewer(&headers(&[("X-Auth-User", "ann")])).expect("anyone");
        assert_eq!(anyone, Viewer::Anyone);
        assert_eq!(
            none.rights(&anyone, "team").await,
            Rights {
                contracts: true,
                emails: true
            }
        );
    }
}
