//! Billing files streamed to disk: an invoice PDF or a CSV report goes chunk by chunk into a file
//! while its SHA-256 is computed, so memory stays constant whatever the file size. Retried like
//! every read (the file is rewritten from the start on each attempt), capped in size.

use super::error::{ErrorCategory, PortalError, PortalResult};
use super::http::{Call, OnTheWire, ReadError, ReqwestPortal, http_error, read_capped};
use super::metrics::code_class;
use reqwest::Method;
use std::path::Path;
use std::time::Instant;
use tokio::io::AsyncWriteExt;

/// A billing file of the portal.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum BillingFile {
    /// The PDF of a bill.
    Invoice {
        /// Bill id.
        bill_id: String,
    },
    /// The CSV billing report of a month (`YYYY-MM`).
    Report {
        /// Month.
        period: String,
    },
}

/// A file downloaded to disk.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Downloaded {
    /// Bytes written.
    pub bytes: u64,
    /// Lowercase hex SHA-256 of the content.
    pub sha256: String,
}

/// Largest error body read from a failed download (the JSON error of the contract).
const MAX_ERROR_BODY: u64 = 64 * 1024;

/// Lowercase hex of bytes.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The call that reads a billing file.
pub(super) fn call(contract: &str, file: &BillingFile) -> Call<'static> {
    let mut parts = super::model::API_PREFIX
        .split('/')
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect::<Vec<_>>();
    parts.extend(["contracts".into(), contract.to_string()]);
    let (operation, query) = match file {
        BillingFile::Invoice { bill_id } => {
            parts.extend(["bills".into(), bill_id.clone(), "pdf".into()]);
            ("bill_pdf", vec![])
        }
        BillingFile::Report { period } => {
            parts.push("billing-report".into());
            ("billing_report", vec![("period", period.clone())])
        }
    };
    Call {
        operation,
        method: Method::GET,
        path: parts,
        query,
        body: None,
        retry: true,
    }
}

impl ReqwestPortal {
    /// Streams `file` of `contract` into `out` (created or truncated), at most `cap` bytes.
    pub async fn download_to(
        &self,
        contract: &str,
        file: &BillingFile,
        out: &Path,
        cap: u64,
    ) -> PortalResult<Downloaded> {
        let call = call(contract, file);
        self.with_retries(call.operation, true, |_| {
            self.authenticated(|token| {
                let call = &call;
                async move { self.stream_once(call, &token, out, cap).await }
            })
        })
        .await
    }

    async fn stream_once(
        &self,
        call: &Call<'_>,
        token: &super::Secret,
        out: &Path,
        cap: u64,
    ) -> PortalResult<Downloaded> {
        let shared = &self.shared;
        let req = self.request(call, Some(token)).await?;
        let _on_the_wire = OnTheWire::enter(shared).await;
        let start = Instant::now();
        let op = call.operation;
        let transport = |err: reqwest::Error| {
            let category = if err.is_timeout() {
                ErrorCategory::Timeout
            } else {
                ErrorCategory::Transport
            };
            let class = if err.is_timeout() { "timeout" } else { "transport" };
            shared.metrics.attempt(op, class, start.elapsed());
            PortalError::new(category, op, err.without_url().to_string())
        };
        let mut resp = req.send().await.map_err(transport)?;
        let status = resp.status();
        if !status.is_success() {
            let headers = resp.headers().clone();
            let body = match read_capped(resp, MAX_ERROR_BODY).await {
                Ok(body) => body,
                Err(ReadError::Http(err)) => return Err(transport(err)),
                Err(ReadError::TooLarge) => Vec::new(),
            };
            shared
                .metrics
                .attempt(op, code_class(status.as_u16()), start.elapsed());
            return Err(http_error(op, status, &headers, &body));
        }
        let too_large = || {
            shared.metrics.attempt(op, "too_large", start.elapsed());
            PortalError::new(
                ErrorCategory::TooLarge,
                op,
                format!("the file is larger than billing.maxFileBytes ({cap} bytes)"),
            )
        };
        if resp.content_length().is_some_and(|len| len > cap) {
            return Err(too_large());
        }
        let io = |e: std::io::Error| {
            PortalError::new(ErrorCategory::Transport, op, format!("writing the download: {e}"))
        };
        let mut sink = tokio::fs::File::create(out).await.map_err(io)?;
        let mut digest = ring::digest::Context::new(&ring::digest::SHA256);
        let mut bytes = 0u64;
        while let Some(chunk) = resp.chunk().await.map_err(transport)? {
            bytes += chunk.len() as u64;
            if bytes > cap {
                return Err(too_large());
            }
            digest.update(&chunk);
            sink.write_all(&chunk).await.map_err(io)?;
        }
        sink.flush().await.map_err(io)?;
        shared
            .metrics
            .attempt(op, code_class(status.as_u16()), start.elapsed());
        Ok(Downloaded {
            bytes,
            sha256: hex(digest.finish().as_ref()),
        })
    }
}
