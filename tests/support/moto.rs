//! A real S3-compatible server on loopback: moto in server mode (PyPI `moto[server]`, installed
//! into `.venv` by the test command), with signed requests.

use ccs_operator::billing::Store;
use ccs_operator::billing::s3::{S3Store, http_client};
use rusty_s3::{Bucket, Credentials, S3Action, UrlStyle};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Region the tests sign for.
pub const REGION: &str = "us-east-1";
const SIGNED_FOR: Duration = Duration::from_secs(600);

/// A running `moto_server`.
pub struct Moto {
    child: Child,
    /// Its base URL, `http://127.0.0.1:PORT`.
    pub url: String,
    http: reqwest::Client,
}

impl Moto {
    /// Starts moto on a free port and waits until it answers.
    pub async fn start() -> Self {
        let bin = Path::new(env!("CARGO_MANIFEST_DIR")).join(".venv/bin/moto_server");
        assert!(
            bin.exists(),
            "{} is missing: install it with `python3 -m venv .venv && .venv/bin/pip install -r tests/requirements.txt` (.ci/test does this)",
            bin.display()
        );
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("free port")
            .port();
        let child = Command::new(bin)
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("moto_server starts");
        let url = format!("http://127.0.0.1:{port}");
        let http = reqwest::Client::builder().no_proxy().build().expect("client");
        let start = Instant::now();
        while http.get(format!("{url}/moto-api/")).send().await.is_err() {
            assert!(
                start.elapsed() < Duration::from_secs(60),
                "moto_server did not start on {url}"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        Self { child, url, http }
    }

    fn bucket(&self, name: &str) -> Bucket {
        Bucket::new(
            self.url.parse().expect("url"),
            UrlStyle::Path,
            name.to_string(),
            REGION,
        )
        .expect("bucket")
    }

    fn credentials() -> Credentials {
        Credentials::new("test-access-key", "test-secret-key")
    }

    /// Creates a bucket.
    pub async fn create_bucket(&self, name: &str) {
        let bucket = self.bucket(name);
        let creds = Self::credentials();
        let url = bucket.create_bucket(&creds).sign(SIGNED_FOR);
        let resp = self
            .http
            .put(url)
            .header("content-length", "0")
            .send()
            .await
            .expect("create bucket");
        assert!(resp.status().is_success(), "create bucket: {}", resp.status());
    }

    /// Writes an object without any metadata (a foreign object).
    pub async fn put_foreign(&self, bucket: &str, key: &str, body: &[u8]) {
        let bucket = self.bucket(bucket);
        let creds = Self::credentials();
        let url = bucket.put_object(Some(&creds), key).sign(SIGNED_FOR);
        let resp = self.http.put(url).body(body.to_vec()).send().await.expect("put");
        assert!(resp.status().is_success(), "put: {}", resp.status());
    }

    /// Reads an object's content.
    pub async fn get(&self, bucket: &str, key: &str) -> Vec<u8> {
        let bucket = self.bucket(bucket);
        let creds = Self::credentials();
        let url = bucket.get_object(Some(&creds), key).sign(SIGNED_FOR);
        let resp = self.http.get(url).send().await.expect("get");
        assert!(resp.status().is_success(), "get {key}: {}", resp.status());
        resp.bytes().await.expect("body").to_vec()
    }

    /// The operator's own store on `bucket` (to list and look objects up).
    pub fn store(&self, bucket: &str) -> S3Store {
        S3Store::new(
            http_client(true, Duration::from_secs(30)).expect("client"),
            &self.url,
            REGION,
            bucket,
            "test-access-key".into(),
            "test-secret-key".into(),
        )
        .expect("store")
    }

    /// Every key of `bucket` under `prefix`, sorted.
    pub async fn keys(&self, bucket: &str, prefix: &str) -> Vec<String> {
        let mut keys = self.store(bucket).list(prefix).await.expect("list");
        keys.sort();
        keys
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Lowercase hex SHA-256.
pub fn sha256(bytes: &[u8]) -> String {
    ccs_operator::portal::hex(ring::digest::digest(&ring::digest::SHA256, bytes).as_ref())
}
