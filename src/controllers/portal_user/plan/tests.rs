use super::*;
use crate::api::portal_user::{ContractAccess, Invitation};
use serde_json::json;

fn spec(policy: UserManagementPolicy) -> PortalUserSpec {
    PortalUserSpec {
        email: "jane@acme.example".into(),
        first_name: Some("Jane".into()),
        last_name: Some("Doe".into()),
        phone: None,
        login: Some("jane.doe.acme".into()),
        locale: Locale::En,
        access: vec![ContractAccess {
            contract: "acme-prod".into(),
            profiles: SectionProfiles {
                dashboard: Some(ApiProfile::Visitor),
                requests: Some(ApiProfile::Manager),
                ..Default::default()
            },
        }],
        enabled: true,
        invitation: Invitation { send: true },
        management_policy: policy,
        deletion_policy: UserDeletionPolicy::RemoveAccess,
    }
}

fn user(profiles: serde_json::Value, enabled: bool, referent: bool) -> ContractUser {
    serde_json::from_value(json!({
        "account": {"id": "ACC-1", "email": "Jane@acme.example", "login": "jdoe-existing", "firstName": "Jane",
                    "lastName": "Doe", "locale": "en", "state": "Active"},
        "profiles": profiles, "enabled": enabled, "referent": referent
    }))
    .expect("contract user fixture")
}

fn view(user: Option<ContractUser>) -> ContractView {
    ContractView {
        contract: "acme-prod".into(),
        contract_id: "FE-0001".into(),
        user,
    }
}

fn declared() -> serde_json::Value {
    json!({"dashboard": "Visitor", "requests": "Manager"})
}

#[test]
fn a_new_person_is_added_with_one_invitation() {
    let plan = plan(
        &spec(UserManagementPolicy::Full),
        &PortalUserStatus::default(),
        &[view(None)],
    );
    let [
        UserAction::Add {
            contract_id, user, ..
        },
    ] = plan.actions.as_slice()
    else {
        panic!("expected one Add, got {:?}", plan.actions)
    };
    assert_eq!(contract_id, "FE-0001");
    assert!(user.send_invitation);
    assert_eq!(user.profiles.get(&Section::Requests), Some(&Profile::Manager));
    assert_eq!(user.profiles.len(), 2);
    assert_eq!(plan.observed.state, Some(UserState::Pending));
}

#[test]
fn an_existing_account_is_adopted_with_its_login_and_steady_state_writes_nothing() {
    let plan = plan(
        &spec(UserManagementPolicy::Full),
        &PortalUserStatus::default(),
        &[view(Some(user(declared(), true, false)))],
    );
    assert!(plan.actions.is_empty(), "{:?}", plan.actions);
    assert_eq!(plan.observed.adopted, Some(true));
    assert_eq!(plan.observed.login.as_deref(), Some("jdoe-existing"));
    assert_eq!(plan.observed.state, Some(UserState::Active));
}

#[test]
fn full_reverts_drift_and_removes_undeclared_profiles() {
    let drifted = user(
        json!({"dashboard": "Manager", "requests": "Manager", "invoices": "Manager"}),
        true,
        false,
    );
    let plan = plan(
        &spec(UserManagementPolicy::Full),
        &PortalUserStatus::default(),
        &[view(Some(drifted))],
    );
    let [
        UserAction::SetAccess {
            update, account_id, ..
        },
    ] = plan.actions.as_slice()
    else {
        panic!("expected SetAccess, got {:?}", plan.actions)
    };
    assert_eq!(account_id, "ACC-1");
    assert_eq!(
        update.profiles,
        to_portal(&spec(UserManagementPolicy::Full).access[0].profiles)
    );
    assert!(update.enabled);
}

#[test]
fn create_only_and_observe_only_leave_drift_and_report_it() {
    let drifted = view(Some(user(json!({"dashboard": "Manager"}), true, false)));
    for policy in [
        UserManagementPolicy::CreateOnly,
        UserManagementPolicy::ObserveOnly,
    ] {
        let plan = plan(
            &spec(policy),
            &PortalUserStatus::default(),
            std::slice::from_ref(&drifted),
        );
        assert!(plan.actions.is_empty(), "{policy:?}: {:?}", plan.actions);
        assert_eq!(plan.drift.len(), 1);
        assert!(plan.drift[0].contains("FE-0001"), "{}", plan.drift[0]);
    }
    let missing = plan(
        &spec(UserManagementPolicy::ObserveOnly),
        &PortalUserStatus::default(),
        &[view(None)],
    );
    assert!(missing.actions.is_empty());
    assert!(missing.drift[0].contains("no access"));
    let created = plan(
        &spec(UserManagementPolicy::CreateOnly),
        &PortalUserStatus::default(),
        &[view(None)],
    );
    assert!(matches!(created.actions.as_slice(), [UserAction::Add { .. }]));
}

#[test]
fn disabling_sets_enabled_false_but_never_on_the_referent() {
    let mut disabled = spec(UserManagementPolicy::Full);
    disabled.enabled = false;
    let plan_user = plan(
        &disabled,
        &PortalUserStatus::default(),
        &[view(Some(user(declared(), true, false)))],
    );
    assert!(matches!(&plan_user.actions[..], [UserAction::SetAccess { update, .. }] if !update.enabled));
    assert_eq!(plan_user.observed.state, Some(UserState::Disabled));
    let referent = plan(
        &disabled,
        &PortalUserStatus::default(),
        &[view(Some(user(declared(), true, true)))],
    );
    assert!(referent.actions.is_empty());
    assert!(referent.kept[0].contains("referent"), "{:?}", referent.kept);
}

#[test]
fn the_invitation_is_sent_once() {
    let status = PortalUserStatus {
        invitation_sent_at: Some("2026-11-25T10:00:00Z".into()),
        account_id: Some("ACC-1".into()),
        ..Default::default()
    };
    let plan = plan(&spec(UserManagementPolicy::Full), &status, &[view(None)]);
    assert!(matches!(&plan.actions[..], [UserAction::Add { user, .. }] if !user.send_invitation));
    let mut invited = user(declared(), true, false);
    invited.account.state = AccountState::Invited;
    let resend = super::plan(
        &spec(UserManagementPolicy::Full),
        &PortalUserStatus::default(),
        &[view(Some(invited))],
    );
    assert_eq!(
        resend.actions,
        vec![UserAction::SendInvitation {
            account_id: "ACC-1".into()
        }]
    );
}

#[test]
fn deletion_follows_the_policy_and_spares_the_referent() {
    let mut s = spec(UserManagementPolicy::Full);
    let on = [view(Some(user(declared(), true, false)))];
    let remove = plan_deletion(&s, None, &on, false);
    assert!(
        matches!(&remove.actions[..], [UserAction::RemoveAccess { account_id, .. }] if account_id == "ACC-1")
    );
    s.deletion_policy = UserDeletionPolicy::Delete;
    assert_eq!(
        plan_deletion(&s, None, &on, false).actions,
        vec![UserAction::DeleteAccount {
            account_id: "ACC-1".into()
        }]
    );
    let shared = plan_deletion(&s, None, &on, true);
    assert!(matches!(&shared.actions[..], [UserAction::RemoveAccess { .. }]));
    assert!(
        shared.notes[0].contains("another PortalUser"),
        "{:?}",
        shared.notes
    );
    let referent = plan_deletion(&s, None, &[view(Some(user(declared(), true, true)))], false);
    assert!(referent.actions.is_empty());
    assert!(referent.notes.iter().any(|n| n.contains("referent")));
    s.deletion_policy = UserDeletionPolicy::Orphan;
    assert!(plan_deletion(&s, None, &on, false).actions.is_empty());
}

#[test]
fn the_later_claim_on_a_pair_conflicts() {
    let claim = |t: &str, name: &str, email: &str, contracts: &[&str]| Claim {
        order: (Some(t.into()), "default".into(), name.into()),
        email: email.into(),
        contracts: contracts.iter().map(|c| c.to_string()).collect(),
    };
    let first = claim("2026-11-25 10:00:00", "a", "jane@acme.example", &["FE-0001"]);
    let later = claim(
        "2026-11-25 10:05:00",
        "b",
        "jane@acme.example",
        &["FE-0002", "FE-0001"],
    );
    let other_contract = claim("2026-11-25 10:05:00", "c", "jane@acme.example", &["FE-0003"]);
    let (owner, contract) = conflict(&later, std::slice::from_ref(&first)).expect("conflict");
    assert_eq!((owner.order.2.as_str(), contract.as_str()), ("a", "FE-0001"));
    assert!(
        conflict(&first, std::slice::from_ref(&later)).is_none(),
        "the earlier one keeps its claim"
    );
    assert!(
        conflict(&other_contract, &[first]).is_none(),
        "another contract is another pair"
    );
}
