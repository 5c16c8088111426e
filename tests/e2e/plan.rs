//! `ccs-operator plan` end to end: the binary against the dev-cluster (through a recorder) and the
//! simulator, every marker from a real manifest change, zero writes during the plan, the JSON
//! output against its schema, exit codes, then the same manifests applied and the operator's
//! portal calls compared with the plan.

use crate::support;

use ccs_operator::api::{BudgetAlert, CloudContract, PortalUser, ServiceOrder};
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Command, Stdio};
use support::access::*;
use support::e2e::*;
use support::recorder::Recorder;

struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

fn plan(kubeconfig: Option<&Path>, args: &[&str], stdin: Option<&str>) -> Run {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_ccs-operator"));
    cmd.arg("plan");
    if let Some(k) = kubeconfig {
        cmd.arg("--kubeconfig").arg(k);
    }
    let mut child = cmd
        .args(args)
        .env_remove("KUBECONFIG")
        .env_remove("HTTPS_PROXY")
        .env_remove("HTTP_PROXY")
        .env_remove("https_proxy")
        .env_remove("http_proxy")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("plan starts");
    if let Some(text) = stdin {
        use std::io::Write;
        child
            .stdin
            .take()
            .expect("stdin")
            .write_all(text.as_bytes())
            .expect("stdin written");
    }
    drop(child.stdin.take());
    let out = child.wait_with_output().expect("plan exits");
    Run {
        code: out.status.code().expect("exit code"),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

fn write(env: &Env, name: &str, docs: &[Value]) -> String {
    let text: String = docs.iter().map(|d| format!("---\n{d}\n")).collect();
    let path = env.dir.path().join(name);
    std::fs::write(&path, text).expect("manifests written");
    path.display().to_string()
}

fn contract_manifest(name: &str, id: &str, secret: &str) -> Value {
    json!({"apiVersion": "customerspace.io/v1alpha1", "kind": "CloudContract", "metadata": {"name": name},
           "spec": {"contractId": id, "offer": "FlexibleEngine", "credentialsSecretRef": {"name": secret}}})
}

fn budget(amount: &str) -> Value {
    json!({"apiVersion": "customerspace.io/v1alpha1", "kind": "BudgetAlert", "metadata": {"name": "spend"},
           "spec": {"contract": "acme", "amount": amount, "currency": "EUR", "recipients": ["finops@acme.example"],
                    "thresholds": [{"name": "half", "percent": 50}]}})
}

fn order(name: &str, quantity: i32) -> Value {
    json!({"apiVersion": "customerspace.io/v1alpha1", "kind": "ServiceOrder", "metadata": {"name": name},
           "spec": {"contract": "acme", "catalogItem": "FE-OBS", "quantity": quantity,
                    "parameters": {"region": "eu-west-0", "name": name}}})
}

fn with_profiles(name: &str, email: &str, contract: &str, profiles: Value) -> Value {
    let mut u = user(name, email, json!({}));
    u["spec"]["access"] = json!([{"contract": contract, "profiles": profiles}]);
    u
}

/// The object plans of a JSON plan by name.
fn by_name(plan: &Value) -> BTreeMap<String, Value> {
    plan["objects"]
        .as_array()
        .expect("objects")
        .iter()
        .map(|o| (o["name"].as_str().expect("name").to_string(), o.clone()))
        .collect()
}

/// The portal write a simulator call is, as (operation, contract id).
fn operation(c: &ccs_simulator::CallRecord) -> (String, String) {
    let r = c.route.as_str();
    let op = match c.method.as_str() {
        "POST" if r.ends_with("/users") => "addUser",
        "PUT" | "PATCH" if r.ends_with("/users/{accountId}") && r.contains("{contractId}") => "setAccess",
        "POST" if r.ends_with("/invitation") => "sendInvitation",
        "PUT" if r.ends_with("/referent") => "changeReferent",
        "POST" if r.ends_with("/requests") => "submitOrder",
        "DELETE" if r.contains("{contractId}") => "removeAccess",
        "DELETE" => "deleteAccount",
        _ => "other",
    };
    (op.to_string(), c.contract_id.clone().unwrap_or_default())
}

async fn spend(env: &Env) -> f64 {
    let c = wait_for(&api::<CloudContract>(env), "acme", "consumption observed", |c| {
        c.status.as_ref().and_then(|s| s.consumption.as_ref()).is_some()
    })
    .await;
    c.status
        .and_then(|s| s.consumption)
        .map(|c| c.amount.parse().expect("decimal"))
        .expect("consumption")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn every_marker_no_writes_json_schema_exit_codes_and_the_operator_agrees() {
    let env = Env::start().await;
    // The referent's credential: only the current referent may hand the contract over.
    let id = contract(&env, "acme", 0, "manager").await;
    let later_id = env.sim.with_world(|w| {
        let mut fe = w
            .contracts
            .values()
            .filter(|c| c.offer == ccs_operator::portal::Offer::FE);
        fe.nth(1).expect("two FE contracts").id.clone()
    });
    env.credentials_secret("later-creds", &later_id, "operator").await;
    let mut operator = env.operator(&[]);
    wait_condition(&api::<CloudContract>(&env), "acme", "Ready", |s, _| s == "True").await;
    let spent = spend(&env).await;
    assert!(spent > 0.0, "the seeded contract has a spend");
    let (other, _) = seeded_user(&env, &id);

    // What is live: three users, a budget far above the spend, an order, and a user on a contract
    // that does not exist yet (never observed).
    let jane = with_profiles(
        "jane",
        "jane@acme.example",
        "acme",
        json!({"dashboard": "Visitor", "invoices": "Visitor"}),
    );
    let joe = with_profiles(
        "joe",
        "joe@acme.example",
        "acme",
        json!({"dashboard": "Visitor", "requests": "Manager"}),
    );
    let same = with_profiles("same", "same@acme.example", "acme", json!({"support": "Visitor"}));
    let waiting = with_profiles(
        "waiting",
        "waiting@acme.example",
        "later",
        json!({"dashboard": "Visitor"}),
    );
    let big = format!("{:.0}", (spent * 10.0).ceil());
    for u in [&jane, &joe, &same, &waiting] {
        env.apply::<PortalUser>(u.clone()).await;
    }
    env.apply::<BudgetAlert>(budget(&big)).await;
    env.apply::<ServiceOrder>(order("first", 1)).await;
    for name in ["jane", "joe", "same"] {
        wait_for(&api::<PortalUser>(&env), name, "observed and Ready", |u| {
            has_condition(u, "Ready", "True") && u.status.as_ref().is_some_and(|s| s.state.is_some())
        })
        .await;
    }
    wait_for(&api::<BudgetAlert>(&env), "spend", "evaluated", |b| {
        b.status.as_ref().is_some_and(|s| !s.thresholds.is_empty())
    })
    .await;
    wait_for(&api::<ServiceOrder>(&env), "first", "submitted", |o| {
        o.status.as_ref().and_then(|s| s.request_id.as_ref()).is_some()
    })
    .await;
    wait_for(&api::<PortalUser>(&env), "waiting", "an error condition", |u| {
        has_condition(u, "Ready", "False")
    })
    .await;
    // The operator is stopped: every call the simulator and the API server see is the plan's.
    operator.stop();

    let mut acme = contract_manifest("acme", &id, "acme-creds");
    acme["spec"]["referent"] = json!({"email": other});
    let mut jane2 = jane.clone();
    jane2["spec"]["access"][0]["profiles"]["invoices"] = json!("Manager");
    let mut joe2 = joe.clone();
    joe2["spec"]["access"][0]["profiles"] = json!({"dashboard": "Visitor"});
    let sixty = format!("{:.0}", (spent / 0.6).round());
    let changed = vec![
        acme.clone(),
        contract_manifest("later", &later_id, "later-creds"),
        contract_manifest("acme2", &id, "acme-creds"),
        jane2.clone(),
        joe2.clone(),
        same.clone(),
        waiting.clone(),
        with_profiles("new", "new@acme.example", "acme", json!({"dashboard": "Visitor"})),
        with_profiles(
            "dup",
            "JANE@acme.example",
            "acme",
            json!({"dashboard": "Visitor"}),
        ),
        with_profiles(
            "ghost",
            "ghost@acme.example",
            "nope",
            json!({"dashboard": "Visitor"}),
        ),
        budget(&sixty),
        order("first", 2),
        order("second", 1),
    ];
    let all = write(&env, "changed.yaml", &changed);

    let recorder = Recorder::start(&env.cluster.base_url()).await;
    let kubeconfig = env.kubeconfig_for(&recorder.url);
    let seq = env.last_call();
    let run = plan(
        Some(&kubeconfig),
        &["-f", &all, "-o", "json", "--detailed-exitcode"],
        None,
    );
    assert_eq!(run.code, 1, "refusals exit 1: {}", run.stderr);
    assert!(run.stderr.contains("refused"), "{}", run.stderr);
    assert!(
        env.calls_since(seq + 1).is_empty(),
        "plan called the portal: {:?}",
        env.calls_since(seq + 1)
    );
    let requests = recorder.requests();
    assert!(!requests.is_empty(), "plan read the cluster through the recorder");
    assert!(
        requests.iter().all(|(m, _)| m == "GET"),
        "plan sent something else than GET: {requests:?}"
    );

    let output: Value = serde_json::from_str(&run.stdout).expect("JSON output");
    let schema: Value = serde_json::from_str(
        &std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/config/plan-output.schema.json"
        ))
        .expect("schema file"),
    )
    .expect("schema JSON");
    let validator = jsonschema::validator_for(&schema).expect("schema compiles");
    let errors: Vec<String> = validator.iter_errors(&output).map(|e| e.to_string()).collect();
    assert!(
        errors.is_empty(),
        "output does not match its schema: {errors:?}\n{output:#}"
    );

    let objects = by_name(&output);
    let marker = |name: &str| objects[name]["marker"].as_str().expect("marker").to_string();
    let text = |name: &str| objects[name]["changes"].to_string();
    for (name, expected) in [
        ("acme", "[!]"),
        ("later", "[+]"),
        ("acme2", "[x]"),
        ("jane", "[~]"),
        ("joe", "[-]"),
        ("same", "[=]"),
        ("waiting", "[?]"),
        ("new", "[+]"),
        ("dup", "[x]"),
        ("ghost", "[x]"),
        ("spend", "[!]"),
        ("first", "[x]"),
        ("second", "[!]"),
    ] {
        assert_eq!(marker(name), expected, "{name}: {}", text(name));
    }
    assert!(
        text("jane").contains("invoices: Visitor -> Manager"),
        "{}",
        text("jane")
    );
    assert!(
        text("joe").contains("requests: Manager -> (unset)"),
        "{}",
        text("joe")
    );
    assert!(text("acme").contains(&format!("-> {other}")), "{}", text("acme"));
    assert!(text("acme2").contains("DuplicateContract"), "{}", text("acme2"));
    assert!(text("dup").contains("Conflict"), "{}", text("dup"));
    assert!(text("ghost").contains("nope does not exist"), "{}", text("ghost"));
    assert!(text("first").contains("immutable"), "{}", text("first"));
    assert!(
        text("spend").contains("threshold half emails finops@acme.example"),
        "{}",
        text("spend")
    );
    assert!(
        text("spend").contains(&format!("spec.amount: {big} -> {sixty}")),
        "{}",
        text("spend")
    );
    assert_eq!(output["summary"]["refused"], 4);

    // Text, markdown, masking, exit codes.
    let shown = plan(Some(&kubeconfig), &["-f", &all, "--mask-emails"], None);
    assert_eq!(shown.code, 1);
    assert!(
        shown.stdout.contains("[~] PortalUser default/jane"),
        "{}",
        shown.stdout
    );
    assert!(!shown.stdout.contains("jane@acme.example") && !shown.stdout.contains("new@acme.example"));
    assert!(shown.stdout.contains("n***@acme.example"), "{}", shown.stdout);
    assert!(!shown.stdout.contains("\x1b["), "no colour when not a terminal");
    let md = plan(Some(&kubeconfig), &["-f", &all, "-o", "markdown"], None);
    assert!(
        md.stdout.starts_with("### `ccs-operator plan`")
            && md.stdout.contains("- `[x]` **PortalUser** `default/dup`")
    );
    let unchanged = write(&env, "same.yaml", std::slice::from_ref(&same));
    assert_eq!(
        plan(
            Some(&kubeconfig),
            &["-f", &unchanged, "--detailed-exitcode"],
            None
        )
        .code,
        0
    );
    assert_eq!(plan(Some(&kubeconfig), &["-f", &unchanged], None).code, 0);
    let one_change =
        serde_json::to_string(&json!({"apiVersion": "v1", "kind": "List", "items": [jane2, same]}))
            .expect("list");
    let piped = plan(
        Some(&kubeconfig),
        &["-f", "-", "--detailed-exitcode"],
        Some(&one_change),
    );
    assert_eq!(piped.code, 2, "{}{}", piped.stdout, piped.stderr);
    assert_eq!(plan(Some(&kubeconfig), &["-f", "-"], Some(&one_change)).code, 0);
    let missing = plan(Some(&kubeconfig), &["-f", "/nonexistent/plan.yaml"], None);
    assert_eq!(missing.code, 1);
    assert!(
        missing.stderr.contains("/nonexistent/plan.yaml"),
        "{}",
        missing.stderr
    );
    assert!(recorder.requests().iter().all(|(m, _)| m == "GET"));
    assert!(env.calls_since(seq + 1).is_empty());

    // Apply what was planned (not the refused nor the unknown) and compare the portal's writes.
    let applied: Vec<&Value> = changed
        .iter()
        .filter(|m| {
            let o = &objects[m["metadata"]["name"].as_str().expect("name")];
            !matches!(o["action"].as_str(), Some("refused" | "unknown")) && o["name"] != "later"
        })
        .collect();
    let mut expected: Vec<(String, String)> = Vec::new();
    for m in &applied {
        let o = &objects[m["metadata"]["name"].as_str().expect("name")];
        let mut mine: Vec<(String, String)> = o["changes"]
            .as_array()
            .expect("changes")
            .iter()
            .filter(|c| c["portal"] == true && c["operation"] != "email")
            .map(|c| {
                (
                    c["operation"].as_str().expect("operation").to_string(),
                    c["contractId"].as_str().unwrap_or_default().to_string(),
                )
            })
            .collect();
        mine.dedup(); // one setAccess call carries every section of a contract
        expected.extend(mine);
    }
    expected.sort();
    let ops: Vec<&str> = expected.iter().map(|(o, _)| o.as_str()).collect();
    assert_eq!(
        ops,
        [
            "addUser",
            "changeReferent",
            "setAccess",
            "setAccess",
            "submitOrder"
        ],
        "{expected:?}"
    );
    assert!(expected.iter().all(|(_, c)| *c == id), "{expected:?}");
    let seq = env.last_call();
    let mut operator = env.operator(&[]);
    for m in &applied {
        let m = (*m).clone();
        match m["kind"].as_str() {
            Some("CloudContract") => drop(env.apply::<CloudContract>(m).await),
            Some("PortalUser") => drop(env.apply::<PortalUser>(m).await),
            Some("BudgetAlert") => drop(env.apply::<BudgetAlert>(m).await),
            _ => drop(env.apply::<ServiceOrder>(m).await),
        }
    }
    wait_for(&api::<CloudContract>(&env), "acme", "referent changed", |c| {
        c.status.as_ref().and_then(|s| s.referent.as_deref()) == Some(other.as_str())
    })
    .await;
    wait_until(DEADLINE, "jane and joe changed, new added", || async {
        let done = access(&env, &id, "jane@acme.example")?.0["invoices"] == "Manager"
            && access(&env, &id, "joe@acme.example")?.0.get("requests").is_none()
            && access(&env, &id, "new@acme.example").is_some();
        done.then_some(())
    })
    .await;
    wait_for(&api::<ServiceOrder>(&env), "second", "submitted", |o| {
        o.status.as_ref().and_then(|s| s.request_id.as_ref()).is_some()
    })
    .await;
    let notified = wait_for(&api::<BudgetAlert>(&env), "spend", "half notified", |b| {
        b.status.as_ref().is_some_and(|s| {
            s.thresholds
                .iter()
                .any(|t| t.name == "half" && format!("{:?}", t.state) == "Notified")
        })
    })
    .await;
    assert!(notified.status.is_some());
    let mut actual: Vec<(String, String)> = writes_since(&env, seq).iter().map(operation).collect();
    actual.sort();
    assert_eq!(actual, expected, "the operator's portal writes are the plan's");
    let emails = env.smtp.wait_for(1, DEADLINE);
    assert!(
        emails.iter().any(|m| m.contains("finops@acme.example")),
        "the budget email the plan announced"
    );
    operator.stop();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn offline_validates_schema_and_cel_and_plans_against_empty_status() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("m.yaml");
    let good = [
        contract_manifest("acme", "OCB0001", "acme-creds"),
        with_profiles(
            "jane",
            "jane@acme.example",
            "acme",
            json!({"invoices": "Manager"}),
        ),
        order("first", 1),
    ];
    let text: String = good.iter().map(|d| format!("---\n{d}\n")).collect();
    std::fs::write(&path, &text).expect("written");
    let p = path.display().to_string();
    let run = plan(
        None,
        &["-f", &p, "--offline", "--detailed-exitcode", "-o", "json"],
        None,
    );
    assert_eq!(run.code, 2, "{}", run.stderr);
    let out: Value = serde_json::from_str(&run.stdout).expect("json");
    assert_eq!(out["mode"], "offline");
    let objects = by_name(&out);
    assert_eq!(objects["acme"]["marker"], "[+]");
    assert_eq!(objects["jane"]["marker"], "[+]");
    assert_eq!(objects["first"]["marker"], "[!]");

    // A schema error and a CEL error, with their field paths.
    let mut bad_threshold = budget("100");
    bad_threshold["spec"]["thresholds"] = json!([{"name": "t"}]);
    let mut bad_email = with_profiles("x", "not-an-email", "acme", json!({}));
    bad_email["metadata"]["namespace"] = json!("team");
    let text: String = [
        bad_threshold,
        bad_email,
        contract_manifest("acme", "OCB0001", "c"),
    ]
    .iter()
    .map(|d| format!("---\n{d}\n"))
    .collect();
    let run = plan(None, &["-f", "-", "--offline"], Some(&text));
    assert_eq!(run.code, 1);
    assert!(
        run.stdout.contains("[x] BudgetAlert default/spend"),
        "{}",
        run.stdout
    );
    assert!(run.stdout.contains("spec.thresholds[0]"), "{}", run.stdout);
    assert!(run.stdout.contains("[x] PortalUser team/x"), "{}", run.stdout);
    assert!(run.stdout.contains("spec.email"), "{}", run.stdout);

    // Without a cluster and without --offline: a clear error.
    let run = plan(Some(&dir.path().join("no-kubeconfig")), &["-f", &p], None);
    assert_eq!(run.code, 1);
    assert!(run.stderr.contains("--offline"), "{}", run.stderr);
}

/// Changes `email`'s access on `contract_id` through the simulator's API, as someone in the portal
/// would (the contract's referent credential), behind the operator's back.
async fn change_in_portal(env: &Env, contract_id: &str, email: &str, profiles: Value) {
    use ccs_operator::portal::{
        AccessUpdate, ClientConfig, Credentials, CustomerSpace, PortalShared, ReqwestPortal,
    };
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
    let portal = ReqwestPortal::new(
        shared,
        env.sim.base_url(),
        Credentials::new(c.client_id, c.client_secret, c.api_key),
    );
    let account = env.sim.with_world(|w| {
        w.accounts
            .values()
            .find(|a| a.account.email == email)
            .expect("account")
            .account
            .id
            .clone()
    });
    let update = AccessUpdate {
        profiles: serde_json::from_value(profiles).expect("profiles"),
        enabled: true,
    };
    portal
        .set_access(contract_id, &account, &update)
        .await
        .expect("access changed in the portal");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn refresh_reads_the_portal_with_gets_only_under_the_operators_rules() {
    let env = Env::start().await;
    let id = contract(&env, "acme", 0, "operator").await;
    let fe = |n: usize| {
        env.sim.with_world(|w| {
            let mut fe = w
                .contracts
                .values()
                .filter(|c| c.offer == ccs_operator::portal::Offer::FE);
            fe.nth(n).expect("three FE contracts").id.clone()
        })
    };
    let (other_id, third_id) = (fe(1), fe(2));
    // The right keys, but no credentials label: the operator does not use it, nor does plan.
    let c = env.credential(&other_id, "operator");
    env.secret_in(
        "default",
        "unmarked-creds",
        [
            ("clientId".to_string(), c.client_id),
            ("clientSecret".to_string(), c.client_secret),
            ("apiKey".to_string(), c.api_key),
        ]
        .into(),
        false,
    )
    .await;
    let mut operator = env.operator(&[]);
    wait_condition(&api::<CloudContract>(&env), "acme", "Ready", |s, _| s == "True").await;
    let jane = with_profiles(
        "jane",
        "jane@acme.example",
        "acme",
        json!({"dashboard": "Visitor", "invoices": "Visitor"}),
    );
    env.apply::<PortalUser>(jane.clone()).await;
    wait_for(&api::<PortalUser>(&env), "jane", "observed and Ready", |u| {
        has_condition(u, "Ready", "True") && u.status.as_ref().is_some_and(|s| s.state.is_some())
    })
    .await;
    wait_until(DEADLINE, "jane added in the portal", || async {
        access(&env, &id, "jane@acme.example").map(drop)
    })
    .await;
    operator.stop();
    // After the operator's last observation, someone changes jane's profiles in the portal.
    change_in_portal(
        &env,
        &id,
        "jane@acme.example",
        json!({"dashboard": "Visitor", "invoices": "Manager"}),
    )
    .await;

    let mut elsewhere = contract_manifest("elsewhere", &third_id, "acme-creds");
    elsewhere["spec"]["endpoint"] = json!("https://portal.elsewhere.example");
    let mut unknown_item = order("unknown-item", 1);
    unknown_item["spec"]["catalogItem"] = json!("FE-NOPE");
    let manifests = vec![
        contract_manifest("acme", &id, "acme-creds"),
        contract_manifest("unmarked", &other_id, "unmarked-creds"),
        elsewhere,
        jane.clone(),
        unknown_item,
        order("fine", 1),
    ];
    let path = write(&env, "refresh.yaml", &manifests);
    let url = env.sim.base_url();
    let config = env.config_file(&format!(
        "portal:\n  endpoint: {url}\n  allowedEndpoints:\n    - {{url: {url}, allowInsecure: true}}\n"
    ));
    let config = config.display().to_string();

    let recorder = Recorder::start(&env.cluster.base_url()).await;
    let kubeconfig = env.kubeconfig_for(&recorder.url);
    let seq = env.last_call();

    // Without --refresh: the last observation, jane unchanged, no portal call.
    let plain = plan(Some(&kubeconfig), &["-f", &path, "-o", "json"], None);
    let plain: Value =
        serde_json::from_str(&plain.stdout).unwrap_or_else(|e| panic!("{e}: {}", plain.stderr));
    assert_eq!(plain["mode"], "cluster");
    let objects = by_name(&plain);
    assert_eq!(objects["jane"]["marker"], "[=]", "{}", objects["jane"]);
    assert_eq!(
        objects["unknown-item"]["marker"], "[!]",
        "{}",
        objects["unknown-item"]
    );
    assert!(
        env.calls_since(seq + 1).is_empty(),
        "plan without --refresh called the portal"
    );

    // With --refresh: the portal's view, read with GETs only.
    let run = plan(
        Some(&kubeconfig),
        &["-f", &path, "-o", "json", "--refresh", "--config", &config],
        None,
    );
    assert_eq!(run.code, 1, "the unknown catalog item is refused: {}", run.stderr);
    let output: Value = serde_json::from_str(&run.stdout).unwrap_or_else(|e| panic!("{e}: {}", run.stderr));
    assert_eq!(output["mode"], "refresh");
    let schema: Value = serde_json::from_str(
        &std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/config/plan-output.schema.json"
        ))
        .expect("schema file"),
    )
    .expect("schema JSON");
    assert!(
        jsonschema::validator_for(&schema)
            .expect("schema")
            .is_valid(&output)
    );
    let objects = by_name(&output);
    let text = |name: &str| objects[name]["changes"].to_string();
    assert_eq!(objects["jane"]["marker"], "[~]", "{}", text("jane"));
    assert!(
        text("jane").contains("invoices: Manager -> Visitor"),
        "{}",
        text("jane")
    );
    assert_eq!(objects["acme"]["marker"], "[=]", "{}", text("acme"));
    // A contract that cannot be read is a [?] line with the reason (these two are new: [+] overall).
    let unread = |name: &str, why: &str| {
        objects[name]["changes"]
            .as_array()
            .expect("changes")
            .iter()
            .any(|c| c["marker"] == "[?]" && c["message"].as_str().is_some_and(|m| m.contains(why)))
    };
    assert!(
        unread("unmarked", "not marked as Customer Space credentials"),
        "{}",
        text("unmarked")
    );
    assert!(unread("elsewhere", "EndpointNotAllowed"), "{}", text("elsewhere"));
    assert_eq!(
        objects["unknown-item"]["marker"],
        "[x]",
        "{}",
        text("unknown-item")
    );
    assert!(
        text("unknown-item").contains("UnknownCatalogItem"),
        "{}",
        text("unknown-item")
    );
    assert_eq!(objects["fine"]["marker"], "[!]", "{}", text("fine"));

    let calls = env.calls_since(seq + 1);
    assert!(
        calls
            .iter()
            .any(|c| c.method == "GET" && c.route.ends_with("/users")),
        "--refresh read the contract's users: {calls:?}"
    );
    assert!(
        calls
            .iter()
            .all(|c| c.method == "GET" || c.route.contains("oauth")),
        "--refresh sent something else than GET (and the token request): {calls:?}"
    );
    assert!(writes_since(&env, seq + 1).is_empty());
    assert!(
        calls
            .iter()
            .all(|c| c.contract_id.as_deref().is_none_or(|c| c == id)),
        "only the contract with a marked Secret and an allowed endpoint is read: {calls:?}"
    );
    let requests = recorder.requests();
    assert!(
        requests.iter().all(|(m, _)| m == "GET"),
        "plan --refresh sent something else than GET to the cluster: {requests:?}"
    );

    // The operator's endpoint policy applies: the simulator's plain http is refused unless the
    // configuration allows it (as `ccs-operator run` refuses to start), and nothing is sent.
    let seq = env.last_call();
    let strict = env.config_file(&format!("portal:\n  endpoint: {url}\n"));
    let run = plan(
        Some(&kubeconfig),
        &[
            "-f",
            &path,
            "--refresh",
            "--config",
            &strict.display().to_string(),
        ],
        None,
    );
    assert_eq!(run.code, 1, "{}", run.stdout);
    assert!(run.stderr.contains("allowInsecure"), "{}", run.stderr);
    assert!(
        env.calls_since(seq + 1).is_empty(),
        "a refused endpoint gets no call"
    );
}
