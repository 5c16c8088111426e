//! What the portal shows of a PortalUser: the users of each listed contract, read once per poll
//! for every PortalUser on the contract (the shared cache in `portal_access`).

use super::plan::ContractView;
use crate::api::cloud_contract::CloudContract;
use crate::api::portal_user::PortalUser;
use crate::controllers::common::{Category, ReconcileError};
use crate::controllers::context::Context;
use crate::controllers::key_index::same_email;
use crate::controllers::portal_access::{cache_key, portal_error};
use crate::portal::{CustomerSpace, ErrorCategory, PortalError};
use kube::ResourceExt;
use std::sync::Arc;
use std::time::Duration;

/// A listed contract, ready to talk to.
pub struct Target {
    /// The CloudContract.
    pub contract: Arc<CloudContract>,
    /// Its portal client.
    pub client: Arc<dyn CustomerSpace>,
    /// Key of the contract in the shared caches.
    pub key: String,
}

impl Target {
    /// Customer Space contract id.
    pub fn contract_id(&self) -> &str {
        &self.contract.spec.contract_id
    }
}

/// Builds the portal client of a contract.
pub async fn target(ctx: &Context, contract: Arc<CloudContract>) -> Result<Target, ReconcileError> {
    let client = ctx.portal.client_for(&ctx.client, &contract).await?;
    let key = cache_key(client.as_ref(), &contract.spec.contract_id);
    Ok(Target {
        contract,
        client,
        key,
    })
}

/// A 403 names the contract and the profile the API client lacks.
pub fn forbidden_or(err: PortalError, target: &Target, profile: &str, what: &str) -> ReconcileError {
    if err.category == ErrorCategory::Forbidden {
        return ReconcileError::new(
            Category::Forbidden,
            format!(
                "CloudContract {} (contract {}): the API client lacks the {profile} profile on the Users section; grant it in the portal ({what})",
                target.contract.name_any(),
                target.contract_id()
            ),
        );
    }
    portal_error(err, &format!("{what} on contract {}", target.contract_id()))
}

/// The person's access on each target (`max_age` bounds the age of the shared read).
pub async fn views(
    ctx: &Context,
    obj: &PortalUser,
    targets: &[Target],
    max_age: Duration,
) -> Result<Vec<ContractView>, ReconcileError> {
    let mut views = Vec::with_capacity(targets.len());
    for t in targets {
        let users = ctx
            .portal
            .users
            .get(&t.key, max_age, || t.client.list_users(t.contract_id()))
            .await
            .map_err(|e| forbidden_or(e, t, "Visitor", "listing the users"))?;
        views.push(ContractView {
            contract: t.contract.name_any(),
            contract_id: t.contract_id().to_string(),
            user: users
                .iter()
                .find(|u| same_email(&u.account.email, &obj.spec.email))
                .cloned(),
        });
    }
    Ok(views)
}
