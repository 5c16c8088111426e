//! Consumption and bills, computed from the seed and the clock rather than stored: pure
//! functions, so they never drift and never need saving.

use super::rng::{hash, unit};
use super::world::{ContractRecord, World};
use ccs_portal_model::{Bill, BillStatus, Consumption, DailyAmount};
use chrono::{DateTime, Datelike, Duration, NaiveDate, Utc};

/// Formats cents as a decimal string.
pub fn money(cents: i64) -> String {
    format!("{}.{:02}", cents / 100, cents % 100)
}

fn day_cents(seed: u64, contract: &ContractRecord, date: NaiveDate) -> i64 {
    let h = hash(seed, &[&contract.id, "day", &date.to_string()]);
    // Between 70% and 130% of the contract's average.
    (contract.daily_cents as f64 * (0.7 + 0.6 * unit(h))) as i64
}

fn month_start(date: NaiveDate) -> NaiveDate {
    date.with_day(1).unwrap_or(date)
}

fn next_month(date: NaiveDate) -> NaiveDate {
    let (y, m) = if date.month() == 12 {
        (date.year() + 1, 1)
    } else {
        (date.year(), date.month() + 1)
    };
    NaiveDate::from_ymd_opt(y, m, 1).unwrap_or(date)
}

fn prev_month(date: NaiveDate) -> NaiveDate {
    let (y, m) = if date.month() == 1 {
        (date.year() - 1, 12)
    } else {
        (date.year(), date.month() - 1)
    };
    NaiveDate::from_ymd_opt(y, m, 1).unwrap_or(date)
}

/// Spend since the first of the month, day by day; today counts pro rata of the elapsed day.
/// While consumption is frozen, data stays as of the freeze.
pub fn consumption(world: &World, contract: &ContractRecord, now: DateTime<Utc>) -> Consumption {
    let now = world.consumption_frozen_at.map_or(now, |frozen| frozen.min(now));
    let today = now.date_naive();
    let start = month_start(today);
    let day_fraction = now.time().num_seconds_from_midnight_f64() / 86_400.0;
    let mut total = 0;
    let daily = start
        .iter_days()
        .take_while(|d| *d <= today)
        .map(|date| {
            let full = day_cents(world.config.seed, contract, date);
            let cents = if date == today {
                (full as f64 * day_fraction) as i64
            } else {
                full
            };
            total += cents;
            DailyAmount {
                date,
                amount: money(cents),
            }
        })
        .collect();
    Consumption {
        contract_id: contract.id.clone(),
        currency: contract.currency.clone(),
        period_start: start,
        period_end: next_month(start).pred_opt().unwrap_or(start),
        amount_to_date: money(total),
        data_as_of: now,
        daily,
    }
}

trait SecondsOfDay {
    fn num_seconds_from_midnight_f64(&self) -> f64;
}
impl SecondsOfDay for chrono::NaiveTime {
    fn num_seconds_from_midnight_f64(&self) -> f64 {
        use chrono::Timelike;
        f64::from(self.num_seconds_from_midnight()) + f64::from(self.nanosecond()) / 1e9
    }
}

/// The 12 invoices before the current month, newest first.
pub fn bills(world: &World, contract: &ContractRecord, now: DateTime<Utc>) -> Vec<Bill> {
    let today = now.date_naive();
    let mut month = prev_month(month_start(today));
    let mut bills = Vec::with_capacity(12);
    for n in 0..12 {
        let end = next_month(month);
        let cents: i64 = month
            .iter_days()
            .take_while(|d| *d < end)
            .map(|d| day_cents(world.config.seed, contract, d))
            .sum();
        let issued_at = end + Duration::days(4);
        let due_at = issued_at + Duration::days(30);
        // One contract in three has the invoice before last unpaid, to show `Overdue`.
        let overdue = n == 1 && hash(world.config.seed, &[&contract.id, "overdue"]).is_multiple_of(3);
        let status = match () {
            _ if issued_at > today => BillStatus::Issued,
            _ if overdue && due_at < today => BillStatus::Overdue,
            _ if due_at < today => BillStatus::Paid,
            _ => BillStatus::Issued,
        };
        // A bill only exists once issued.
        if issued_at <= today {
            bills.push(Bill {
                id: format!("INV-{}-{}", contract.id, month.format("%Y%m")),
                period: month.format("%Y-%m").to_string(),
                issued_at,
                due_at,
                amount: money(cents * 120 / 100),
                currency: contract.currency.clone(),
                status,
            });
        }
        month = prev_month(month);
    }
    bills
}

/// The CSV billing report of one month: one line per day and subscription.
pub fn billing_report(
    world: &World,
    contract: &ContractRecord,
    period: NaiveDate,
    now: DateTime<Utc>,
) -> String {
    let mut csv = String::from("date,subscription,service,region,amount,currency\n");
    let end = next_month(period);
    for date in period
        .iter_days()
        .take_while(|d| *d < end && *d <= now.date_naive())
    {
        let day = day_cents(world.config.seed, contract, date);
        let n = contract.subscriptions.len().max(1) as i64;
        for (i, sub) in contract.subscriptions.iter().enumerate() {
            // Split the day between subscriptions; the first one takes the remainder.
            let share = day / n + if i == 0 { day % n } else { 0 };
            let region = sub.region.as_deref().unwrap_or("");
            csv.push_str(&format!(
                "{date},{},{},{region},{},{}\n",
                sub.id,
                sub.service,
                money(share),
                contract.currency
            ));
        }
    }
    csv
}

/// The size of a bill's PDF: fixed by the seed, between `min` and `max` bytes.
pub fn pdf_size(seed: u64, bill: &Bill, min: usize, max: usize) -> usize {
    min + ((max - min) as f64 * unit(hash(seed, &[&bill.id, "pdf-size"]))) as usize
}

/// A valid one-page PDF naming the bill, padded to `size` bytes with an unreferenced binary
/// stream (as a scanned detail page would be), deterministic for a seed.
pub fn bill_pdf(bill: &Bill, contract: &ContractRecord, seed: u64, size: usize) -> Vec<u8> {
    let text = format!(
        "Invoice {} - {} - {} {} {}",
        bill.id, contract.name, bill.period, bill.amount, bill.currency
    )
    .replace(['(', ')', '\\'], " ");
    let stream = format!("BT /F1 12 Tf 50 750 Td ({text}) Tj ET");
    let mut objects = vec![
        "<< /Type /Catalog /Pages 2 0 R >>".to_string(),
        "<< /Type /Pages /Kids [3 0 R] /Count 1 >>".to_string(),
        "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R /Resources << /Font << /F1 5 0 R >> >> >>".to_string(),
        format!("<< /Length {} >>\nstream\n{stream}\nendstream", stream.len()),
        "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>".to_string(),
    ];
    // The padding stream's length: what is left of `size` after the rest of the file.
    let overhead = 600 + text.len() * 2;
    let padding = size.saturating_sub(overhead);
    if padding > 0 {
        objects.push(format!("<< /Length {padding} >>\nstream\n"));
    }
    let mut pdf = b"%PDF-1.4\n".to_vec();
    let mut offsets = vec![];
    let mut state = hash(seed, &[&bill.id, "pdf"]) | 1;
    for (i, obj) in objects.iter().enumerate() {
        offsets.push(pdf.len());
        pdf.extend_from_slice(format!("{} 0 obj\n{obj}", i + 1).as_bytes());
        if padding > 0 && i == objects.len() - 1 {
            // xorshift64: incompressible bytes, like an embedded image.
            pdf.reserve(padding);
            for _ in 0..padding {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                pdf.push(state as u8);
            }
            pdf.extend_from_slice(b"\nendstream");
        }
        pdf.extend_from_slice(b"\nendobj\n");
    }
    let xref = pdf.len();
    let mut tail = format!("xref\n0 {}\n0000000000 65535 f \n", objects.len() + 1);
    for off in offsets {
        tail.push_str(&format!("{off:010} 00000 n \n"));
    }
    tail.push_str(&format!(
        "trailer\n<< /Size {} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n",
        objects.len() + 1
    ));
    pdf.extend_from_slice(tail.as_bytes());
    pdf
}
