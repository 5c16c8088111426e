use super::*;
use chrono::TimeZone;

fn at(y: i32, m: u32, d: u32, h: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(y, m, d, h, 0, 0).single().expect("time")
}
fn month(s: &str) -> Month {
    Month::parse(s).expect("month")
}
const H48: Duration = Duration::from_secs(48 * 3600);

#[test]
fn a_month_is_due_delay_after_its_close() {
    assert_eq!(latest_due(at(2026, 11, 2, 23), H48), month("2026-09"));
    assert_eq!(latest_due(at(2026, 11, 3, 0), H48), month("2026-10"));
    assert_eq!(latest_due(at(2026, 1, 1, 0), Duration::ZERO), month("2025-12"));
}

#[test]
fn backfill_exports_the_last_closed_periods_then_each_new_one() {
    let s = schedule(None, 3, H48, None, &[], at(2026, 11, 20, 0));
    assert_eq!(s.first, month("2026-08"));
    assert_eq!(s.due, vec![month("2026-08"), month("2026-09"), month("2026-10")]);
    assert_eq!(s.next, month("2026-11"));
    assert_eq!(s.next_run_at, at(2026, 12, 3, 0));

    let done = [month("2026-08"), month("2026-09"), month("2026-10")];
    let s = schedule(Some(month("2026-08")), 3, H48, None, &done, at(2026, 12, 2, 23));
    assert!(s.due.is_empty());
    let s = schedule(Some(month("2026-08")), 3, H48, None, &done, at(2026, 12, 3, 0));
    assert_eq!(s.due, vec![month("2026-11")]);
}

#[test]
fn without_backfill_the_first_period_is_the_current_month() {
    let s = schedule(None, 0, H48, None, &[], at(2026, 11, 20, 0));
    assert_eq!(s.first, month("2026-11"));
    assert!(s.due.is_empty());
    assert_eq!(s.next_run_at, at(2026, 12, 3, 0));
}

#[test]
fn retention_expires_old_periods_and_never_exports_them() {
    let done = [month("2026-07"), month("2026-08"), month("2026-09")];
    let s = schedule(
        Some(month("2026-07")),
        3,
        H48,
        Some(2),
        &done,
        at(2026, 11, 20, 0),
    );
    assert_eq!(s.expired, vec![month("2026-07"), month("2026-08")]);
    assert_eq!(s.due, vec![month("2026-10")]);
}

#[test]
fn keys_are_deterministic_and_portal_ids_cannot_escape_the_prefix() {
    let p = prefix(
        "ccs/{contractId}/{period}",
        "OCB/1",
        month("2026-10"),
        "team",
        "x",
    );
    assert_eq!(p, "ccs/OCB_1/2026-10/");
    assert_eq!(
        file_name(ExportContent::Invoices, "C", "../../etc"),
        "invoice-_.._.._etc.pdf"
    );
    assert_eq!(file_name(ExportContent::Invoices, "C", ".."), "invoice-_...pdf");
    assert_eq!(safe_name(".."), "_..");
    assert_eq!(
        file_name(ExportContent::BillingReport, "OCB1", "2026-10"),
        "billing-report-OCB1-2026-10.csv"
    );
    assert_eq!(
        versioned_key("a/b/invoice-1.pdf", "0123456789abcdef"),
        "a/b/invoice-1.v-0123456789ab.pdf"
    );
}

fn info(sha: &str, owner: Option<&str>) -> ObjectInfo {
    ObjectInfo {
        bytes: 1,
        sha256: Some(sha.into()),
        owner: owner.map(Into::into),
        etag: None,
    }
}

#[test]
fn a_file_is_written_once_and_never_over_a_foreign_or_kept_one() {
    use OverwritePolicy::*;
    assert_eq!(decide("k", None, "aa", Never, "me"), Decision::Write("k".into()));
    assert_eq!(
        decide("k", Some(&info("aa", None)), "aa", Never, "me"),
        Decision::Present
    );
    assert_eq!(
        decide("k.pdf", Some(&info("bb", Some("me"))), "aa", Never, "me"),
        Decision::Version("k.v-aa.pdf".into())
    );
    assert_eq!(
        decide("k", Some(&info("bb", Some("me"))), "aa", Overwrite, "me"),
        Decision::Write("k".into())
    );
    assert_eq!(
        decide("k", Some(&info("bb", Some("other"))), "aa", Overwrite, "me"),
        Decision::Version("k.v-aa".into())
    );
}

#[test]
fn the_status_file_list_is_bounded_and_unique_per_key() {
    let file = |n: usize| ExportedFile {
        key: format!("k{n}"),
        period: "2026-10".into(),
        kind: ExportContent::Invoices,
        bytes: 1,
        sha256: "x".into(),
        etag: None,
        source_id: "s".into(),
        time: "t".into(),
    };
    let mut files = Vec::new();
    record_files(&mut files, (0..150).map(file));
    record_files(&mut files, [file(149)]);
    assert_eq!(files.len(), MAX_STATUS_FILES);
    assert_eq!(files.first().map(|f| f.key.as_str()), Some("k50"));
    assert_eq!(files.last().map(|f| f.key.as_str()), Some("k149"));
}

#[test]
fn delays_are_bounded() {
    assert_eq!(parse_delay("48h"), Ok(H48));
    assert!(parse_delay("40d").is_err());
    assert!(parse_delay("soon").expect_err("bad").contains("delayAfterClose"));
}

#[test]
fn the_exported_periods_are_bounded_and_the_dropped_ones_never_due_again() {
    let start = month("2010-01");
    let mut exported: Vec<String> = (0..130).map(|n| start.plus(n).to_string()).collect();
    let mut first = Some("2010-01".to_string());
    bound_periods(&mut exported, &mut first);
    assert_eq!(exported.len(), MAX_EXPORTED_PERIODS);
    assert_eq!(first.as_deref(), Some("2010-11"));
    let done: Vec<Month> = exported.iter().map(|p| month(p)).collect();
    let s = schedule(
        first.as_deref().map(month),
        3,
        H48,
        None,
        &done,
        start.plus(130).end() + chrono::Duration::days(3),
    );
    assert_eq!(s.due, vec![start.plus(130)]);
}

#[test]
fn an_invoice_is_waited_for_only_until_a_later_month_is_billed() {
    let billed = [month("2026-09"), month("2026-10")];
    assert!(!invoice_pending(&billed, month("2026-10")));
    assert!(invoice_pending(&billed, month("2026-11")));
    assert!(
        !invoice_pending(&billed, month("2025-01")),
        "before the portal's history"
    );
    assert!(invoice_pending(&[], month("2026-11")));
}
