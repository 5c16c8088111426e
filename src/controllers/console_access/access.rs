//! Console clients on behalf of a ConsoleAccess: the endpoint must be allowlisted by the
//! operator's configuration, the credentials come only from a Secret labelled
//! `customerspace.io/credentials=true`; one client per Secret version (keeping its token).

use crate::api::common::LABEL_CREDENTIALS;
use crate::api::console_access::{
    FcaAccess, FlexibleEngineAccess, KEY_DOMAIN_NAME, KEY_PASSWORD, KEY_USER_NAME,
};
use crate::config::OperatorConfig;
use crate::console::{CloudDirector, ConsoleShared, Keystone, KeystoneCredentials, VcdCredentials};
use crate::controllers::common::{Category, ReconcileError};
use crate::portal::{EndpointPolicy, ErrorCategory, PortalError, Secret};
use k8s_openapi::api::core::v1::Secret as KubeSecret;
use kube::{Api, ResourceExt};
use std::sync::{Arc, Mutex};

/// Keystone and Cloud Director clients by credential, and the endpoint allowlists.
pub struct ConsoleClients {
    shared: Arc<ConsoleShared>,
    identity: EndpointPolicy,
    cloud_director: EndpointPolicy,
    keystones: Mutex<lru::LruCache<String, (String, Arc<Keystone>)>>,
    directors: Mutex<lru::LruCache<String, (String, Arc<CloudDirector>)>>,
}

impl ConsoleClients {
    /// One HTTP pool, rate limiter and metric set for every console client.
    pub fn new(config: &OperatorConfig, registry: &prometheus::Registry) -> anyhow::Result<Self> {
        Ok(Self {
            shared: ConsoleShared::new(config.console.client_config(&config.portal), registry)?,
            identity: config.console.identity_policy()?,
            cloud_director: config.console.cloud_director_policy()?,
            keystones: Mutex::new(crate::controllers::common::lru_cache(
                crate::controllers::shared_read::CAPACITY,
            )),
            directors: Mutex::new(crate::controllers::common::lru_cache(
                crate::controllers::shared_read::CAPACITY,
            )),
        })
    }

    /// The Keystone client for `fe`: the endpoint is checked first, then the Secret's label; a
    /// refused object sends nothing and an unmarked Secret's values are never used.
    pub async fn keystone(
        &self,
        kube: &kube::Client,
        namespace: &str,
        fe: &FlexibleEngineAccess,
    ) -> Result<Arc<Keystone>, ReconcileError> {
        let base = allowed(
            &self.identity,
            &fe.identity_endpoint,
            "spec.flexibleEngine.identityEndpoint",
            "console.identityEndpoints",
        )?;
        let (c, key, version) = read_credentials(
            kube,
            namespace,
            &fe.credentials_secret_ref.name,
            "spec.flexibleEngine",
        )
        .await?;
        let key = format!("{base}|{key}");
        let mut clients = self.keystones.lock().unwrap_or_else(|p| p.into_inner());
        if let Some((v, client)) = clients.get(&key)
            && *v == version
        {
            return Ok(client.clone());
        }
        let credentials = KeystoneCredentials {
            domain: c.domain,
            user: c.user,
            password: c.password,
        };
        let client = Arc::new(Keystone::new(self.shared.clone(), base, credentials));
        clients.put(key, (version, client.clone()));
        Ok(client)
    }

    /// The Cloud Director client for `fca`, under the same rules as [`Self::keystone`]; the
    /// Secret's `domainName` is the organization and must be `fca.organization`.
    pub async fn cloud_director(
        &self,
        kube: &kube::Client,
        namespace: &str,
        fca: &FcaAccess,
    ) -> Result<Arc<CloudDirector>, ReconcileError> {
        let base = allowed(
            &self.cloud_director,
            &fca.endpoint,
            "spec.fca.endpoint",
            "console.cloudDirectorEndpoints",
        )?;
        let name = &fca.credentials_secret_ref.name;
        let (c, key, version) = read_credentials(kube, namespace, name, "spec.fca").await?;
        if c.domain != fca.organization {
            return Err(ReconcileError::new(
                Category::InvalidSpec,
                format!(
                    "spec.fca.organization is {:?} but Secret {namespace}/{name} is for organization {:?} (key {KEY_DOMAIN_NAME}): use an administrator of that organization",
                    fca.organization, c.domain
                ),
            ));
        }
        let key = format!("{base}|{key}");
        let mut clients = self.directors.lock().unwrap_or_else(|p| p.into_inner());
        if let Some((v, client)) = clients.get(&key)
            && *v == version
        {
            return Ok(client.clone());
        }
        let credentials = VcdCredentials {
            org: c.domain,
            user: c.user,
            password: c.password,
        };
        let client = Arc::new(CloudDirector::new(self.shared.clone(), base, credentials));
        clients.put(key, (version, client.clone()));
        Ok(client)
    }
}

/// The allowed base URL for `endpoint`, or `EndpointNotAllowed` naming the setting to change.
fn allowed(
    policy: &EndpointPolicy,
    endpoint: &str,
    field: &str,
    setting: &str,
) -> Result<url::Url, ReconcileError> {
    policy.check(endpoint).map(|a| a.url.clone()).map_err(|why| {
        ReconcileError::new(
            Category::EndpointNotAllowed,
            format!(
                "{field}: {why}; ask the operator's administrators to add it to {setting} (allowed: {})",
                match policy.describe() {
                    d if d.is_empty() => "none".to_string(),
                    d => d,
                }
            ),
        )
    })
}

/// The three values of a console credentials Secret.
struct SecretCredentials {
    domain: String,
    user: String,
    password: Secret,
}

/// Reads a console credentials Secret (only when labelled); returns its values, a cache key and
/// its resource version.
async fn read_credentials(
    kube: &kube::Client,
    namespace: &str,
    name: &str,
    section: &str,
) -> Result<(SecretCredentials, String, String), ReconcileError> {
    let hint = format!(
        "the label {LABEL_CREDENTIALS}=true and the keys {KEY_DOMAIN_NAME}, {KEY_USER_NAME} and {KEY_PASSWORD}"
    );
    let secret = Api::<KubeSecret>::namespaced(kube.clone(), namespace)
        .get_opt(name)
        .await?
        .ok_or_else(|| {
            ReconcileError::new(
                Category::SecretNotFound,
                format!(
                    "{section}.credentialsSecretRef.name: Secret {namespace}/{name} not found; create it with {hint}"
                ),
            )
        })?;
    let marked = secret
        .labels()
        .get(LABEL_CREDENTIALS)
        .is_some_and(|v| v == "true");
    if !marked {
        return Err(ReconcileError::new(
            Category::SecretNotMarked,
            format!(
                "Secret {namespace}/{name} is not marked as credentials: the operator reads only Secrets with the label {LABEL_CREDENTIALS}=true; add it with `kubectl label secret {name} -n {namespace} {LABEL_CREDENTIALS}=true`"
            ),
        ));
    }
    let read = |key: &str| -> Result<String, ReconcileError> {
        let value = secret
            .data
            .as_ref()
            .and_then(|d| d.get(key))
            .and_then(|b| String::from_utf8(b.0.clone()).ok())
            .map(|s| s.trim().to_string())
            .unwrap_or_default();
        if value.is_empty() {
            return Err(ReconcileError::new(
                Category::SecretInvalid,
                format!("Secret {namespace}/{name} has no value for key {key:?}; it needs {hint}"),
            ));
        }
        Ok(value)
    };
    let credentials = SecretCredentials {
        domain: read(KEY_DOMAIN_NAME)?,
        user: read(KEY_USER_NAME)?,
        password: Secret::new(read(KEY_PASSWORD)?),
    };
    let key = format!("{namespace}/{name}|{}", secret.uid().unwrap_or_default());
    Ok((credentials, key, secret.resource_version().unwrap_or_default()))
}

/// Maps an IAM error to the controller layer, naming what to check; a 403 names the missing
/// permission (Keystone's policy rule, such as `identity:create_group`).
pub fn iam_error(err: PortalError, what: &str) -> ReconcileError {
    let category = category_of(&err);
    let hint = match category {
        Category::Unauthorized => {
            "; check domainName, userName and password in the credentials Secret".to_string()
        }
        Category::Forbidden => {
            let permission = err
                .message
                .split_whitespace()
                .find(|w| w.starts_with("identity:"))
                .map(|w| w.trim_end_matches('.').to_string())
                .unwrap_or_else(|| format!("the right to {what}"));
            format!(
                "; the IAM user lacks the permission {permission}: grant it an administrator role of the domain (Flexible Engine: Security Administrator)"
            )
        }
        _ => String::new(),
    };
    ReconcileError::new(category, format!("{what}: {err}{hint}"))
}

/// Maps a Cloud Director error like [`iam_error`]; a 403 names the right Cloud Director reports.
pub fn vcd_error(err: PortalError, what: &str) -> ReconcileError {
    let category = category_of(&err);
    let hint = match category {
        Category::Unauthorized => {
            "; check domainName (the organization), userName and password in the credentials Secret"
        }
        Category::Forbidden => {
            "; the Cloud Director user lacks that right: give it the role Organization Administrator"
        }
        _ => "",
    };
    ReconcileError::new(category, format!("{what}: {err}{hint}"))
}

fn category_of(err: &PortalError) -> Category {
    use ErrorCategory as E;
    match err.category {
        E::Unauthorized => Category::Unauthorized,
        E::Forbidden => Category::Forbidden,
        E::NotFound => Category::NotFound,
        E::Conflict => Category::Conflict,
        E::Invalid => Category::InvalidSpec,
        E::RateLimited => Category::RateLimited,
        E::Unavailable | E::Transport | E::Decode => Category::Unavailable,
        E::Timeout => Category::Timeout,
        E::TooLarge => Category::ResponseTooLarge,
    }
}
