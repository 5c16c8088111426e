//! Who is calling, and what they may do: credentials scoped per contract, profiles per section.

use super::errors::{ApiError, ApiResult, tr};
use super::world::{ContractRecord, World};
use ccs_portal_model::{Language, Profile, Section};

/// The authenticated caller of a business route.
#[derive(Clone, Debug)]
pub struct Caller {
    /// Account the credential acts as.
    pub account_id: String,
    /// Contracts in the credential's scope.
    pub contracts: Vec<String>,
    /// Language of messages.
    pub lang: Language,
}

impl Caller {
    /// Translates.
    pub fn tr(&self, en: impl Into<String>, fr: impl Into<String>) -> String {
        tr(self.lang, en, fr)
    }

    /// The contract, if it exists (404) and is in the credential's scope (403).
    pub fn contract<'w>(&self, world: &'w World, id: &str) -> ApiResult<&'w ContractRecord> {
        let contract = world.contracts.get(id).ok_or_else(|| {
            ApiError::not_found(self.tr(format!("unknown contract {id}"), format!("contrat {id} inconnu")))
        })?;
        if !self.contracts.iter().any(|c| c == id) {
            return Err(ApiError::forbidden(
                52,
                self.tr(
                    format!("contract {id} is not in the scope of these credentials"),
                    format!("le contrat {id} n'est pas dans le périmètre de ces identifiants"),
                ),
            ));
        }
        Ok(contract)
    }

    /// The contract, if the caller's account has at least `profile` on `section` of it.
    pub fn require<'w>(
        &self,
        world: &'w World,
        id: &str,
        section: Section,
        profile: Profile,
    ) -> ApiResult<&'w ContractRecord> {
        let contract = self.contract(world, id)?;
        if self.has(contract, section, profile) {
            Ok(contract)
        } else {
            Err(missing_right(self, id, section, profile))
        }
    }

    /// Whether the caller's account has at least `profile` on `section`.
    pub fn has(&self, contract: &ContractRecord, section: Section, profile: Profile) -> bool {
        contract
            .users
            .get(&self.account_id)
            .filter(|a| a.enabled)
            .and_then(|a| a.profiles.get(&section))
            .is_some_and(|p| *p >= profile)
    }
}

/// 403 naming the contract, the section and the profile needed.
pub fn missing_right(caller: &Caller, id: &str, section: Section, profile: Profile) -> ApiError {
    let section = serde_json::to_value(section)
        .ok()
        .and_then(|v| v.as_str().map(String::from))
        .unwrap_or_default();
    ApiError::forbidden(
        50,
        caller.tr(
            format!("the {profile:?} profile on the {section} section of contract {id} is required"),
            format!("le profil {profile:?} sur la section {section} du contrat {id} est requis"),
        ),
    )
}
