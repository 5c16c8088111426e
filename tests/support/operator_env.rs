//! An end-to-end environment for the access and order tests: a dev cluster with the CRDs, the
//! simulator, an SMTP sink, and the real `ccs-operator run` binary (started, killed, restarted).

use super::smtp::SmtpSink;
use ccs_operator::devcluster::{DevCluster, DevClusterConfig};
use ccs_operator::simulator::{SimConfig, Simulator};
use k8s_openapi::api::core::v1::Secret;
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::api::{Api, PostParams};
use kube::{Resource, ResourceExt};
use serde::de::DeserializeOwned;
use serde_json::json;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// How long a wait may take before the test fails.
pub const DEADLINE: Duration = Duration::from_secs(60);

/// Cluster, simulator, SMTP sink and the operator process.
pub struct Env {
    /// The embedded API server.
    pub cluster: DevCluster,
    /// A client of it.
    pub client: kube::Client,
    /// The Customer Space simulator.
    pub sim: Simulator,
    /// The SMTP sink.
    pub smtp: SmtpSink,
    dir: tempfile::TempDir,
    operator: Option<Child>,
}

impl Env {
    /// Starts everything but the operator.
    pub async fn start(sim: SimConfig) -> Self {
        ccs_operator::install_crypto_provider();
        let dir = tempfile::tempdir().expect("tempdir");
        let mut cluster = DevCluster::start(DevClusterConfig::default())
            .await
            .expect("cluster");
        cluster
            .write_kubeconfig(&dir.path().join("kubeconfig"))
            .expect("kubeconfig");
        let client = cluster.client().expect("client");
        let crds: Api<CustomResourceDefinition> = Api::all(client.clone());
        for crd in ccs_operator::api::all_crds() {
            crds.create(&PostParams::default(), &crd)
                .await
                .expect("CRD installed");
        }
        let sim = Simulator::start(sim).await.expect("simulator");
        Self {
            cluster,
            client,
            sim,
            smtp: SmtpSink::start(),
            dir,
            operator: None,
        }
    }

    /// Writes the operator configuration: this simulator and sink, short poll intervals.
    fn config(&self) -> std::path::PathBuf {
        let path = self.dir.path().join("ccs-operator.yaml");
        let text = format!(
            "portal:\n  endpoint: {}\n  requestTimeout: 5s\n  rateLimit: {{requestsPerSecond: 1000, burst: 1000}}\n\
             controllers:\n  cloudContract: {{concurrency: 4, pollInterval: 5m}}\n  portalUser: {{concurrency: 8, pollInterval: 10m}}\n  \
             budgetAlert: {{concurrency: 2, pollInterval: 5m}}\n  serviceOrder: {{concurrency: 16, pollInterval: 1s}}\n\
             smtp: {{host: 127.0.0.1, port: {}, tls: none}}\nserver: {{listen: 127.0.0.1:0}}\n\
             leaderElection: {{enabled: false}}\nlog: {{level: warn}}\n",
            self.sim.base_url(),
            self.smtp.port
        );
        std::fs::write(&path, text).expect("config written");
        path
    }

    /// Starts the operator binary.
    pub fn start_operator(&mut self) {
        assert!(self.operator.is_none(), "operator already running");
        let child = Command::new(env!("CARGO_BIN_EXE_ccs-operator"))
            .arg("run")
            .arg("--config")
            .arg(self.config())
            .arg("--kubeconfig")
            .arg(self.dir.path().join("kubeconfig"))
            .env_remove("HTTPS_PROXY")
            .env_remove("HTTP_PROXY")
            .env_remove("https_proxy")
            .env_remove("http_proxy")
            .stdout(Stdio::null())
            // CCS_TEST_OPERATOR_LOG=1 shows the operator's log when a test needs explaining.
            .stderr(if std::env::var_os("CCS_TEST_OPERATOR_LOG").is_some() {
                Stdio::inherit()
            } else {
                Stdio::null()
            })
            .spawn()
            .expect("operator starts");
        self.operator = Some(child);
    }

    /// Kills the operator (SIGKILL: a crash, no graceful shutdown).
    pub fn kill_operator(&mut self) {
        if let Some(mut child) = self.operator.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Creates the credentials Secret and the CloudContract `name` for the `index`-th simulated
    /// Flexible Engine contract (its catalog has the `FE-` items), with the seeded credential
    /// `label`; returns the contract id.
    pub async fn contract(&self, name: &str, index: usize, label: &str) -> String {
        let contract_id = self.sim.with_world(|w| {
            let mut fe = w
                .contracts
                .values()
                .filter(|c| c.offer == ccs_operator::portal::Offer::FE);
            fe.nth(index).expect("enough FE contracts").id.clone()
        });
        let creds = self
            .sim
            .seeded_credentials()
            .into_iter()
            .find(|c| c.label == label && c.contracts.contains(&contract_id))
            .expect("seeded credential");
        let secret: Secret = serde_json::from_value(json!({
            "metadata": {"name": format!("{name}-creds")},
            "stringData": {"clientId": creds.client_id, "clientSecret": creds.client_secret, "apiKey": creds.api_key}
        }))
        .expect("secret");
        Api::<Secret>::namespaced(self.client.clone(), "default")
            .create(&PostParams::default(), &secret)
            .await
            .expect("secret created");
        self.create(json!({
            "apiVersion": "customerspace.io/v1alpha1", "kind": "CloudContract", "metadata": {"name": name},
            "spec": {"contractId": contract_id, "offer": "FlexibleEngine", "credentialsSecretRef": {"name": format!("{name}-creds")}}
        }))
        .await;
        contract_id
    }

    /// Creates any object of ours in `default` from JSON.
    pub async fn create(&self, object: serde_json::Value) {
        use kube::api::DynamicObject;
        use kube::core::GroupVersionKind;
        use kube::discovery::ApiResource;
        let kind = object["kind"].as_str().expect("kind").to_string();
        let gvk = GroupVersionKind::gvk("customerspace.io", "v1alpha1", &kind);
        let plural = format!("{}s", kind.to_lowercase());
        let api: Api<DynamicObject> = Api::namespaced_with(
            self.client.clone(),
            "default",
            &ApiResource::from_gvk_with_plural(&gvk, &plural),
        );
        let obj: DynamicObject = serde_json::from_value(object).expect("object");
        api.create(&PostParams::default(), &obj)
            .await
            .expect("object created");
    }

    /// The typed API of a kind in `default`.
    pub fn api<K>(&self) -> Api<K>
    where
        K: Resource<DynamicType = (), Scope = kube::core::NamespaceResourceScope>,
    {
        Api::namespaced(self.client.clone(), "default")
    }
}

impl Drop for Env {
    fn drop(&mut self) {
        self.kill_operator();
    }
}

/// Polls `check` until it yields a value; fails with `what` after `deadline`.
pub async fn eventually<T, F, Fut>(what: &str, deadline: Duration, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let end = Instant::now() + deadline;
    loop {
        if let Some(v) = check().await {
            return v;
        }
        assert!(Instant::now() < end, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The `type` condition of an object, as (status, reason, message).
pub fn condition<K>(obj: &K, type_: &str) -> Option<(String, String, String)>
where
    K: serde::Serialize,
{
    let v = serde_json::to_value(obj).ok()?;
    let c = v["status"]["conditions"]
        .as_array()?
        .iter()
        .find(|c| c["type"] == type_)?
        .clone();
    Some((
        c["status"].as_str()?.to_string(),
        c["reason"].as_str()?.to_string(),
        c["message"].as_str().unwrap_or_default().to_string(),
    ))
}

/// Waits until the object's condition satisfies `pred`; returns the object.
pub async fn wait_condition<K>(api: &Api<K>, name: &str, type_: &str, pred: impl Fn(&str, &str) -> bool) -> K
where
    K: Resource + Clone + DeserializeOwned + std::fmt::Debug + serde::Serialize,
{
    let what = format!("{type_} condition of {name}");
    eventually(&what, DEADLINE, || async {
        let obj = api.get_opt(name).await.ok()??;
        let (status, reason, _) = condition(&obj, type_)?;
        pred(&status, &reason).then_some(obj)
    })
    .await
}

/// Waits until the object is gone.
pub async fn wait_gone<K>(api: &Api<K>, name: &str)
where
    K: Resource + Clone + DeserializeOwned + std::fmt::Debug,
{
    eventually(&format!("{name} deleted"), DEADLINE, || async {
        matches!(api.get_opt(name).await, Ok(None)).then_some(())
    })
    .await
}

/// The names of objects, for messages.
pub fn names<K: ResourceExt>(objects: &[K]) -> Vec<String> {
    objects.iter().map(|o| o.name_any()).collect()
}
