//! A real OpenStack Keystone for the ConsoleAccess tests (tests/support/keystone.sh): one per test
//! binary, started on a free loopback port on first use; tests keep apart by using their own
//! domain. Admin helpers set up domains, users, projects and roles through the Keystone API, and
//! [`Keystone::openstack`] runs the real `openstack` CLI against it.

use serde_json::{Value, json};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};
use tokio::sync::OnceCell;

/// Password of the bootstrapped `admin` user of the `Default` domain.
pub const ADMIN_PASSWORD: &str = "admin-test-pw";

/// The running Keystone.
pub struct Keystone {
    /// `http://127.0.0.1:PORT/v3`.
    pub url: String,
    /// keystone.sh, which stops Keystone when this test process exits (it watches our pid).
    _script: Option<std::process::Child>,
}

static SHARED: OnceCell<Keystone> = OnceCell::const_new();

/// The global roles the tests assign, made by keystone.sh (`keystone-manage bootstrap`): Flexible
/// Engine's `te_admin` and `readonly`, and Keystone's `admin` and `reader`.
pub const GLOBAL_ROLES: [&str; 4] = ["admin", "reader", "te_admin", "readonly"];

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

impl Keystone {
    /// The Keystone of this test binary, started on first use (about 10-30 s), or the one at
    /// `CCS_TEST_KEYSTONE_URL` (admin password [`ADMIN_PASSWORD`]).
    pub async fn shared() -> &'static Keystone {
        SHARED.get_or_init(|| async { Self::start().await }).await
    }

    async fn start() -> Self {
        ccs_operator::install_crypto_provider();
        // A Keystone already running (started by hand with keystone.sh), to iterate faster.
        if let Ok(url) = std::env::var("CCS_TEST_KEYSTONE_URL") {
            return Self { url, _script: None };
        }
        let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/support/keystone.sh");
        assert!(
            Command::new("sh")
                .args(["-c", "command -v keystone-manage && command -v openstack"])
                .stdout(Stdio::null())
                .status()
                .is_ok_and(|s| s.success()),
            "Keystone is not installed: run .ci/install-keystone (apt: python3-keystone python3-openstackclient)"
        );
        // The script deletes its directory when it stops, so it is not a TempDir of ours.
        let dir = std::env::temp_dir().join(format!(
            "ccs-keystone-{}-{}",
            std::process::id(),
            fastrand::u32(..)
        ));
        let port = free_port();
        // Removed by the script with its directory.
        let log_path = dir.with_extension("log");
        let log = std::fs::File::create(&log_path).expect("log");
        let child = Command::new("bash")
            .arg(&script)
            .arg(&dir)
            .arg(port.to_string())
            .arg(ADMIN_PASSWORD)
            .arg(std::process::id().to_string())
            .stdout(log.try_clone().expect("log"))
            .stderr(log)
            .spawn()
            .expect("keystone.sh starts");
        let start = Instant::now();
        while !dir.join("ready").exists() {
            assert!(
                start.elapsed() < Duration::from_secs(180),
                "Keystone did not start within 180 s; see {}",
                log_path.display()
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        Self {
            url: format!("http://127.0.0.1:{port}/v3"),
            _script: Some(child),
        }
    }

    /// A client for one call: each test has its own runtime, and a pooled connection must not
    /// outlive the runtime that opened it.
    fn http(&self) -> reqwest::Client {
        reqwest::Client::new()
    }

    /// A token of `user` in `domain`, scoped to project `admin` (the cloud admin) or the domain.
    pub async fn token(&self, domain: &str, user: &str, password: &str) -> Option<String> {
        let scope = if domain == "Default" {
            json!({"project": {"name": "admin", "domain": {"name": "Default"}}})
        } else {
            json!({"domain": {"name": domain}})
        };
        let body = json!({"auth": {"identity": {"methods": ["password"], "password": {"user": {
            "name": user, "domain": {"name": domain}, "password": password}}}, "scope": scope}});
        let resp = self
            .http()
            .post(format!("{}/auth/tokens", self.url))
            .json(&body)
            .send()
            .await
            .ok()?;
        resp.status()
            .is_success()
            .then(|| {
                resp.headers()
                    .get("X-Subject-Token")?
                    .to_str()
                    .ok()
                    .map(String::from)
            })
            .flatten()
    }

    /// A call as the cloud admin; returns the status and the JSON body (`Null` when empty).
    /// Keystone refuses tokens issued in the second of a revocation event (a password change, a
    /// user or group deletion): a 401 is retried with a new token after that second.
    pub async fn admin(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> (u16, Value) {
        let mut attempts = 0;
        loop {
            let token = self.token("Default", "admin", ADMIN_PASSWORD).await;
            let mut req = self.http().request(method.clone(), format!("{}{path}", self.url));
            if let Some(token) = token {
                req = req.header("X-Auth-Token", token);
            }
            if let Some(b) = &body {
                req = req.json(b);
            }
            let resp = req.send().await.expect("keystone answers");
            let status = resp.status().as_u16();
            let text = resp.text().await.unwrap_or_default();
            attempts += 1;
            if status == 401 && attempts < 5 {
                tokio::time::sleep(Duration::from_millis(1100)).await;
                continue;
            }
            return (status, serde_json::from_str(&text).unwrap_or(Value::Null));
        }
    }

    /// The id of the object named `name` in a list answer (`GET path`, key `key`).
    pub async fn id_of(&self, path: &str, key: &str, name: &str) -> Option<String> {
        let (_, v) = self.admin(reqwest::Method::GET, path, None).await;
        v[key]
            .as_array()?
            .iter()
            .find(|o| o["name"] == name)
            .and_then(|o| o["id"].as_str().map(String::from))
    }

    /// A fresh domain for one test, with an IAM admin (`iam-admin`, role `admin` on the domain),
    /// a non-admin (`iam-reader`, role `reader`) and the given projects. Returns the domain id.
    pub async fn domain(&self, name: &str, projects: &[&str]) -> String {
        let (status, v) = self
            .admin(
                reqwest::Method::POST,
                "/domains",
                Some(json!({"domain": {"name": name}})),
            )
            .await;
        assert_eq!(status, 201, "domain {name}: {v}");
        let domain = v["domain"]["id"].as_str().expect("domain id").to_string();
        for (user, role) in [("iam-admin", "admin"), ("iam-reader", "reader")] {
            let role_id = self
                .id_of("/roles", "roles", role)
                .await
                .expect("bootstrapped role");
            let body = json!({"user": {"name": user, "domain_id": domain, "password": "Secret-pw-1"}});
            let (status, v) = self.admin(reqwest::Method::POST, "/users", Some(body)).await;
            assert_eq!(status, 201, "user {user}: {v}");
            let user_id = v["user"]["id"].as_str().expect("user id");
            let (status, _) = self
                .admin(
                    reqwest::Method::PUT,
                    &format!("/domains/{domain}/users/{user_id}/roles/{role_id}"),
                    None,
                )
                .await;
            assert_eq!(status, 204);
        }
        for project in projects {
            let body = json!({"project": {"name": project, "domain_id": domain}});
            let (status, v) = self.admin(reqwest::Method::POST, "/projects", Some(body)).await;
            assert_eq!(status, 201, "project {project}: {v}");
        }
        domain
    }

    /// The `openstack` CLI as the cloud admin; panics with its output when it fails.
    pub fn openstack(&self, args: &[&str]) -> String {
        let out = Command::new("openstack")
            .args([
                "--os-auth-url",
                self.url.trim_end_matches("/v3"),
                "--os-identity-api-version",
                "3",
                "--os-username",
                "admin",
                "--os-password",
                ADMIN_PASSWORD,
                "--os-project-name",
                "admin",
                "--os-user-domain-name",
                "Default",
                "--os-project-domain-name",
                "Default",
            ])
            .args(args)
            .env_remove("HTTP_PROXY")
            .env_remove("http_proxy")
            .output()
            .expect("openstack CLI runs");
        assert!(
            out.status.success(),
            "openstack {args:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// The group named `name` in `domain`, as Keystone returns it.
    pub async fn group(&self, domain: &str, name: &str) -> Option<Value> {
        let (_, v) = self
            .admin(
                reqwest::Method::GET,
                &format!("/groups?domain_id={domain}&name={name}"),
                None,
            )
            .await;
        v["groups"].as_array()?.first().cloned()
    }

    /// Names of the members of group `group_id`.
    pub async fn members(&self, group_id: &str) -> Vec<String> {
        let (_, v) = self
            .admin(reqwest::Method::GET, &format!("/groups/{group_id}/users"), None)
            .await;
        let mut names: Vec<String> = v["users"]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|u| u["name"].as_str().map(String::from))
                    .collect()
            })
            .unwrap_or_default();
        names.sort();
        names
    }

    /// Names of the users of `domain`.
    pub async fn users(&self, domain: &str) -> Vec<String> {
        let (_, v) = self
            .admin(reqwest::Method::GET, &format!("/users?domain_id={domain}"), None)
            .await;
        let mut names: Vec<String> = v["users"]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|u| u["name"].as_str().map(String::from))
                    .collect()
            })
            .unwrap_or_default();
        names.sort();
        names
    }

    /// The group's role assignments as sorted `role@project-or-domain-id` strings.
    pub async fn assignments(&self, group_id: &str) -> Vec<String> {
        let (_, v) = self
            .admin(
                reqwest::Method::GET,
                &format!("/role_assignments?group.id={group_id}&include_names"),
                None,
            )
            .await;
        let mut out: Vec<String> = v["role_assignments"]
            .as_array()
            .map(|a| {
                a.iter()
                    .map(|r| {
                        let on = r["scope"]["project"]["name"]
                            .as_str()
                            .map(String::from)
                            .unwrap_or_else(|| "domain".into());
                        format!("{}@{on}", r["role"]["name"].as_str().unwrap_or("?"))
                    })
                    .collect()
            })
            .unwrap_or_default();
        out.sort();
        out
    }
}
