//! Delivering the files of one period: listing them on the portal, streaming each to a spool
//! file with its checksum, writing it unless the same content is at its key; and retention.

use super::destination::store_error;
use super::plan;
use crate::api::billing_export::{BillingExport, ExportContent, ExportedFile};
use crate::billing::{Month, Store};
use crate::controllers::common::{Category, ReconcileError, timestamp};
use crate::controllers::context::Context;
use crate::controllers::portal_access::portal_error;
use crate::portal::{BillingFile, CustomerSpace};
use kube::ResourceExt;

/// One billing file of a period, before download.
#[derive(Clone, Debug)]
pub(super) struct Source {
    kind: ExportContent,
    file: BillingFile,
    source_id: String,
}

/// What one reconcile works with.
pub(super) struct Job<'a> {
    pub(super) ctx: &'a Context,
    pub(super) obj: &'a BillingExport,
    pub(super) client: &'a dyn CustomerSpace,
    pub(super) store: &'a dyn Store,
    pub(super) contract_id: &'a str,
    pub(super) prefix: &'a str,
    pub(super) owner: String,
}

impl Job<'_> {
    fn prefix_of(&self, period: Month) -> String {
        plan::prefix(
            self.prefix,
            self.contract_id,
            period,
            &self.obj.namespace().unwrap_or_default(),
            &self.obj.name_any(),
        )
    }

    /// The files of a period; `None` while an invoice of it is not issued yet.
    pub(super) async fn sources(&self, period: Month) -> Result<Option<Vec<Source>>, ReconcileError> {
        let mut sources = Vec::new();
        let key = period.to_string();
        for kind in &self.obj.spec.contents {
            match kind {
                ExportContent::Invoices => {
                    let bills = self.client.list_bills(self.contract_id, 500).await.map_err(|e| {
                        portal_error(e, &format!("listing the bills of {}", self.contract_id))
                    })?;
                    let billed: Vec<Month> = bills.iter().filter_map(|b| Month::parse(&b.period)).collect();
                    if plan::invoice_pending(&billed, period) {
                        return Ok(None);
                    }
                    let of_period: Vec<_> = bills.into_iter().filter(|b| b.period == key).collect();
                    sources.extend(of_period.into_iter().map(|b| Source {
                        kind: ExportContent::Invoices,
                        source_id: b.id.clone(),
                        file: BillingFile::Invoice { bill_id: b.id },
                    }));
                }
                ExportContent::BillingReport => sources.push(Source {
                    kind: ExportContent::BillingReport,
                    source_id: key.clone(),
                    file: BillingFile::Report { period: key.clone() },
                }),
            }
        }
        Ok(Some(sources))
    }

    /// Delivers one file: download to a spool file, then write unless the same content is at its
    /// key. Returns the record and whether it was written now.
    pub(super) async fn deliver(
        &self,
        period: Month,
        source: Source,
    ) -> Result<(ExportedFile, bool), ReconcileError> {
        let config = &self.ctx.config.billing;
        let spool = tempfile::Builder::new()
            .prefix("ccs-billing-")
            .tempfile_in(config.spool())
            .map_err(|e| {
                ReconcileError::new(
                    Category::Internal,
                    format!("creating a spool file in {}: {e}", config.spool().display()),
                )
            })?;
        let got = self
            .client
            .download(
                self.contract_id,
                &source.file,
                spool.path(),
                config.max_file_bytes,
            )
            .await
            .map_err(|e| {
                portal_error(
                    e,
                    &format!("downloading {} of {}", source.source_id, self.contract_id),
                )
            })?;
        let name = plan::file_name(source.kind, self.contract_id, &source.source_id);
        let mut key = format!("{}{name}", self.prefix_of(period));
        let mut written = false;
        let mut etag = None;
        // At most two keys: the deterministic one, then its versioned form.
        for _ in 0..2 {
            let existing = self
                .store
                .head(&key)
                .await
                .map_err(|e| store_error(self.obj, e))?;
            match plan::decide(
                &key,
                existing.as_ref(),
                &got.sha256,
                self.obj.spec.overwrite,
                &self.owner,
            ) {
                plan::Decision::Present => {
                    etag = existing.and_then(|e| e.etag);
                    break;
                }
                plan::Decision::Version(versioned) => key = versioned,
                plan::Decision::Write(target) => {
                    if !self.ctx.leading("billing export") {
                        return Err(ReconcileError::new(
                            Category::Unavailable,
                            "lost the leader lease".to_string(),
                        ));
                    }
                    etag = self
                        .store
                        .put(&target, spool.path(), got.bytes, &got.sha256, &self.owner)
                        .await
                        .map_err(|e| store_error(self.obj, e))?;
                    key = target;
                    written = true;
                    break;
                }
            }
        }
        Ok((
            ExportedFile {
                key,
                period: period.to_string(),
                kind: source.kind,
                bytes: i64::try_from(got.bytes).unwrap_or(i64::MAX),
                sha256: got.sha256,
                etag: etag.map(|e| e.trim_matches('"').to_string()),
                source_id: source.source_id,
                time: timestamp(self.ctx.now()),
            },
            written,
        ))
    }

    /// Deletes the files this export wrote for `period` (never another object).
    pub(super) async fn expire(&self, period: Month) -> Result<usize, ReconcileError> {
        let mut deleted = 0;
        for key in self
            .store
            .list(&self.prefix_of(period))
            .await
            .map_err(|e| store_error(self.obj, e))?
        {
            let info = self
                .store
                .head(&key)
                .await
                .map_err(|e| store_error(self.obj, e))?;
            if info.and_then(|i| i.owner).as_deref() == Some(self.owner.as_str()) {
                self.store
                    .delete(&key)
                    .await
                    .map_err(|e| store_error(self.obj, e))?;
                deleted += 1;
            }
        }
        Ok(deleted)
    }
}
