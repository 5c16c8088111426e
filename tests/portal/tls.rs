//! rustls with an optional extra CA bundle: a server signed by a private CA is trusted only when
//! that CA is configured.

use crate::portal_common;

use ccs_operator::portal::*;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use std::path::PathBuf;
use std::sync::Arc;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/tls")
        .join(name)
}

/// A tiny HTTPS peer: a token for the token route, an empty list for anything else.
async fn https_peer() -> String {
    let certs: Vec<CertificateDer> = CertificateDer::pem_file_iter(fixture("server.pem"))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    let key = PrivateKeyDer::from_pem_file(fixture("server.key")).unwrap();
    let config = rustls::ServerConfig::builder()
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .unwrap();
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                let Ok(mut tls) = acceptor.accept(tcp).await else {
                    return;
                };
                let mut buf = vec![0; 8192];
                let n = tls.read(&mut buf).await.unwrap_or(0);
                let head = String::from_utf8_lossy(&buf[..n]);
                let body = if head.starts_with("POST /oauth/v3/token") {
                    r#"{"access_token":"t","token_type":"Bearer","expires_in":3600}"#
                } else {
                    "[]"
                };
                let reply = format!(
                    "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\nx-total-count: 0\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                    body.len()
                );
                let _ = tls.write_all(reply.as_bytes()).await;
                let _ = tls.shutdown().await;
            });
        }
    });
    format!("https://127.0.0.1:{}", addr.port())
}

fn portal(url: &str, ca: Option<PathBuf>) -> anyhow::Result<ReqwestPortal> {
    let config = ClientConfig {
        extra_ca_bundle: ca,
        ..portal_common::fast_config()
    };
    let shared = PortalShared::new(config, &prometheus::Registry::new())?;
    Ok(ReqwestPortal::new(
        shared,
        url,
        Credentials::new("id", "secret", "key"),
    ))
}

#[tokio::test]
async fn extra_ca_bundle_is_trusted() {
    ccs_operator::install_crypto_provider();
    let url = https_peer().await;
    let trusted = portal(&url, Some(fixture("ca.pem"))).unwrap();
    assert_eq!(trusted.list_contracts().await.unwrap(), vec![]);

    let untrusted = portal(&url, None).unwrap();
    let err = untrusted.list_contracts().await.unwrap_err();
    assert_eq!(err.category(), ErrorCategory::Transport, "{err}");
}

#[tokio::test]
async fn a_bundle_without_certificates_is_a_configuration_error() {
    ccs_operator::install_crypto_provider();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("empty.pem");
    std::fs::write(&path, "not a certificate").unwrap();
    assert!(portal("https://127.0.0.1:1", Some(path)).is_err());
    assert!(portal("https://127.0.0.1:1", Some(dir.path().join("missing.pem"))).is_err());
}
