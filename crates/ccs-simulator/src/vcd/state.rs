//! The Cloud Director state: organizations, their roles and users, and the session tokens.

use crate::rng::{Rng, hash};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The roles every seeded organization has (Cloud Director's predefined tenant roles).
pub const STANDARD_ROLES: &[&str] = &[
    "Organization Administrator",
    "Catalog Author",
    "vApp Author",
    "vApp User",
    "Console Access Only",
    "Organization Auditor",
];
/// The role allowed to manage users.
pub const ADMIN_ROLE: &str = "Organization Administrator";

/// A reference as Cloud Director writes it: `{name, id}`.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct EntityRef {
    /// Name.
    pub name: String,
    /// URN.
    pub id: String,
}

/// A user as stored (the `VcdUser` body, plus the password the API never shows).
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UserRecord {
    /// `urn:vcloud:user:<uuid>`.
    pub id: String,
    /// Login name, unique in the organization.
    pub username: String,
    /// Display name.
    pub full_name: String,
    /// Email.
    pub email: String,
    /// Description.
    pub description: String,
    /// The one role.
    pub role_entity_ref: EntityRef,
    /// Whether the user may log in.
    pub enabled: bool,
    /// `LOCAL`, `SAML` or `OIDC`.
    pub provider_type: String,
    /// The local password (write-only in the API).
    pub password: Option<String>,
}

/// One organization.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OrgRecord {
    /// `urn:vcloud:org:<uuid>`.
    pub id: String,
    /// Name (the tenant name in the console URL).
    pub name: String,
    /// Display name.
    pub display_name: String,
    /// The contract it belongs to.
    pub contract: String,
    /// Roles (name, urn).
    pub roles: Vec<EntityRef>,
    /// Users by id.
    pub users: BTreeMap<String, UserRecord>,
}

/// A session: who, in which organization.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Session {
    /// Organization name.
    pub org: String,
    /// User id.
    pub user: String,
}

/// Everything the Cloud Director side holds.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct VcdWorld {
    /// Organizations by name.
    pub orgs: BTreeMap<String, OrgRecord>,
    /// Access tokens.
    pub sessions: BTreeMap<String, Session>,
    /// Counter for new URNs.
    pub next: u64,
}

/// What a test needs to use one seeded organization.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct VcdOrgInfo {
    /// Organization name.
    pub org: String,
    /// The organization administrator's user name.
    pub admin_user: String,
    /// Its password.
    pub admin_password: String,
    /// A user with the `Organization Auditor` role (reads only).
    pub auditor_user: String,
    /// Its password.
    pub auditor_password: String,
}

impl VcdWorld {
    /// A URN of `kind` (`user`, `role`, `org`) with a fresh, deterministic UUID.
    pub fn urn(&mut self, seed: u64, kind: &str) -> String {
        self.next += 1;
        let a = hash(seed, &[kind, &self.next.to_string()]);
        let b = hash(seed, &[&self.next.to_string(), kind]);
        format!(
            "urn:vcloud:{kind}:{:08x}-{:04x}-4{:03x}-8{:03x}-{:012x}",
            a >> 32,
            (a >> 16) & 0xffff,
            a & 0xfff,
            b >> 52,
            b & 0xffff_ffff_ffff
        )
    }

    /// Seeds the organization of an FCA contract (`tenant` from its console URL).
    pub fn seed_org(&mut self, seed: u64, rng: &mut Rng, contract: &str, tenant: &str) {
        let id = self.urn(seed, "org");
        let roles: Vec<EntityRef> = STANDARD_ROLES
            .iter()
            .map(|name| EntityRef {
                name: name.to_string(),
                id: self.urn(seed, "role"),
            })
            .collect();
        let mut org = OrgRecord {
            id,
            name: tenant.to_string(),
            display_name: format!("{contract} organization"),
            contract: contract.to_string(),
            roles,
            users: BTreeMap::new(),
        };
        for (username, role) in [("orgadmin", ADMIN_ROLE), ("auditor", "Organization Auditor")] {
            let role = org.roles.iter().find(|r| r.name == role).cloned();
            let user = UserRecord {
                id: self.urn(seed, "user"),
                username: username.into(),
                full_name: format!("{tenant} {username}"),
                email: format!("{username}@{tenant}.example"),
                description: String::new(),
                role_entity_ref: role.unwrap_or_else(|| org.roles[0].clone()),
                enabled: true,
                provider_type: "LOCAL".into(),
                password: Some(format!("Vcd-{}", rng.hex())),
            };
            org.users.insert(user.id.clone(), user);
        }
        self.orgs.insert(tenant.to_string(), org);
    }

    /// The seeded accounts of the organization of `contract`.
    pub fn org_info(&self, contract: &str) -> Option<VcdOrgInfo> {
        let org = self.orgs.values().find(|o| o.contract == contract)?;
        let by_name = |n: &str| org.users.values().find(|u| u.username == n);
        let admin = by_name("orgadmin")?;
        let auditor = by_name("auditor")?;
        Some(VcdOrgInfo {
            org: org.name.clone(),
            admin_user: admin.username.clone(),
            admin_password: admin.password.clone().unwrap_or_default(),
            auditor_user: auditor.username.clone(),
            auditor_password: auditor.password.clone().unwrap_or_default(),
        })
    }
}
