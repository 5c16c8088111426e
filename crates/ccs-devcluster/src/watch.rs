//! Watch streams: newline-delimited JSON events, bookmarks, in-stream 410 for expired versions.

use super::error::{ApiError, ApiResult};
use super::resource::ResourceInfo;
use super::selector::Selectors;
use super::store::{Change, EventType, Store};
use super::table::{self, Format};
use super::view::present;
use axum::body::{Body, Bytes};
use serde_json::{Value, json};
use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{broadcast, mpsc};

/// How often an idle watch with `allowWatchBookmarks=true` gets a BOOKMARK.
const BOOKMARK_EVERY: Duration = Duration::from_secs(15);

/// Timeout of watches that send no `timeoutSeconds` (the server's min-request-timeout).
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(1800);

/// A parsed watch request.
#[derive(Debug, Clone)]
pub struct WatchRequest {
    /// Resource and version.
    pub info: Arc<ResourceInfo>,
    /// Only this namespace (None = all).
    pub namespace: Option<String>,
    /// Label and field selectors.
    pub selectors: Selectors,
    /// `resourceVersion` to start after.
    pub resource_version: Option<String>,
    /// `sendInitialEvents=true`.
    pub send_initial_events: bool,
    /// `allowWatchBookmarks=true`.
    pub bookmarks: bool,
    /// When to end the stream.
    pub timeout: Duration,
    /// Objects, Table rows or metadata.
    pub format: Format,
}

/// Renders events of one watch in its requested format.
struct Renderer {
    req: WatchRequest,
    first_table: bool,
}

impl Renderer {
    fn matches(&self, object: &Value) -> bool {
        let ns_ok = self
            .req
            .namespace
            .as_deref()
            .is_none_or(|ns| object["metadata"]["namespace"].as_str() == Some(ns));
        ns_ok && self.req.selectors.matches(object)
    }

    /// The event a change means for this watch, taking selector transitions into account.
    fn event_type(&self, change: &Change) -> Option<EventType> {
        if change.storage != self.req.info.storage {
            return None;
        }
        let now = self.matches(&change.object);
        let before = change.old.as_deref().is_some_and(|o| self.matches(o));
        match change.kind {
            EventType::Added if now => Some(EventType::Added),
            EventType::Modified if now && before => Some(EventType::Modified),
            EventType::Modified if now => Some(EventType::Added),
            EventType::Modified if before => Some(EventType::Deleted),
            EventType::Deleted if before || now => Some(EventType::Deleted),
            _ => None,
        }
    }

    /// The line of `change` seen as `kind`: shared with every other watch that sees it the
    /// same way (full objects of the stored version), rendered here otherwise.
    fn change_line(&mut self, kind: EventType, change: &Change) -> Bytes {
        let info = &self.req.info;
        let shared = kind == change.kind
            && self.req.format == Format::Object
            && info.builtin.is_none()
            && change.object["apiVersion"].as_str() == Some(&info.api_version());
        if shared {
            let rendered = change
                .line
                .get_or_init(|| encode(&json!({"type": kind.as_str(), "object": change.object.as_ref()})));
            return rendered.clone();
        }
        self.line(kind.as_str(), &change.object)
    }

    fn line(&mut self, kind: &str, object: &Value) -> Bytes {
        let info = &self.req.info;
        let object = table::render(info, present(info, object), self.req.format, self.first_table);
        self.first_table = false;
        encode(&json!({"type": kind, "object": object}))
    }

    fn bookmark(&self, revision: u64, initial_end: bool) -> Bytes {
        let mut metadata = json!({"resourceVersion": revision.to_string()});
        if initial_end {
            metadata["annotations"] = json!({"k8s.io/initial-events-end": "true"});
        }
        let info = &self.req.info;
        encode(
            &json!({"type": "BOOKMARK", "object": {"kind": info.kind, "apiVersion": info.api_version(), "metadata": metadata}}),
        )
    }
}

fn encode(v: &Value) -> Bytes {
    let mut bytes = serde_json::to_vec(v).unwrap_or_default();
    bytes.push(b'\n');
    Bytes::from(bytes)
}

fn error_line(e: &ApiError) -> Bytes {
    encode(&json!({"type": "ERROR", "object": e.to_status()}))
}

/// Starts a watch and returns the streaming response body.
pub fn watch(store: &Arc<Store>, req: WatchRequest) -> ApiResult<Body> {
    let requested = match req.resource_version.as_deref() {
        None | Some("") | Some("0") => None,
        Some(rv) => Some(rv.parse::<u64>().map_err(|_| {
            ApiError::bad_request(format!(
                "resourceVersion: Invalid value: \"{rv}\": must be an unsigned integer"
            ))
        })?),
    };
    let mut renderer = Renderer {
        req,
        first_table: true,
    };
    let mut lines = vec![];
    store.watches.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let mut closing = store.closing.subscribe();
    let (rx, expire, start, expired) = {
        let inner = store.read();
        let mut expired = None;
        match requested {
            Some(rv) if !renderer.req.send_initial_events => {
                if rv < inner.compacted {
                    expired = Some(ApiError::expired(rv, inner.revision));
                } else {
                    for change in inner.history.iter().filter(|c| c.revision > rv) {
                        if let Some(kind) = renderer.event_type(change) {
                            lines.push(renderer.change_line(kind, change));
                        }
                    }
                }
            }
            _ => {
                if let Some(bucket) = inner.bucket(&renderer.req.info.storage) {
                    for object in bucket.values() {
                        if renderer.matches(object) {
                            lines.push(renderer.line("ADDED", object));
                        }
                    }
                }
            }
        }
        (
            inner.subscribe(),
            store.expire_tx.subscribe(),
            inner.revision,
            expired,
        )
    };
    if renderer.req.send_initial_events && renderer.req.bookmarks {
        lines.push(renderer.bookmark(start, true));
    }
    let (tx, out) = mpsc::channel::<Bytes>(256);
    tokio::spawn(async move {
        for line in lines {
            if tx.send(line).await.is_err() {
                return;
            }
        }
        match expired {
            Some(e) => {
                let _ = tx.send(error_line(&e)).await;
            }
            None => {
                tokio::select! {
                    _ = pump(renderer, rx, expire, start, tx) => {}
                    _ = closing.wait_for(|c| *c) => {}
                }
            }
        }
    });
    let stream = futures::stream::unfold(out, |mut out| async move {
        out.recv().await.map(|line| (Ok::<_, Infallible>(line), out))
    });
    Ok(Body::from_stream(stream))
}

/// Forwards live changes until timeout, client disconnect, lag or expiry.
async fn pump(
    mut renderer: Renderer,
    mut rx: broadcast::Receiver<Arc<Change>>,
    mut expire: broadcast::Receiver<()>,
    start: u64,
    tx: mpsc::Sender<Bytes>,
) {
    let deadline = tokio::time::sleep(renderer.req.timeout);
    tokio::pin!(deadline);
    let mut tick = tokio::time::interval(BOOKMARK_EVERY);
    tick.tick().await;
    let (mut last, mut bookmarked) = (start, start);
    loop {
        let line = tokio::select! {
            _ = &mut deadline => return,
            _ = tx.closed() => return,
            _ = expire.recv() => Some((error_line(&ApiError::expired(last, last)), true)),
            _ = tick.tick() => {
                if !renderer.req.bookmarks || last == bookmarked { continue }
                bookmarked = last;
                Some((renderer.bookmark(last, false), false))
            }
            received = rx.recv() => match received {
                Ok(change) if change.revision <= start => continue,
                Ok(change) => {
                    last = change.revision;
                    renderer.event_type(&change).map(|kind| (renderer.change_line(kind, &change), false))
                }
                // A watcher too slow for the broadcast buffer must relist, like a real one that fell behind.
                Err(broadcast::error::RecvError::Lagged(_)) => Some((error_line(&ApiError::expired(last, last)), true)),
                Err(broadcast::error::RecvError::Closed) => return,
            },
        };
        let Some((line, last_line)) = line else { continue };
        if tx.send(line).await.is_err() || last_line {
            return;
        }
    }
}
