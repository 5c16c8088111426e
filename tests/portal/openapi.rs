//! Every route of `config/customer-space-api.yaml` is served by the simulator, and every answer
//! (status, media type, body, paging headers) matches the document.

use crate::portal_common;

use ccs_operator::portal::API_PREFIX;
use ccs_simulator::{OPENAPI, Simulator};
use portal_common::*;
use serde_json::{Value, json};
use std::collections::BTreeSet;

/// How a call authenticates.
pub(crate) enum Auth<'a> {
    None,
    /// Raw headers (the Cloud Director API: Basic `user@org`, Bearer, its `Accept`).
    Headers(Vec<(&'static str, String)>),
    Basic(&'a ccs_operator::portal::Credentials),
    Bearer(&'a str, &'a ccs_operator::portal::Credentials),
}

pub(crate) struct Checker {
    doc: Value,
    http: reqwest::Client,
    base: String,
    /// (method, template) answered with a 2xx at least once.
    covered: BTreeSet<(String, String)>,
    checked: usize,
}

impl Checker {
    fn new(sim: &Simulator) -> Self {
        Self::for_document(sim, OPENAPI)
    }

    /// A checker of the simulator against another OpenAPI document it serves.
    pub(crate) fn for_document(sim: &Simulator, document: &str) -> Self {
        let doc: Value = serde_saphyr::from_str(document).expect("the contract is valid YAML");
        Self {
            doc,
            http: reqwest::Client::new(),
            base: sim.base_url(),
            covered: BTreeSet::new(),
            checked: 0,
        }
    }

    /// Follows a local `$ref`.
    fn resolve<'a>(&'a self, value: &'a Value) -> &'a Value {
        match value.get("$ref").and_then(Value::as_str) {
            Some(r) => self
                .doc
                .pointer(r.trim_start_matches('#'))
                .unwrap_or_else(|| panic!("dangling $ref {r}")),
            None => value,
        }
    }

    /// Calls `method path` (built from `template` and `params`) and checks the answer against the
    /// document. Returns the status and the JSON body (Null for other media types).
    async fn call(
        &mut self,
        method: &str,
        template: &str,
        params: &[(&str, &str)],
        query: &str,
        body: Option<Value>,
        auth: Auth<'_>,
    ) -> (u16, Value) {
        let mut path = template.to_string();
        for (k, v) in params {
            path = path.replace(&format!("{{{k}}}"), v);
        }
        let url = format!("{}{path}{query}", self.base);
        let mut req = self.http.request(method.parse().unwrap(), url);
        req = match auth {
            Auth::None => req,
            Auth::Headers(headers) => headers
                .into_iter()
                .fold(req, |req, (name, value)| req.header(name, value)),
            Auth::Basic(c) => req
                .basic_auth(&c.client_id, Some(c.client_secret.expose()))
                .header("X-Api-Key", c.api_key.expose())
                .header("Content-Type", "application/x-www-form-urlencoded")
                .body("grant_type=client_credentials"),
            Auth::Bearer(token, c) => req.bearer_auth(token).header("X-Api-Key", c.api_key.expose()),
        };
        if let Some(body) = body {
            req = req.json(&body);
        }
        let resp = req.send().await.unwrap();
        let status = resp.status().as_u16();
        let headers = resp.headers().clone();
        let bytes = resp.bytes().await.unwrap();
        let op = self.doc["paths"][template][method.to_lowercase()].clone();
        assert!(op.is_object(), "{method} {template} is not in the document");
        let documented = self.resolve(&op["responses"][status.to_string()]).clone();
        assert!(
            documented.is_object(),
            "{method} {path}: status {status} not documented; body {:?}",
            String::from_utf8_lossy(&bytes)
        );
        if (200..300).contains(&status) {
            self.covered.insert((method.to_string(), template.to_string()));
        }
        self.checked += 1;
        if let Some(paged) = documented.get("headers").map(|h| self.resolve(h).clone()) {
            for name in paged.as_object().unwrap().keys().filter(|n| n.starts_with("X-")) {
                assert!(
                    headers.contains_key(name.as_str()),
                    "{method} {path}: header {name} missing"
                );
            }
        }
        let Some(content) = documented.get("content").and_then(Value::as_object) else {
            assert!(
                bytes.is_empty(),
                "{method} {path}: {status} has no documented body"
            );
            return (status, Value::Null);
        };
        let (media, spec) = content.iter().next().unwrap();
        let actual = headers
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        assert!(
            actual.starts_with(media.as_str()),
            "{method} {path}: content-type {actual}, documented {media}"
        );
        if media != "application/json" {
            assert!(!bytes.is_empty());
            return (status, Value::Null);
        }
        let value: Value = serde_json::from_slice(&bytes).unwrap();
        self.validate(&spec["schema"], &value, &format!("{method} {path} -> {status}"));
        (status, value)
    }

    /// Validates against a schema of the document; `$ref`s into components resolve because the
    /// components travel with the schema.
    fn validate(&self, schema: &Value, value: &Value, what: &str) {
        let errors = self.errors(schema, value);
        assert!(errors.is_empty(), "{what}: {errors:#?}\n{value:#}");
    }

    fn errors(&self, schema: &Value, value: &Value) -> Vec<String> {
        let mut root = schema.as_object().cloned().unwrap_or_default();
        root.insert(
            "$schema".into(),
            json!("https://json-schema.org/draft/2020-12/schema"),
        );
        root.insert("components".into(), self.doc["components"].clone());
        let validator = jsonschema::validator_for(&Value::Object(root)).unwrap();
        validator
            .iter_errors(value)
            .map(|e| format!("{} at {}", e, e.instance_path()))
            .collect()
    }

    /// Like [`Checker::call`], and the status must be `status`.
    // One argument per part of an HTTP call reads better in the long table of calls below.
    #[allow(clippy::too_many_arguments)]
    pub(crate) async fn expect(
        &mut self,
        status: u16,
        method: &str,
        template: &str,
        params: &[(&str, &str)],
        query: &str,
        body: Option<Value>,
        auth: Auth<'_>,
    ) -> Value {
        let (actual, value) = self.call(method, template, params, query, body, auth).await;
        assert_eq!(actual, status, "{method} {template}{query}: {value}");
        value
    }

    /// The operations never answered with a 2xx.
    pub(crate) fn uncovered(&self) -> Vec<(String, String)> {
        self.operations().difference(&self.covered).cloned().collect()
    }

    /// Every operation of the document.
    fn operations(&self) -> BTreeSet<(String, String)> {
        let mut ops = BTreeSet::new();
        for (path, item) in self.doc["paths"].as_object().unwrap() {
            // Path-level `parameters` is not an operation.
            for method in item.as_object().unwrap().keys().filter(|k| *k != "parameters") {
                ops.insert((method.to_uppercase(), path.clone()));
            }
        }
        ops
    }
}

#[tokio::test]
async fn every_route_is_served_and_every_answer_matches_the_contract() {
    let sim = simulator().await;
    let mut ck = Checker::new(&sim);
    let id = contract(&sim, "OCB");
    let cred = sim.credentials(&id, "manager").unwrap();
    let visitor = sim.credentials(&id, "visitor").unwrap();
    let p = |rest: &str| format!("{API_PREFIX}{rest}");
    let cp = |rest: &str| format!("{API_PREFIX}/contracts/{{contractId}}{rest}");

    let token = ck
        .expect(200, "POST", "/oauth/v3/token", &[], "", None, Auth::Basic(&cred))
        .await;
    let token = token["access_token"].as_str().unwrap().to_string();
    let vtoken = ck
        .expect(
            200,
            "POST",
            "/oauth/v3/token",
            &[],
            "",
            None,
            Auth::Basic(&visitor),
        )
        .await;
    let vtoken = vtoken["access_token"].as_str().unwrap().to_string();
    let bad = ccs_operator::portal::Credentials::new(&cred.client_id, "nope", cred.api_key.expose());
    ck.expect(401, "POST", "/oauth/v3/token", &[], "", None, Auth::Basic(&bad))
        .await;
    let auth = || Auth::Bearer(&token, &cred);
    let c = [("contractId", id.as_str())];

    ck.expect(200, "GET", "/openapi.yaml", &[], "", None, Auth::None)
        .await;
    let page = ck.http.get(format!("{}/docs", ck.base)).send().await.unwrap();
    assert_eq!(page.text().await.unwrap(), ccs_simulator::OPENAPI_DOCS);
    ck.expect(200, "GET", "/docs", &[], "", None, Auth::None).await;
    ck.expect(
        200,
        "GET",
        &p("/contracts"),
        &[],
        "?offset=0&limit=10",
        None,
        auth(),
    )
    .await;
    ck.expect(400, "GET", &p("/contracts"), &[], "?limit=9999", None, auth())
        .await;
    ck.expect(
        401,
        "GET",
        &p("/contracts"),
        &[],
        "",
        None,
        Auth::Bearer("bogus", &cred),
    )
    .await;
    ck.expect(200, "GET", &cp(""), &c, "", None, auth()).await;
    ck.expect(404, "GET", &cp(""), &[("contractId", "NOPE")], "", None, auth())
        .await;
    ck.expect(200, "GET", &cp("/dashboard"), &c, "", None, auth())
        .await;
    ck.expect(200, "GET", &cp("/consumption"), &c, "", None, auth())
        .await;
    let bills = ck
        .expect(200, "GET", &cp("/bills"), &c, "?limit=12", None, auth())
        .await;
    let bill = bills[0]["id"].as_str().unwrap().to_string();
    let period = bills[0]["period"].as_str().unwrap().to_string();
    ck.expect(
        403,
        "GET",
        &cp("/bills"),
        &c,
        "",
        None,
        Auth::Bearer(&vtoken, &visitor),
    )
    .await;
    let pdf = [("contractId", id.as_str()), ("billId", bill.as_str())];
    ck.expect(200, "GET", &cp("/bills/{billId}/pdf"), &pdf, "", None, auth())
        .await;
    let q = format!("?period={period}");
    ck.expect(200, "GET", &cp("/billing-report"), &c, &q, None, auth())
        .await;
    ck.expect(400, "GET", &cp("/billing-report"), &c, "?period=x", None, auth())
        .await;
    ck.expect(200, "GET", &cp("/platform-status"), &c, "", None, auth())
        .await;
    ck.expect(200, "GET", &cp("/catalog-items"), &c, "", None, auth())
        .await;

    // Users.
    let users = ck.expect(200, "GET", &cp("/users"), &c, "", None, auth()).await;
    let referent_email = users
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["referent"] == true)
        .unwrap()["account"]["email"]
        .clone();
    let new_user = json!({"email": "api.test@acme.example", "firstName": "Api", "lastName": "Test",
        "profiles": {"users": "Visitor", "requests": "Manager"}, "sendInvitation": true});
    let added = ck
        .expect(201, "POST", &cp("/users"), &c, "", Some(new_user.clone()), auth())
        .await;
    ck.expect(200, "POST", &cp("/users"), &c, "", Some(new_user), auth())
        .await;
    let bad_login =
        json!({"email": "x@acme.example", "login": "no", "firstName": "X", "lastName": "Y", "profiles": {}});
    ck.expect(422, "POST", &cp("/users"), &c, "", Some(bad_login), auth())
        .await;
    ck.expect(400, "POST", &cp("/users"), &c, "", Some(json!({"x": 1})), auth())
        .await;
    let account = added["user"]["account"]["id"].as_str().unwrap().to_string();
    let ua = [("contractId", id.as_str()), ("accountId", account.as_str())];
    let acc = [("accountId", account.as_str())];
    let update = json!({"profiles": {"dashboard": "Visitor"}, "enabled": true});
    ck.expect(
        200,
        "PUT",
        &cp("/users/{accountId}"),
        &ua,
        "",
        Some(update.clone()),
        auth(),
    )
    .await;
    let vauth = Auth::Bearer(&vtoken, &visitor);
    ck.expect(
        403,
        "PUT",
        &cp("/users/{accountId}"),
        &ua,
        "",
        Some(update),
        vauth,
    )
    .await;
    let q = "?email=api.test%40acme.example";
    ck.expect(200, "GET", &p("/users"), &[], q, None, auth()).await;
    ck.expect(
        200,
        "POST",
        &p("/users/{accountId}/invitation"),
        &acc,
        "",
        None,
        auth(),
    )
    .await;
    let change = json!({"newReferentEmail": referent_email, "removePreviousReferentAccess": false});
    ck.expect(200, "PUT", &cp("/referent"), &c, "", Some(change), auth())
        .await;
    let change = json!({"newReferentEmail": "ghost@acme.example"});
    ck.expect(409, "PUT", &cp("/referent"), &c, "", Some(change), auth())
        .await;
    ck.expect(204, "DELETE", &cp("/users/{accountId}"), &ua, "", None, auth())
        .await;
    ck.expect(404, "DELETE", &cp("/users/{accountId}"), &ua, "", None, auth())
        .await;
    ck.expect(204, "DELETE", &p("/users/{accountId}"), &acc, "", None, auth())
        .await;

    // Requests.
    let region = sim.with_world(|w| w.contracts[&id].regions[0].clone());
    let order =
        json!({"customerReference": "oa-1", "catalogItem": "FE-EIP", "parameters": {"region": region}});
    let req = ck
        .expect(201, "POST", &cp("/requests"), &c, "", Some(order.clone()), auth())
        .await;
    ck.expect(200, "POST", &cp("/requests"), &c, "", Some(order), auth())
        .await;
    let wrong = json!({"customerReference": "oa-2", "catalogItem": "FE-NOPE"});
    ck.expect(422, "POST", &cp("/requests"), &c, "", Some(wrong), auth())
        .await;
    let q = "?customerReference=oa-1&state=Transmitted";
    ck.expect(200, "GET", &cp("/requests"), &c, q, None, auth()).await;
    let rid = req["id"].as_str().unwrap().to_string();
    let r = [("contractId", id.as_str()), ("requestId", rid.as_str())];
    ck.expect(200, "GET", &cp("/requests/{requestId}"), &r, "", None, auth())
        .await;
    ck.expect(
        200,
        "POST",
        &cp("/requests/{requestId}/cancel"),
        &r,
        "",
        None,
        auth(),
    )
    .await;
    sim.advance_clock(3600.0);
    ck.expect(200, "GET", &cp("/requests/{requestId}"), &r, "", None, auth())
        .await;

    // Admin.
    ck.expect(200, "GET", "/admin/calls", &[], "?since=3", None, Auth::None)
        .await;
    ck.expect(200, "GET", "/admin/clock", &[], "", None, Auth::None)
        .await;
    ck.expect(
        200,
        "PUT",
        "/admin/clock",
        &[],
        "",
        Some(json!({"advanceSeconds": 60, "speed": 0})),
        Auth::None,
    )
    .await;
    let rules = json!([{"method": "GET", "route": p("/contracts/{contractId}/users"), "fault": {"type": "rateLimit", "retryAfterSeconds": 2}, "count": 1},
        {"route": "/nothing*", "fault": {"type": "latency", "ms": 1, "jitterMs": 1}, "rate": 0.5}]);
    ck.expect(200, "PUT", "/admin/faults", &[], "", Some(rules), Auth::None)
        .await;
    ck.expect(200, "GET", "/admin/faults", &[], "", None, Auth::None)
        .await;
    ck.expect(429, "GET", &cp("/users"), &c, "", None, auth()).await;
    ck.expect(204, "DELETE", "/admin/faults", &[], "", None, Auth::None)
        .await;
    let incident = json!({"region": region, "severity": 1, "title": "Outage", "durationSeconds": 3600});
    let opened = ck
        .expect(
            201,
            "POST",
            "/admin/incidents",
            &[],
            "",
            Some(incident),
            Auth::None,
        )
        .await;
    let status = ck
        .expect(200, "GET", &cp("/platform-status"), &c, "", None, auth())
        .await;
    assert_eq!(status["weather"], "Stormy");
    let inc = [("incidentId", opened["id"].as_str().unwrap())];
    let state = "/admin/incidents/{incidentId}/state";
    let resolve = Some(json!({"state": "Resolved"}));
    ck.expect(200, "PUT", state, &inc, "", resolve.clone(), Auth::None)
        .await;
    let status = ck
        .expect(200, "GET", &cp("/platform-status"), &c, "", None, auth())
        .await;
    assert_eq!(status["weather"], "Sunny", "{status}");
    ck.expect(
        200,
        "PUT",
        state,
        &inc,
        "",
        Some(json!({"state": null})),
        Auth::None,
    )
    .await;
    let missing = [("incidentId", "INC-none")];
    ck.expect(404, "PUT", state, &missing, "", resolve, Auth::None)
        .await;
    ck.expect(
        422,
        "PUT",
        state,
        &inc,
        "",
        Some(json!({"state": "Gone"})),
        Auth::None,
    )
    .await;
    let freeze = Some(json!({"frozen": true}));
    ck.expect(200, "PUT", "/admin/consumption", &[], "", freeze, Auth::None)
        .await;
    ck.expect(200, "GET", "/admin/state", &[], "", None, Auth::None)
        .await;
    ck.expect(200, "GET", "/admin/credentials", &[], "", None, Auth::None)
        .await;
    ck.expect(204, "DELETE", "/admin/calls", &[], "", None, Auth::None)
        .await;
    ck.expect(204, "POST", "/admin/tokens/revoke", &[], "", None, Auth::None)
        .await;
    ck.expect(401, "GET", &cp(""), &c, "", None, auth()).await;

    let missing = ck.uncovered();
    assert!(
        missing.is_empty(),
        "operations never answered with a 2xx: {missing:?}"
    );
    assert!(ck.checked > 50, "{} answers checked", ck.checked);
}

#[tokio::test]
async fn unknown_routes_and_methods_answer_json_errors() {
    let sim = simulator().await;
    let http = reqwest::Client::new();
    for (method, path, status) in [("GET", "/nope", 404), ("PATCH", "/oauth/v3/token", 405)] {
        let resp = http
            .request(method.parse().unwrap(), format!("{}{path}", sim.base_url()))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status().as_u16(), status);
        let body: serde_json::Value = resp.json().await.unwrap();
        assert!(body["code"].is_u64() && body["message"].is_string(), "{body}");
    }
}

#[tokio::test]
async fn the_checker_rejects_a_wrong_body() {
    let sim = simulator().await;
    let ck = Checker::new(&sim);
    // Proves `$ref`s resolve and constraints bite: otherwise the test above would prove nothing.
    let contract = json!({"$ref": "#/components/schemas/Contract"});
    assert!(!ck.errors(&contract, &json!({"id": 1})).is_empty());
    let bill = json!({"id": "B", "period": "2026-13-01", "issuedAt": "2026-01-01", "dueAt": "2026-01-01",
        "amount": "1.5", "currency": "EUR", "status": "Paid"});
    let errors = ck.errors(&json!({"$ref": "#/components/schemas/Bill"}), &bill);
    assert_eq!(errors.len(), 2, "{errors:?}");
}

#[tokio::test]
async fn disabled_admin_routes_answer_the_documented_404() {
    ccs_operator::install_crypto_provider();
    let sim = Simulator::serve(
        ccs_simulator::SimConfig::default(),
        ccs_simulator::ServeOptions {
            admin: false,
            ..Default::default()
        },
    )
    .await
    .unwrap();
    let mut ck = Checker::new(&sim);
    let admin: Vec<_> = ck
        .operations()
        .into_iter()
        .filter(|(_, path)| path.starts_with("/admin/"))
        .collect();
    assert!(admin.len() >= 10, "{admin:?}");
    for (method, path) in admin {
        let body = matches!(method.as_str(), "PUT" | "POST").then(|| json!({}));
        ck.expect(404, &method, &path, &[], "", body, Auth::None).await;
    }
    ck.expect(200, "GET", "/docs", &[], "", None, Auth::None).await;
}
