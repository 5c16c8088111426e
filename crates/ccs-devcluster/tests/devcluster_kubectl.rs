//! The real `kubectl` against the dev cluster: CRDs, samples, columns, watch, describe, explain,
//! patch, label, wait, diff, delete, and the invalid-manifest table rejected at apply time.

mod support;

use ccs_devcluster::DevCluster;
use kube::api::{Api, DynamicObject, Patch, PatchParams};
use kube::discovery::ApiResource;
use kube::runtime::events::{Event, EventType, Recorder, Reporter};
use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::process::{Output, Stdio};
use support::*;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::Command;

/// kubectl bound to one cluster, with its own fresh cache directory.
struct Kubectl {
    dir: tempfile::TempDir,
}

impl Kubectl {
    async fn new(cluster: &mut DevCluster) -> Self {
        let dir = tempfile::tempdir().unwrap();
        cluster.write_kubeconfig(&dir.path().join("kubeconfig")).unwrap();
        let k = Self { dir };
        k.ok(&["apply", "-f", &repo("crds")]).await;
        k.ok(&[
            "wait",
            "--for=condition=established",
            "crd",
            "--all",
            "--timeout=20s",
        ])
        .await;
        k
    }

    fn command(&self, args: &[&str]) -> Command {
        let mut c = Command::new("kubectl");
        c.arg("--kubeconfig").arg(self.dir.path().join("kubeconfig"));
        c.arg("--cache-dir").arg(self.dir.path().join("cache"));
        c.args(args);
        for v in [
            "HTTPS_PROXY",
            "https_proxy",
            "HTTP_PROXY",
            "http_proxy",
            "KUBECONFIG",
        ] {
            c.env_remove(v);
        }
        c.kill_on_drop(true);
        c
    }

    async fn run(&self, args: &[&str]) -> Output {
        self.command(args).output().await.expect("kubectl runs")
    }

    /// Runs and requires success; returns stdout.
    async fn ok(&self, args: &[&str]) -> String {
        let out = self.run(args).await;
        let text = |b: &[u8]| String::from_utf8_lossy(b).to_string();
        assert!(
            out.status.success(),
            "kubectl {args:?} failed:\n{}{}",
            text(&out.stdout),
            text(&out.stderr)
        );
        text(&out.stdout)
    }

    /// Runs and requires failure; returns stdout + stderr.
    async fn fails(&self, args: &[&str]) -> String {
        let out = self.run(args).await;
        let all = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(!out.status.success(), "kubectl {args:?} should fail:\n{all}");
        all
    }

    /// Runs kubectl while `meanwhile` runs (e.g. a controller's part), requiring success.
    async fn ok_while(&self, args: &[&str], meanwhile: impl std::future::Future<Output = ()>) {
        let (out, ()) = tokio::join!(self.command(args).output(), meanwhile);
        let out = out.expect("kubectl runs");
        assert!(
            out.status.success(),
            "kubectl {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// `kubectl patch ccontract acme-prod --type=merge -p PATCH`.
    async fn merge_patch_contract(&self, patch: &str) {
        self.ok(&["patch", "ccontract", "acme-prod", "--type=merge", "-p", patch])
            .await;
    }

    fn file(&self, name: &str, content: &str) -> String {
        let path = self.dir.path().join(name);
        std::fs::write(&path, content).unwrap();
        path.display().to_string()
    }
}

/// `key: value` line of the CloudContract sample (its values belong to the samples, not to us).
fn sample_line(key: &str) -> String {
    let sample = std::fs::read_to_string(repo("config/samples/10-cloudcontract.yaml")).unwrap();
    let line = sample
        .lines()
        .find(|l| l.trim_start().starts_with(&format!("{key}:")))
        .expect("key in sample");
    line.trim().to_string()
}

fn repo(rel: &str) -> String {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../.."))
        .join(rel)
        .display()
        .to_string()
}

fn contracts(client: &kube::Client) -> Api<DynamicObject> {
    let resource = ApiResource {
        group: "customerspace.io".into(),
        version: "v1alpha1".into(),
        api_version: "customerspace.io/v1alpha1".into(),
        kind: "CloudContract".into(),
        plural: "cloudcontracts".into(),
    };
    Api::namespaced_with(client.clone(), "default", &resource)
}

#[tokio::test(flavor = "multi_thread")]
async fn samples_apply_both_ways_and_read_back_with_columns_yaml_and_explain() {
    let mut cluster = cluster().await;
    let k = Kubectl::new(&mut cluster).await;
    let applied = k.ok(&["apply", "-f", &repo("config/samples")]).await;
    assert_eq!(applied.matches(" created").count(), 5, "{applied}");
    // Re-applying changes nothing server-side (kubectl may still print "configured" for a Secret
    // with stringData or defaulted list items, as on a real cluster).
    let versions = [
        "get",
        "-f",
        &repo("config/samples"),
        "-o",
        "jsonpath={.items[*].metadata.resourceVersion}",
    ];
    let before = k.ok(&versions).await;
    k.ok(&["apply", "-f", &repo("config/samples")]).await;
    assert_eq!(k.ok(&versions).await, before, "re-apply is a no-op");
    let ssa = k
        .ok(&["apply", "--server-side", "-f", &repo("config/samples")])
        .await;
    assert_eq!(ssa.matches("serverside-applied").count(), 5, "{ssa}");

    let table = k.ok(&["get", "ccontract"]).await;
    let header: Vec<&str> = table.lines().next().unwrap().split_whitespace().collect();
    assert_eq!(
        header,
        [
            "NAME",
            "CONTRACT",
            "OFFER",
            "WEATHER",
            "INCIDENTS",
            "SPEND",
            "READY",
            "AGE"
        ]
    );
    assert!(
        table.contains("acme-prod") && table.contains("FlexibleEngine"),
        "{table}"
    );
    let all = k.ok(&["get", "customerspace", "-A"]).await;
    for kind in ["cloudcontract", "portaluser", "budgetalert", "serviceorder"] {
        assert!(all.contains(&format!("{kind}.customerspace.io/")), "{all}");
    }
    let yaml = k.ok(&["get", "ccontract", "acme-prod", "-o", "yaml"]).await;
    assert!(
        yaml.contains(&sample_line("contractId")) && yaml.contains("uid:"),
        "{yaml}"
    );
    let builtin = k.ok(&["explain", "configmap.data"]).await;
    assert!(
        builtin.contains("Data contains the configuration data"),
        "{builtin}"
    );
    let explain = k.ok(&["explain", "portaluser.spec.access"]).await;
    assert!(
        explain.contains("contract") && explain.contains("profiles"),
        "{explain}"
    );
    cluster.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn patch_label_watch_wait_describe_and_diff() {
    let mut cluster = cluster().await;
    let k = Kubectl::new(&mut cluster).await;
    k.ok(&["apply", "-f", &repo("config/samples/10-cloudcontract.yaml")])
        .await;
    let client = cluster.client().unwrap();
    let api = contracts(&client);

    // get -w prints the header and the row, then a line per change.
    let mut watch = k
        .command(&["get", "ccontract", "-w"])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(watch.stdout.take().unwrap()).lines();
    let mut next = async || tokio::time::timeout(std::time::Duration::from_secs(20), lines.next_line()).await;
    assert!(next().await.unwrap().unwrap().unwrap().starts_with("NAME"));
    assert!(next().await.unwrap().unwrap().unwrap().contains("FlexibleEngine"));

    k.merge_patch_contract(r#"{"spec":{"managementPolicy":"ObserveOnly"}}"#)
        .await;
    let seen = next().await.expect("an update line").unwrap().unwrap();
    assert!(seen.starts_with("acme-prod"), "{seen}");
    watch.kill().await.unwrap();

    k.ok(&["label", "ccontract", "acme-prod", "team=ops"]).await;
    assert!(
        k.ok(&["get", "ccontract", "-l", "team=ops", "-o", "name"])
            .await
            .contains("acme-prod")
    );
    let generation = api.get("acme-prod").await.unwrap().metadata.generation.unwrap();
    assert_eq!(
        generation, 2,
        "the merge patch bumped generation, the label did not"
    );

    // wait --for=condition=Ready completes once status says so for this generation.
    let set_ready = async {
        let status = json!({"status": {"observedGeneration": generation, "conditions": [{"type": "Ready", "status": "True",
            "reason": "Synced", "message": "ok", "lastTransitionTime": "2026-11-25T00:00:00Z", "observedGeneration": generation}]}});
        api.patch_status("acme-prod", &PatchParams::default(), &Patch::Merge(status))
            .await
            .unwrap();
    };
    k.ok_while(
        &[
            "wait",
            "--for=condition=Ready",
            "ccontract/acme-prod",
            "--timeout=30s",
        ],
        set_ready,
    )
    .await;
    assert!(
        k.ok(&["get", "ccontract"]).await.contains("True"),
        "READY column shows the condition"
    );

    // describe shows events written through events.k8s.io/v1.
    let contract = api.get("acme-prod").await.unwrap();
    let recorder = Recorder::new(
        client.clone(),
        Reporter {
            controller: "ccs-operator".into(),
            instance: None,
        },
    );
    let event = Event {
        type_: EventType::Normal,
        reason: "ContractSynced".into(),
        note: Some("contract FE-0001 synced".into()),
        action: "Sync".into(),
        secondary: None,
    };
    recorder
        .publish(
            &event,
            &kube::Resource::object_ref(&contract, &ApiResource::erase::<DynamicObject>(&api_resource())),
        )
        .await
        .unwrap();
    let events = k.ok(&["get", "events"]).await;
    assert!(
        events.contains("cloudcontract/acme-prod") && events.contains("ContractSynced"),
        "{events}"
    );
    let described = k.ok(&["describe", "ccontract", "acme-prod"]).await;
    assert!(
        described.contains("ContractSynced") && described.contains("contract FE-0001 synced"),
        "{described}"
    );

    // diff: exit 0 when unchanged, 1 with the change shown otherwise.
    let live = std::fs::read_to_string(repo("config/samples/10-cloudcontract.yaml")).unwrap();
    let same = k.file(
        "same.yaml",
        &live.replace("managementPolicy: Full", "managementPolicy: ObserveOnly"),
    );
    let diff = k.run(&["diff", "-f", &same]).await;
    assert_eq!(
        diff.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&diff.stdout)
    );
    let changed = k.file("changed.yaml", &live.replace("minSeverity: 2", "minSeverity: 3"));
    let diff = k.run(&["diff", "-f", &changed]).await;
    assert_eq!(
        diff.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&diff.stderr)
    );
    assert!(String::from_utf8_lossy(&diff.stdout).contains("+    minSeverity: 3"));
    assert_eq!(
        api.get("acme-prod").await.unwrap().data["spec"]["notifications"]["minSeverity"],
        2,
        "diff is a dry run"
    );
    cluster.shutdown().await;
}

fn api_resource() -> ApiResource {
    ApiResource {
        group: "customerspace.io".into(),
        version: "v1alpha1".into(),
        api_version: "customerspace.io/v1alpha1".into(),
        kind: "CloudContract".into(),
        plural: "cloudcontracts".into(),
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn delete_with_and_without_finalizers() {
    let mut cluster = cluster().await;
    let k = Kubectl::new(&mut cluster).await;
    let api = contracts(&cluster.client().unwrap());
    k.ok(&["apply", "-f", &repo("config/samples/10-cloudcontract.yaml")])
        .await;
    k.ok(&["delete", "ccontract", "acme-prod"]).await;
    assert_eq!(code(api.get("acme-prod").await), 404);

    k.ok(&["apply", "-f", &repo("config/samples/10-cloudcontract.yaml")])
        .await;
    k.merge_patch_contract(r#"{"metadata":{"finalizers":["customerspace.io/cleanup"]}}"#)
        .await;
    // kubectl delete waits for the object to go; a controller removes the finalizer meanwhile.
    let release = async {
        eventually("deletionTimestamp", || async {
            api.get("acme-prod").await.ok()?.metadata.deletion_timestamp
        })
        .await;
        let patch = json!({"metadata": {"finalizers": null}});
        api.patch("acme-prod", &PatchParams::default(), &Patch::Merge(patch))
            .await
            .unwrap();
    };
    k.ok_while(&["delete", "ccontract", "acme-prod", "--timeout=30s"], release)
        .await;
    assert_eq!(code(api.get("acme-prod").await), 404);
    cluster.shutdown().await;
}

fn header(text: &str, key: &str) -> String {
    text.lines()
        .find_map(|l| l.strip_prefix(&format!("# {key}: ")))
        .unwrap_or_default()
        .to_string()
}

#[tokio::test(flavor = "multi_thread")]
async fn invalid_manifests_are_rejected_by_kubectl_apply_naming_the_field() {
    let mut cluster = cluster().await;
    let k = Kubectl::new(&mut cluster).await;
    let mut files: Vec<PathBuf> = std::fs::read_dir(repo("tests/fixtures/invalid"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "yaml"))
        .collect();
    files.sort();
    assert!(files.len() >= 20);
    for file in files {
        let text = std::fs::read_to_string(&file).unwrap();
        let docs: Vec<Value> = serde_saphyr::from_multiple(&text).unwrap();
        let (field, name) = (
            header(&text, "expect-field"),
            file.file_name().unwrap().to_string_lossy().to_string(),
        );
        let write = |i: usize| k.file(&format!("{i}-{name}"), &serde_json::to_string(&docs[i]).unwrap());
        if docs.len() == 2 {
            k.ok(&["apply", "-f", &write(0)]).await;
        }
        let rejected = k.fails(&["apply", "-f", &write(docs.len() - 1)]).await;
        assert!(
            rejected.contains(&field),
            "{name}: kubectl output does not name {field}:\n{rejected}"
        );
        if docs.len() == 2 {
            k.ok(&["delete", "-f", &write(0)]).await;
        }
    }
    // Built-in kinds are strict too: a typo is an unknown field.
    let typo = k.file(
        "typo.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: typo\ndta:\n  k: v\n",
    );
    let rejected = k.fails(&["apply", "-f", &typo]).await;
    assert!(rejected.contains("unknown field \"dta\""), "{rejected}");
    cluster.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn generator_commands_send_protobuf_and_work() {
    let mut cluster = cluster().await;
    let k = Kubectl::new(&mut cluster).await;
    k.ok(&["create", "namespace", "demo"]).await;
    k.ok(&[
        "create",
        "configmap",
        "cfg",
        "-n",
        "demo",
        "--from-literal=a=1",
        "--from-literal=b=2",
    ])
    .await;
    k.ok(&[
        "create",
        "secret",
        "generic",
        "creds",
        "-n",
        "demo",
        "--from-literal=clientId=abc",
    ])
    .await;
    let listed = k.ok(&["get", "configmaps,secrets", "-n", "demo"]).await;
    assert!(
        listed.contains("configmap/cfg") && listed.contains("Opaque"),
        "{listed}"
    );
    let data = k
        .ok(&[
            "get",
            "secret",
            "creds",
            "-n",
            "demo",
            "-o",
            "jsonpath={.data.clientId}",
        ])
        .await;
    assert_eq!(data, "YWJj", "base64 of abc");
    cluster.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn kubectl_uses_the_token_over_tls() {
    let config = ccs_devcluster::DevClusterConfig {
        token: Some("t0ken".into()),
        ..Default::default()
    };
    let mut cluster = cluster_with(config).await;
    let k = Kubectl::new(&mut cluster).await;
    assert!(k.ok(&["get", "namespaces"]).await.contains("kube-system"));
    let kubeconfig = k.dir.path().join("kubeconfig");
    let text = std::fs::read_to_string(&kubeconfig).unwrap();
    std::fs::write(&kubeconfig, text.replace("t0ken", "wrong")).unwrap();
    assert!(k.fails(&["get", "namespaces"]).await.contains("Unauthorized"));
    cluster.shutdown().await;
}

/// The samples as one `v1` `List`, as a new user would write `list.json`.
fn samples_as_list() -> Value {
    let mut files: Vec<PathBuf> = std::fs::read_dir(repo("config/samples"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    let items: Vec<Value> = files
        .iter()
        .flat_map(|f| serde_saphyr::from_multiple::<Value>(&std::fs::read_to_string(f).unwrap()).unwrap())
        .collect();
    json!({"apiVersion": "v1", "kind": "List", "metadata": {}, "items": items})
}

#[tokio::test(flavor = "multi_thread")]
async fn a_v1_list_applies_and_get_o_yaml_reapplies() {
    let mut cluster = cluster().await;
    let k = Kubectl::new(&mut cluster).await;
    // kubectl validates a List on the client through GET /openapi/v2 (protobuf) before sending
    // its items; each item is then validated by the server.
    let list = samples_as_list();
    let file = k.file("list.json", &list.to_string());
    let applied = k.ok(&["apply", "-f", &file]).await;
    assert_eq!(applied.matches(" created").count(), 5, "{applied}");
    let again = k.ok(&["apply", "-f", &file]).await;
    assert_eq!(again.matches(" created").count(), 0, "{again}");

    // An item with an unknown field is refused, naming the field, as by a real server.
    let mut bad = list.clone();
    bad["items"][1]["spec"]["contractIdd"] = json!("x");
    let rejected = k
        .fails(&["apply", "-f", &k.file("bad.json", &bad.to_string())])
        .await;
    assert!(rejected.contains("contractIdd"), "{rejected}");

    // get -o yaml of several objects is a List too: edit it and apply it back.
    let kinds = "cloudcontracts,portalusers,budgetalerts,serviceorders";
    let exported = k.ok(&["get", kinds, "-o", "yaml"]).await;
    assert!(exported.contains("kind: List"), "{exported}");
    let edited = exported.replace("managementPolicy: Full", "managementPolicy: ObserveOnly");
    assert_ne!(edited, exported, "the export holds the policies");
    let configured = k.ok(&["apply", "-f", &k.file("x.yaml", &edited)]).await;
    assert_eq!(configured.matches(" configured").count(), 4, "{configured}");
    let policy = k
        .ok(&[
            "get",
            "ccontract",
            "acme-prod",
            "-o",
            "jsonpath={.spec.managementPolicy}",
        ])
        .await;
    assert_eq!(policy, "ObserveOnly");
    // The export carries resourceVersions: a stale one conflicts, as on a real server...
    let stale = k.fails(&["apply", "-f", &k.file("stale.yaml", &exported)]).await;
    assert!(stale.contains("Conflict"), "{stale}");
    // ...and a fresh export applies back unchanged.
    let fresh = k.ok(&["get", kinds, "-o", "yaml"]).await;
    let unchanged = k.ok(&["apply", "-f", &k.file("fresh.yaml", &fresh)]).await;
    assert_eq!(unchanged.lines().count(), 4, "{unchanged}");
    // A single object's YAML round-trips as well.
    let one = k.ok(&["get", "ccontract", "acme-prod", "-o", "yaml"]).await;
    k.ok(&["apply", "-f", &k.file("one.yaml", &one)]).await;
    cluster.shutdown().await;
}
