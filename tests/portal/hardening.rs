//! The portal client against a hostile or misconfigured endpoint: ids cannot reach another path,
//! answers are read with a size cap, plain http is refused unless allowed, and errors carry no
//! URL query (where email addresses travel).

use crate::portal_common;

use ccs_operator::portal::{
    ClientConfig, Credentials, CustomerSpace, ErrorCategory, PortalShared, ReqwestPortal,
};
use portal_common::fast_config;
use std::sync::{Arc, Mutex};

/// A server answering every request with `body` (after a token answer) and recording paths.
async fn server(body: Vec<u8>) -> (String, Arc<Mutex<Vec<String>>>) {
    let paths: Arc<Mutex<Vec<String>>> = Arc::default();
    let seen = paths.clone();
    let app = axum::Router::new().fallback(move |uri: axum::http::Uri| {
        let seen = seen.clone();
        let body = body.clone();
        async move {
            let path = uri.path().to_string();
            seen.lock().expect("lock").push(path.clone());
            if path.ends_with("/oauth/v3/token") {
                return r#"{"access_token":"t","token_type":"Bearer","expires_in":3600}"#
                    .as_bytes()
                    .to_vec();
            }
            body
        }
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let url = format!("http://{}", listener.local_addr().expect("address"));
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    (url, paths)
}

fn client(base: &str, config: ClientConfig) -> ReqwestPortal {
    ccs_operator::install_crypto_provider();
    let shared = PortalShared::new(config, &prometheus::Registry::new()).expect("client");
    ReqwestPortal::new(shared, base, Credentials::new("id", "secret", "key"))
}

#[tokio::test]
async fn ids_stay_inside_their_path_segment() {
    let (url, paths) = server(b"{}".to_vec()).await;
    let portal = client(&format!("{url}/prefix"), fast_config());
    let _ = portal.get_request("C1", "../../admin/shutdown#").await;
    let _ = portal.get_contract("a/b?x=1").await;
    let err = portal.get_contract("..").await.unwrap_err();
    assert_eq!(err.category, ErrorCategory::Invalid);
    let paths = paths.lock().expect("lock").clone();
    assert!(paths.iter().all(|p| p.starts_with("/prefix/")), "{paths:?}");
    assert!(
        paths
            .iter()
            .any(|p| p.ends_with("/requests/..%2F..%2Fadmin%2Fshutdown%23")),
        "{paths:?}"
    );
    assert!(
        paths.iter().any(|p| p.ends_with("/contracts/a%2Fb%3Fx=1")),
        "{paths:?}"
    );
    assert!(!paths.iter().any(|p| p.contains("/admin/")), "{paths:?}");
}

#[tokio::test]
async fn answers_over_the_cap_are_too_large_not_buffered() {
    let (url, _) = server(vec![b' '; 64 * 1024]).await;
    let config = ClientConfig {
        max_response_bytes: 16 * 1024,
        ..fast_config()
    };
    let err = client(&url, config).get_contract("C1").await.unwrap_err();
    assert_eq!(err.category, ErrorCategory::TooLarge, "{err}");
    assert!(err.message.contains("maxResponseBytes"), "{err}");
    assert!(err.is_terminal());
}

#[tokio::test]
async fn plain_http_is_refused_unless_allowed() {
    let (url, paths) = server(b"{}".to_vec()).await;
    let config = ClientConfig {
        allow_http: false,
        ..fast_config()
    };
    let err = client(&url, config).get_contract("C1").await.unwrap_err();
    assert_eq!(err.category, ErrorCategory::Transport, "{err}");
    assert!(paths.lock().expect("lock").is_empty());
}

#[tokio::test]
async fn errors_carry_no_url_query() {
    // A closed port: a transport error, whose reqwest message would name the URL and its query.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let url = format!("http://{}", listener.local_addr().expect("address"));
    drop(listener);
    let config = ClientConfig {
        retry: ccs_operator::portal::RetryPolicy {
            max_retries: 0,
            ..fast_config().retry
        },
        ..fast_config()
    };
    let portal = Arc::new(client(&url, config));
    let err = portal.find_account("jane.doe@acme.example").await.unwrap_err();
    let text = format!("{err} {err:?}");
    assert!(!text.contains("jane.doe"), "{text}");
    assert!(!text.contains("acme.example"), "{text}");
}
