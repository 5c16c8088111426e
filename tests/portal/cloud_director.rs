//! The simulator's Cloud Director CloudAPI (`config/cloud-director-api.yaml`): every route is
//! served, every answer matches the document, and the behaviours the operator relies on (session
//! token header, Accept version, paging, FIQL filters, rights, write-only passwords) hold.

use crate::openapi::{Auth, Checker};
use crate::portal_common::*;
use base64::Engine;
use ccs_simulator::{Simulator, VCD_OPENAPI};
use serde_json::{Value, json};

const ACCEPT: &str = "application/json;version=38.0";
const USERS: &str = "/cloudapi/1.0.0/users";
const USER: &str = "/cloudapi/1.0.0/users/{userId}";

fn basic(user: &str, org: &str, password: &str) -> Auth<'static> {
    let encoded = base64::engine::general_purpose::STANDARD.encode(format!("{user}@{org}:{password}"));
    Auth::Headers(vec![
        ("Authorization", format!("Basic {encoded}")),
        ("Accept", ACCEPT.into()),
    ])
}

fn bearer(token: &str) -> Auth<'static> {
    Auth::Headers(vec![
        ("Authorization", format!("Bearer {token}")),
        ("Accept", ACCEPT.into()),
    ])
}

/// Opens a session the raw way and returns its token (from the response header).
async fn login(sim: &Simulator, user: &str, org: &str, password: &str) -> (u16, Option<String>) {
    let resp = reqwest::Client::new()
        .post(format!("{}/cloudapi/1.0.0/sessions", sim.base_url()))
        .basic_auth(format!("{user}@{org}"), Some(password))
        .header("Accept", ACCEPT)
        .send()
        .await
        .unwrap();
    let token = resp
        .headers()
        .get("X-VMWARE-VCLOUD-ACCESS-TOKEN")
        .map(|v| v.to_str().unwrap().to_string());
    (resp.status().as_u16(), token)
}

#[tokio::test]
async fn every_cloud_director_route_is_served_and_matches_the_document() {
    let sim = simulator().await;
    let fca = contract(&sim, "FCA");
    let org = sim.vcd_org(&fca).expect("an organization per FCA contract");
    let mut ck = Checker::for_document(&sim, VCD_OPENAPI);
    let sessions = "/cloudapi/1.0.0/sessions";

    ck.expect(200, "GET", "/cloudapi/openapi.yaml", &[], "", None, Auth::None)
        .await;
    ck.expect(200, "GET", "/cloudapi/docs", &[], "", None, Auth::None)
        .await;
    let session = ck
        .expect(
            200,
            "POST",
            sessions,
            &[],
            "",
            None,
            basic(&org.admin_user, &org.org, &org.admin_password),
        )
        .await;
    assert_eq!(session["org"]["name"], org.org.as_str());
    assert_eq!(session["roles"][0], "Organization Administrator");
    ck.expect(
        401,
        "POST",
        sessions,
        &[],
        "",
        None,
        basic(&org.admin_user, &org.org, "wrong"),
    )
    .await;
    ck.expect(
        401,
        "POST",
        sessions,
        &[],
        "",
        None,
        basic(&org.admin_user, "no-such-org", &org.admin_password),
    )
    .await;
    let no_version = Auth::Headers(vec![("Accept", "application/json".into())]);
    ck.expect(406, "POST", sessions, &[], "", None, no_version).await;

    let (status, token) = login(&sim, &org.admin_user, &org.org, &org.admin_password).await;
    assert_eq!(status, 200);
    let token = token.expect("the token is in X-VMWARE-VCLOUD-ACCESS-TOKEN");
    let (_, auditor) = login(&sim, &org.auditor_user, &org.org, &org.auditor_password).await;
    let auditor = auditor.unwrap();

    // Roles and orgs: the standard roles of the seeded organization.
    let roles = ck
        .expect(
            200,
            "GET",
            "/cloudapi/1.0.0/roles",
            &[],
            "?pageSize=128",
            None,
            bearer(&token),
        )
        .await;
    let names: Vec<&str> = roles["values"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["name"].as_str().unwrap())
        .collect();
    for role in [
        "Organization Administrator",
        "Catalog Author",
        "vApp User",
        "Console Access Only",
        "Organization Auditor",
    ] {
        assert!(names.contains(&role), "{role} in {names:?}");
    }
    let admin_role = roles["values"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["name"] == "Organization Administrator")
        .unwrap()["id"]
        .clone();
    let orgs = ck
        .expect(200, "GET", "/cloudapi/1.0.0/orgs", &[], "", None, bearer(&token))
        .await;
    assert_eq!(orgs["resultTotal"], 1);
    assert_eq!(orgs["values"][0]["name"], org.org.as_str());
    ck.expect(
        401,
        "GET",
        "/cloudapi/1.0.0/roles",
        &[],
        "",
        None,
        bearer("not-a-token"),
    )
    .await;

    // Users: create LOCAL (password write-only) and SAML (no password allowed).
    let jane = json!({"username": "jane.doe", "fullName": "Jane Doe", "email": "jane@acme.example",
        "description": "managed", "roleEntityRef": {"name": "vApp User"}, "enabled": true,
        "providerType": "LOCAL", "password": "Initial-Passw0rd"});
    let created = ck
        .expect(201, "POST", USERS, &[], "", Some(jane.clone()), bearer(&token))
        .await;
    let id = created["id"].as_str().unwrap().to_string();
    assert!(id.starts_with("urn:vcloud:user:"), "{id}");
    assert_eq!(created["password"], Value::Null, "the password is write-only");
    assert_eq!(created["roleEntityRef"]["name"], "vApp User");
    ck.expect(400, "POST", USERS, &[], "", Some(jane.clone()), bearer(&token))
        .await; // DUPLICATE_NAME
    ck.expect(403, "POST", USERS, &[], "", Some(jane.clone()), bearer(&auditor))
        .await;
    let saml_with_password = json!({"username": "sam", "roleEntityRef": {"name": "vApp User"}, "providerType": "SAML", "password": "Initial-Passw0rd"});
    ck.expect(
        400,
        "POST",
        USERS,
        &[],
        "",
        Some(saml_with_password),
        bearer(&token),
    )
    .await;
    let sam = json!({"username": "sam", "roleEntityRef": {"name": "vApp User"}, "providerType": "SAML"});
    ck.expect(201, "POST", USERS, &[], "", Some(sam), bearer(&token))
        .await;
    let (status, jane_token) = login(&sim, "jane.doe", &org.org, "Initial-Passw0rd").await;
    assert_eq!(
        (status, jane_token.is_some()),
        (200, true),
        "the new user logs in"
    );

    // Paging and FIQL filters.
    let page = ck
        .expect(200, "GET", USERS, &[], "?page=1&pageSize=2", None, bearer(&token))
        .await;
    assert_eq!(
        (page["resultTotal"].as_u64(), page["pageCount"].as_u64()),
        (Some(4), Some(2))
    );
    assert_eq!(page["values"].as_array().unwrap().len(), 2);
    let page2 = ck
        .expect(200, "GET", USERS, &[], "?page=2&pageSize=2", None, bearer(&token))
        .await;
    assert_ne!(page["values"][0]["id"], page2["values"][0]["id"]);
    let found = ck
        .expect(
            200,
            "GET",
            USERS,
            &[],
            "?filter=(username==jane.doe)",
            None,
            bearer(&token),
        )
        .await;
    assert_eq!(found["resultTotal"], 1);
    assert_eq!(found["values"][0]["id"], id.as_str());
    ck.expect(400, "GET", USERS, &[], "?pageSize=129", None, bearer(&token))
        .await;
    ck.expect(400, "GET", USERS, &[], "?filter=username", None, bearer(&token))
        .await;

    // Get, update (role by id), delete.
    let p = [("userId", id.as_str())];
    ck.expect(200, "GET", USER, &p, "", None, bearer(&token)).await;
    let mut update = jane.clone();
    update["roleEntityRef"] = json!({"id": admin_role});
    update.as_object_mut().unwrap().remove("password");
    let updated = ck
        .expect(200, "PUT", USER, &p, "", Some(update.clone()), bearer(&token))
        .await;
    assert_eq!(updated["roleEntityRef"]["name"], "Organization Administrator");
    ck.expect(403, "PUT", USER, &p, "", Some(update.clone()), bearer(&auditor))
        .await;
    let mut renamed = update.clone();
    renamed["username"] = json!("someone.else");
    ck.expect(400, "PUT", USER, &p, "", Some(renamed), bearer(&token))
        .await;
    ck.expect(403, "DELETE", USER, &p, "", None, bearer(&auditor))
        .await;
    ck.expect(204, "DELETE", USER, &p, "", None, bearer(&token)).await;
    ck.expect(404, "GET", USER, &p, "", None, bearer(&token)).await;
    ck.expect(404, "PUT", USER, &p, "", Some(update), bearer(&token))
        .await;
    ck.expect(404, "DELETE", USER, &p, "", None, bearer(&token)).await;
    ck.expect(
        406,
        "GET",
        USERS,
        &[],
        "",
        None,
        Auth::Headers(vec![("Authorization", format!("Bearer {token}"))]),
    )
    .await;

    let missing = ck.uncovered();
    assert!(
        missing.is_empty(),
        "operations never answered with a 2xx: {missing:?}"
    );
}

#[tokio::test]
async fn organizations_are_separate() {
    let sim = simulator().await;
    let fcas: Vec<String> = sim
        .contract_ids()
        .into_iter()
        .filter(|c| c.starts_with("FCA"))
        .collect();
    assert!(!fcas.is_empty());
    let a = sim.vcd_org(&fcas[0]).unwrap();
    // A password of one organization does not open another.
    for other in fcas.iter().skip(1) {
        let b = sim.vcd_org(other).unwrap();
        assert_ne!(a.org, b.org);
        assert_eq!(login(&sim, &a.admin_user, &b.org, &a.admin_password).await.0, 401);
    }
    let ocb = contract(&sim, "OCB");
    assert!(
        sim.vcd_org(&ocb).is_none(),
        "Flexible Engine contracts have no organization"
    );
}

fn vcd_client(
    sim: &Simulator,
    org: &str,
    user: &str,
    password: &str,
) -> (ccs_operator::console::CloudDirector, prometheus::Registry) {
    use ccs_operator::console::{CloudDirector, ConsoleShared, VcdCredentials};
    let registry = prometheus::Registry::new();
    let shared = ConsoleShared::new(fast_config(), &registry).unwrap();
    let credentials = VcdCredentials {
        org: org.into(),
        user: user.into(),
        password: ccs_operator::portal::Secret::new(password),
    };
    let base = url::Url::parse(&sim.base_url()).unwrap();
    (CloudDirector::new(shared, base, credentials), registry)
}

#[tokio::test]
async fn the_typed_client_manages_users_page_by_page_with_metrics() {
    use ccs_operator::console::clouddirector::{EntityRef, VcdUser};
    use ccs_operator::portal::{ErrorCategory, Secret};
    let sim = simulator().await;
    let org = sim.vcd_org(&contract(&sim, "FCA")).unwrap();
    let (vcd, registry) = vcd_client(&sim, &org.org, &org.admin_user, &org.admin_password);
    let roles = vcd.list_roles().await.unwrap();
    let role = roles
        .iter()
        .find(|r| r.name == "Console Access Only")
        .unwrap()
        .clone();
    // 130 users: more than one page of 128.
    for i in 0..130 {
        let user = VcdUser {
            username: format!("member{i:03}"),
            role_entity_ref: EntityRef {
                name: role.name.clone(),
                id: String::new(),
            }, // by name
            provider_type: "SAML".into(),
            ..VcdUser::default()
        };
        vcd.create_user(&user, None).await.unwrap();
    }
    let users = vcd.list_users().await.unwrap();
    assert_eq!(users.len(), 132, "the two seeded users and 130 new ones");
    assert_eq!(calls_on(&sim, "GET", "/cloudapi/1.0.0/users"), 2, "two pages");

    // Update the role, then delete.
    let mut one = users.iter().find(|u| u.username == "member007").unwrap().clone();
    one.role_entity_ref = roles.iter().find(|r| r.name == "vApp User").unwrap().clone();
    one.description = "marked".into();
    let updated = vcd.update_user(&one).await.unwrap();
    assert_eq!(
        (
            updated.role_entity_ref.name.as_str(),
            updated.description.as_str()
        ),
        ("vApp User", "marked")
    );
    vcd.delete_user(&one.id).await.unwrap();
    assert_eq!(
        vcd.delete_user(&one.id).await.unwrap_err().category,
        ErrorCategory::NotFound
    );

    // A LOCAL user with a password can log in.
    let local = VcdUser {
        username: "jane.doe".into(),
        role_entity_ref: role.clone(),
        ..VcdUser::default()
    };
    vcd.create_user(&local, Some(&Secret::new("Initial-Passw0rd")))
        .await
        .unwrap();
    let (jane, _) = vcd_client(&sim, &org.org, "jane.doe", "Initial-Passw0rd");
    jane.login().await.unwrap();

    let labels = [
        ("api", "clouddirector"),
        ("operation", "list_users"),
        ("code_class", "2xx"),
    ];
    assert_eq!(metric(&registry, "ccs_console_requests_total", &labels), 2.0);
    assert_eq!(
        metric(
            &registry,
            "ccs_console_requests_total",
            &[("api", "clouddirector"), ("operation", "session")]
        ),
        1.0,
        "one session, reused"
    );

    // Wrong password: Unauthorized, and the password appears nowhere in the error.
    let (bad, _) = vcd_client(&sim, &org.org, &org.admin_user, "wrong-password-123");
    let err = bad.list_users().await.unwrap_err();
    assert_eq!(err.category, ErrorCategory::Unauthorized);
    assert!(!format!("{err} {err:?} {bad:?}").contains("wrong-password-123"));
    // The auditor reads but may not write: Forbidden naming the right.
    let (auditor, _) = vcd_client(&sim, &org.org, &org.auditor_user, &org.auditor_password);
    assert!(auditor.list_users().await.is_ok());
    let err = auditor.create_user(&local, None).await.unwrap_err();
    assert_eq!(err.category, ErrorCategory::Forbidden);
    assert!(err.message.contains("Manage Users"), "{}", err.message);
}
