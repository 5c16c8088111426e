//! The status page end to end: the binary with `--web-listen`, the dev-cluster (RBAC and
//! SubjectAccessReviews) and the simulator; pages and JSON read over HTTP as a browser would.

use crate::support;

use ccs_operator::api::{BudgetAlert, CloudContract, PortalUser, ServiceOrder};
use ccs_operator::portal::{
    ClientConfig, Credentials, CustomerSpace, NewRequest, PortalShared, ReqwestPortal,
};
use k8s_openapi::api::core::v1::Namespace;
use kube::api::{Api, Patch, PatchParams};
use serde_json::{Value, json};
use support::access::*;
use support::e2e::*;

/// A client of the portal with a person's (the `manager` credential's) rights: what someone
/// clicking in the portal does, outside Git.
fn person(env: &Env, contract_id: &str) -> ReqwestPortal {
    let c = env.credential(contract_id, "manager");
    let shared = PortalShared::new(
        ClientConfig {
            // The simulator speaks plain http on loopback.
            allow_http: true,
            ..ClientConfig::default()
        },
        &prometheus::Registry::new(),
    )
    .expect("client builds");
    ReqwestPortal::new(
        shared,
        env.sim.base_url(),
        Credentials::new(c.client_id, c.client_secret, c.api_key),
    )
}

/// `GET path` on the page as `user` (proxy headers) in `language`: (status, body).
async fn get(web: &str, path: &str, user: Option<(&str, &str)>, language: &str) -> (u16, String) {
    let mut request = reqwest::Client::new()
        .get(format!("http://{web}{path}"))
        .header("Accept-Language", language);
    if let Some((name, groups)) = user {
        request = request
            .header("X-Forwarded-User", name)
            .header("X-Forwarded-Groups", groups);
    }
    let response = request.send().await.expect("page answers");
    let status = response.status().as_u16();
    (status, response.text().await.expect("body"))
}

async fn overview(web: &str, user: Option<(&str, &str)>) -> Value {
    let (status, body) = get(web, "/api/overview", user, "en").await;
    assert_eq!(status, 200, "{body}");
    serde_json::from_str(&body).expect("JSON overview")
}

fn order(name: &str) -> Value {
    json!({
        "apiVersion": "customerspace.io/v1alpha1", "kind": "ServiceOrder", "metadata": {"name": name},
        "spec": {"contract": "acme", "catalogItem": "FE-OBS", "parameters": {"region": "eu-west-0", "name": name}}
    })
}

/// A decimal amount grouped by thousands with `group`, its point written `point`.
fn localized(amount: &str, group: &str, point: &str) -> String {
    let (units, cents) = amount.split_once('.').unwrap_or((amount, ""));
    let digits: Vec<char> = units.chars().collect();
    let groups: Vec<String> = digits.rchunks(3).rev().map(|c| c.iter().collect()).collect();
    let cents = if cents.is_empty() {
        String::new()
    } else {
        format!("{point}{cents}")
    };
    format!("{}{cents}", groups.join(group))
}

/// The price texts a person should read for a catalog item: (English, French).
fn expected_prices(item: &ccs_operator::portal::CatalogItem) -> (String, String) {
    use ccs_operator::portal::PricePeriod;
    let Some(p) = &item.price else {
        return ("Price on quote".into(), "Prix sur devis".into());
    };
    let (en, fr) = match p.period {
        PricePeriod::Monthly => ("per month", "par mois"),
        PricePeriod::OneOff => ("one-off", "paiement unique"),
        PricePeriod::Unknown => ("", ""),
    };
    (
        format!("Price {} {} {en}", localized(&p.amount, ",", "."), p.currency),
        format!(
            "Prix {} {} {fr}",
            localized(&p.amount, "\u{202f}", ","),
            p.currency
        ),
    )
}

/// The price text in a catalog item's summary on a contract page.
fn item_summary(page: &str, code: &str) -> String {
    let item = page
        .split(&format!("data-item=\"{code}\""))
        .nth(1)
        .unwrap_or_else(|| panic!("{code} on the page"));
    let price = item
        .split("<span class=\"price\">")
        .nth(1)
        .and_then(|p| p.split("</span>").next())
        .unwrap_or_else(|| panic!("{code} shows a price"));
    price.to_string()
}

/// What [`populated`] set up.
struct Populated {
    env: Env,
    operator: Operator,
    web: String,
    portal_request: String,
    order_request: String,
    catalog: Vec<ccs_operator::portal::CatalogItem>,
    /// The contract page once it lists both requests and the catalog.
    page: String,
}

/// The contract `acme` with a budget, a PortalUser, a ServiceOrder and a request made by a person
/// in the portal; the operator serving the page (`web.auth: none`).
async fn populated() -> Populated {
    let env = Env::start().await;
    let id = contract(&env, "acme", 0, "operator").await;
    let portal = person(&env, &id);
    let by_hand = portal
        .submit_request(
            &id,
            &NewRequest {
                customer_reference: "made-by-hand".into(),
                request_type: Default::default(),
                catalog_item: "FE-OBS".into(),
                quantity: 1,
                parameters: [("region", "eu-west-1"), ("name", "by-hand")]
                    .map(|(k, v)| (k.to_string(), v.to_string()))
                    .into(),
            },
        )
        .await
        .expect("a request made in the portal");
    let catalog = portal.list_catalog(&id).await.expect("the portal's catalog");
    env.apply::<BudgetAlert>(support::manifests::budget("acme-monthly", "acme", "40000"))
        .await;
    env.apply::<PortalUser>(user("jane", "jane.web@acme.example", json!({})))
        .await;
    env.apply::<ServiceOrder>(order("bucket")).await;
    let operator = env.operator(&["--web-listen", "127.0.0.1:0", "--web-auth", "none"]);
    let web = operator.web.clone().expect("status page address");
    wait_for(&api::<CloudContract>(&env), "acme", "status.requests", |c| {
        c.status.as_ref().is_some_and(|s| s.requests.is_some())
    })
    .await;
    wait_for(&api::<BudgetAlert>(&env), "acme-monthly", "spend", |b| {
        b.status.as_ref().is_some_and(|s| s.actual.is_some())
    })
    .await;
    let ordered = wait_for(&api::<ServiceOrder>(&env), "bucket", "request id", |o| {
        o.status.as_ref().is_some_and(|s| s.request_id.is_some())
    })
    .await;
    let order_request = ordered.status.and_then(|s| s.request_id).expect("request id");
    // The contract page lists both requests once the cache has read them after the order.
    let page = wait_until(DEADLINE, "both requests on the contract page", || async {
        let (status, body) = get(&web, "/contracts/default/acme", None, "en").await;
        (status == 200
            && body.contains(&format!("data-request=\"{}\"", by_hand.id))
            && body.contains(&format!("data-request=\"{order_request}\""))
            && body.contains("data-item="))
        .then_some(body)
    })
    .await;
    Populated {
        env,
        operator,
        web,
        portal_request: by_hand.id,
        order_request,
        catalog,
        page,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn pages_and_json_show_the_objects_status_the_catalog_and_portal_made_requests() {
    let Populated {
        env,
        operator,
        web,
        catalog,
        page,
        ..
    } = populated().await;
    let contracts = api::<CloudContract>(&env);
    let budgets = api::<BudgetAlert>(&env);
    assert!(
        page.contains("made in the portal"),
        "the portal-made request is labelled: {page}"
    );
    assert!(
        page.contains("ServiceOrder bucket"),
        "the order's request names it"
    );
    for item in &catalog {
        assert!(
            page.contains(&format!("data-item=\"{}\"", item.code)),
            "catalog item {} on the page",
            item.code
        );
        assert!(
            page.contains(&format!("catalogItem: {}", item.code)),
            "its manifest"
        );
        for p in &item.parameters {
            for v in &p.allowed_values {
                assert!(page.contains(v.as_str()), "allowed value {v} of {}", item.code);
            }
        }
    }
    let items = page.matches("<details class=\"item\"").count();
    assert_eq!(items, catalog.len(), "exactly the portal's catalog");
    // Each item with the portal's price, in English and in French number format.
    let (_, french_page) = get(&web, "/contracts/default/acme", None, "fr").await;
    let priced = catalog.iter().filter(|i| i.price.is_some()).count();
    assert!(priced > 0, "the simulator's catalog has prices");
    for item in &catalog {
        let (english, french) = expected_prices(item);
        assert_eq!(item_summary(&page, &item.code), english, "price of {}", item.code);
        assert_eq!(
            item_summary(&french_page, &item.code),
            french,
            "prix de {}",
            item.code
        );
    }
    assert!(
        page.contains("jane.web@acme.example"),
        "emails shown in mode none"
    );
    assert!(page.contains("read from the portal"), "freshness said");

    // The numbers of the JSON overview are the objects' status, read at the same moment.
    let json = wait_until(DEADLINE, "overview equal to the status", || async {
        let json = overview(&web, None).await;
        let c = contracts.get("acme").await.ok()?;
        let b = budgets.get("acme-monthly").await.ok()?;
        let (cs, bs) = (c.status?, b.status?);
        let row = json["contracts"].as_array()?.first()?.clone();
        let bar = row["budgets"].as_array()?.first()?.clone();
        (row["openIncidents"] == json!(cs.incidents.map_or(0, |i| i.open))
            && row["weather"] == json!(cs.weather)
            && row["requests"] == serde_json::to_value(&cs.requests).ok()?
            && bar["actual"] == json!(bs.actual)
            && bar["forecast"] == json!(bs.forecast)
            && bar["amount"] == json!("40000"))
        .then_some(json)
    })
    .await;
    let row = &json["contracts"][0];
    assert_eq!(row["name"], "acme");
    assert_eq!(row["ready"], true);
    assert!(row["requests"]["open"].as_i64().expect("open requests") >= 1);
    let marks: Vec<&str> = row["budgets"][0]["thresholds"]
        .as_array()
        .expect("thresholds")
        .iter()
        .filter_map(|t| t["name"].as_str())
        .collect();
    assert_eq!(marks, ["half", "most"]);

    // The page speaks French to a French browser.
    let (_, french) = get(&web, "/", None, "fr-FR,fr;q=0.9,en;q=0.5").await;
    assert!(
        french.contains("lang=\"fr\"") && french.contains("incidents ouverts"),
        "{french}"
    );
    let (missing, _) = get(&web, "/contracts/default/nope", None, "en").await;
    assert_eq!(missing, 404);

    // The new metric follows status.requests (the state metrics refresh every few seconds).
    wait_until(
        DEADLINE,
        "ccs_contract_open_requests equal to status.requests",
        || async {
            let requests = contracts.get("acme").await.ok()?.status?.requests?;
            let scrape = operator.scrape().await;
            let value = |state: &str| {
                scrape
                    .lines()
                    .find(|l| {
                        l.starts_with("ccs_contract_open_requests{")
                            && l.contains(&format!("state=\"{state}\""))
                    })
                    .and_then(|l| l.rsplit(' ').next()?.parse::<i32>().ok())
            };
            (value("Transmitted")? == requests.transmitted && value("InProgress")? == requests.in_progress)
                .then_some(())
        },
    )
    .await;
}

async fn namespace(env: &Env, name: &str) {
    let api: Api<Namespace> = Api::all(env.client.clone());
    let ns = json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}});
    api.patch(name, &PatchParams::apply("e2e").force(), &Patch::Apply(&ns))
        .await
        .expect("namespace");
}

/// Applies an RBAC object (any kind) through the dynamic API.
async fn rbac(env: &Env, object: Value) {
    let kind = object["kind"].as_str().expect("kind").to_string();
    let gvk = kube::api::GroupVersionKind::gvk("rbac.authorization.k8s.io", "v1", &kind);
    let resource = kube::api::ApiResource::from_gvk_with_plural(&gvk, &format!("{}s", kind.to_lowercase()));
    let name = object["metadata"]["name"].as_str().expect("name").to_string();
    let api: Api<kube::api::DynamicObject> = match object["metadata"]["namespace"].as_str() {
        Some(ns) => Api::namespaced_with(env.client.clone(), ns, &resource),
        None => Api::all_with(env.client.clone(), &resource),
    };
    api.patch(&name, &PatchParams::apply("e2e").force(), &Patch::Apply(&object))
        .await
        .expect("RBAC object applied");
}

fn cluster_role(name: &str, resource: &str) -> Value {
    json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole", "metadata": {"name": name},
        "rules": [{"apiGroups": ["customerspace.io"], "resources": [resource], "verbs": ["get", "list", "watch"]}]})
}

fn binding(namespace: &str, name: &str, role: &str, subject: (&str, &str)) -> Value {
    json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding",
        "metadata": {"name": name, "namespace": namespace},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": role},
        "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": subject.0, "name": subject.1}]})
}

fn namespaces_in(json: &Value) -> Vec<String> {
    let mut all: Vec<String> = json["contracts"]
        .as_array()
        .expect("contracts")
        .iter()
        .filter_map(|c| c["namespace"].as_str().map(String::from))
        .collect();
    all.dedup();
    all
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn proxy_mode_shows_a_person_only_the_namespaces_rbac_lets_them_list() {
    let env = Env::start().await;
    contract(&env, "acme", 0, "operator").await;
    namespace(&env, "team-b").await;
    let other = env.sim.with_world(|w| {
        let mut fe = w
            .contracts
            .values()
            .filter(|c| c.offer == ccs_operator::portal::Offer::FE);
        fe.nth(1).expect("a second FE contract").id.clone()
    });
    let c = env.credential(&other, "operator");
    let data = [
        ("clientId", c.client_id),
        ("clientSecret", c.client_secret),
        ("apiKey", c.api_key),
    ]
    .map(|(k, v)| (k.to_string(), v))
    .into();
    env.secret_in("team-b", "creds", data, true).await;
    let contract_b = json!({
        "apiVersion": "customerspace.io/v1alpha1", "kind": "CloudContract",
        "metadata": {"name": "beta", "namespace": "team-b"},
        "spec": {"contractId": other, "offer": "FlexibleEngine", "credentialsSecretRef": {"name": "creds"}}
    });
    env.apply::<CloudContract>(contract_b).await;
    rbac(&env, cluster_role("contracts-viewer", "cloudcontracts")).await;
    rbac(&env, cluster_role("users-viewer", "portalusers")).await;
    rbac(
        &env,
        binding("default", "alice", "contracts-viewer", ("User", "alice")),
    )
    .await;
    rbac(
        &env,
        binding("team-b", "finance", "contracts-viewer", ("Group", "finance")),
    )
    .await;
    rbac(
        &env,
        binding("team-b", "finance-users", "users-viewer", ("Group", "finance")),
    )
    .await;
    let operator = env.operator(&["--web-listen", "127.0.0.1:0", "--web-auth", "proxy"]);
    let web = operator.web.clone().expect("status page address");
    let contracts_b: Api<CloudContract> = Api::namespaced(env.client.clone(), "team-b");
    wait_for(&contracts_b, "beta", "Ready", |c| {
        has_condition(c, "Ready", "True")
    })
    .await;
    wait_for(&api::<CloudContract>(&env), "acme", "Ready", |c| {
        has_condition(c, "Ready", "True")
    })
    .await;

    // Without the proxy's header: nothing.
    let (status, body) = get(&web, "/", None, "en").await;
    assert_eq!(status, 401);
    assert!(!body.contains("acme") && !body.contains("beta"));

    // Alice lists contracts in default only, and no PortalUsers: no email anywhere.
    let alice = Some(("alice", ""));
    assert_eq!(namespaces_in(&overview(&web, alice).await), ["default"]);
    let (status, page) = get(&web, "/contracts/default/acme", alice, "en").await;
    assert_eq!(status, 200);
    assert!(
        !page.contains('@'),
        "no email address without list portalusers: {page}"
    );
    let (status, hidden) = get(&web, "/contracts/team-b/beta", alice, "en").await;
    assert_eq!(status, 404);
    assert!(!hidden.contains("beta") && !hidden.contains(&other));
    let (_, home) = get(&web, "/", alice, "en").await;
    assert!(!home.contains("team-b") && !home.contains(&other), "{home}");

    // Bob, in the finance group, sees team-b with its emails (the invoice contact).
    let bob = Some(("bob", "staff, finance"));
    assert_eq!(namespaces_in(&overview(&web, bob).await), ["team-b"]);
    let (status, page) = get(&web, "/contracts/team-b/beta", bob, "en").await;
    assert_eq!(status, 200);
    assert!(
        page.contains('@'),
        "the invoice contact is shown with list portalusers"
    );
    let (status, _) = get(&web, "/contracts/default/acme", bob, "en").await;
    assert_eq!(status, 404);

    // Mallory has no binding: an empty page.
    assert!(namespaces_in(&overview(&web, Some(("mallory", "staff"))).await).is_empty());
}

/// Where the browser test keeps its screenshots (CI artifacts): `target/test-artifacts/web/`.
fn artifacts() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_TARGET_TMPDIR"))
        .parent()
        .expect("the target directory")
        .join("test-artifacts/web")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_phone_and_a_desktop_browser_see_the_numbers_the_catalog_and_the_portal_request() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let modules = root.join(".ci/browser/node_modules/playwright-core");
    assert!(
        modules.exists(),
        "{} missing: run `npm ci --prefix .ci/browser` (bash .ci/test does)",
        modules.display()
    );
    assert!(
        std::path::Path::new("/usr/bin/chromium").exists(),
        "/usr/bin/chromium missing: run `bash .ci/install-chromium` (bash .ci/test does)"
    );
    let p = populated().await;
    // Spend stops moving, so the browser and the objects can be compared.
    p.env.sim.freeze_consumption(true);
    let frozen = p
        .env
        .sim
        .with_world(|w| w.consumption_frozen_at)
        .expect("frozen")
        .timestamp();
    let budgets = api::<BudgetAlert>(&p.env);
    let budget = wait_until(
        DEADLINE,
        "the page's spend equal to the frozen BudgetAlert's",
        || async {
            let budget = budgets.get("acme-monthly").await.ok()?;
            let as_of = budget.status.as_ref()?.data_as_of.as_deref()?;
            let as_of = chrono::DateTime::parse_from_rfc3339(as_of).ok()?.timestamp();
            if as_of != frozen {
                return None;
            }
            let json = overview(&p.web, None).await;
            let shown = json["contracts"][0]["budgets"][0]["actual"].clone();
            (shown == json!(budget.status.as_ref()?.actual)).then_some(budget)
        },
    )
    .await;
    let contract = api::<CloudContract>(&p.env).get("acme").await.expect("contract");
    let status = contract.status.expect("status");
    let expected = json!({
        "base": format!("http://{}", p.web),
        "contract": "default/acme",
        "weather": format!("{:?}", status.weather.expect("weather")),
        "openIncidents": status.incidents.map_or(0, |i| i.open),
        "budgets": [{
            "name": "acme-monthly",
            "actual": budget.status.and_then(|s| s.actual).expect("spend"),
            "amount": budget.spec.amount,
            "thresholds": budget.spec.thresholds.len(),
        }],
        "catalog": p.catalog.iter().map(|i| i.code.clone()).collect::<Vec<_>>(),
        "prices": p.catalog.iter().map(|i| expected_prices(i).0).collect::<Vec<_>>(),
        "portalRequest": p.portal_request,
        "orderRequest": p.order_request,
    });
    let file = p.env.dir.path().join("expected.json");
    std::fs::write(&file, expected.to_string()).expect("expectations written");
    let out = artifacts();
    let run = tokio::process::Command::new("node")
        .arg(root.join("tests/browser/status_page.mjs"))
        .arg(&file)
        .arg(&out)
        .output()
        .await
        .expect("node runs (install Node.js 20: apt-get install nodejs npm)");
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&run.stdout),
        String::from_utf8_lossy(&run.stderr)
    );
    assert!(run.status.success(), "browser test failed: {said}");
    for shot in [
        "overview-390-light.png",
        "contract-390-dark.png",
        "contract-1280-light.png",
    ] {
        assert!(
            out.join(shot).exists(),
            "screenshot {shot} kept in {}",
            out.display()
        );
    }
}
