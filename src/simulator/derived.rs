//! Data computed from the seed and the clock rather than stored: consumption, bills, incidents.
//! Pure functions, so they never drift and never need saving.

use super::errors::tr;
use super::rng::{hash, unit};
use super::world::{ContractRecord, World};
use crate::portal::model::{
    Bill, BillStatus, Consumption, DailyAmount, Incident, IncidentState, Language, PlatformStatus,
    RegionStatus, Weather,
};
use chrono::{DateTime, Datelike, Duration, NaiveDate, TimeZone, Utc};

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
pub fn consumption(world: &World, contract: &ContractRecord, now: DateTime<Utc>) -> Consumption {
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

/// A minimal valid one-page PDF naming the bill.
pub fn bill_pdf(bill: &Bill, contract: &ContractRecord) -> Vec<u8> {
    let text = format!(
        "Invoice {} - {} - {} {} {}",
        bill.id, contract.name, bill.period, bill.amount, bill.currency
    )
    .replace(['(', ')', '\\'], " ");
    let stream = format!("BT /F1 12 Tf 50 750 Td ({text}) Tj ET");
    let objects = [
        "<< /Type /Catalog /Pages 2 0 R >>".to_string(),
        "<< /Type /Pages /Kids [3 0 R] /Count 1 >>".to_string(),
        "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R /Resources << /Font << /F1 5 0 R >> >> >>".to_string(),
        format!("<< /Length {} >>\nstream\n{stream}\nendstream", stream.len()),
        "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>".to_string(),
    ];
    let mut pdf = String::from("%PDF-1.4\n");
    let mut offsets = vec![];
    for (i, obj) in objects.iter().enumerate() {
        offsets.push(pdf.len());
        pdf.push_str(&format!("{} 0 obj\n{obj}\nendobj\n", i + 1));
    }
    let xref = pdf.len();
    pdf.push_str(&format!("xref\n0 {}\n0000000000 65535 f \n", objects.len() + 1));
    for off in offsets {
        pdf.push_str(&format!("{off:010} 00000 n \n"));
    }
    pdf.push_str(&format!(
        "trailer\n<< /Size {} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n",
        objects.len() + 1
    ));
    pdf.into_bytes()
}

const TITLES: &[(&str, &str)] = &[
    (
        "Degraded block storage performance",
        "Performances du stockage bloc dégradées",
    ),
    (
        "Network latency on public endpoints",
        "Latence réseau sur les points d'accès publics",
    ),
    ("Console unavailable", "Console indisponible"),
    (
        "Compute instances failing to start",
        "Échec de démarrage d'instances",
    ),
    ("Object storage errors", "Erreurs du stockage objet"),
    ("Backup jobs delayed", "Retard des sauvegardes"),
];

fn state_at(opened: DateTime<Utc>, duration: Duration, now: DateTime<Utc>) -> (IncidentState, DateTime<Utc>) {
    let ack = opened + duration / 4;
    let end = opened + duration;
    match () {
        _ if now < ack => (IncidentState::Open, opened),
        _ if now < end => (IncidentState::InProgress, ack),
        _ => (IncidentState::Resolved, end),
    }
}

/// Incidents of one contract's regions visible at `now`: open, or resolved within 24 hours.
pub fn incidents(
    world: &World,
    contract: &ContractRecord,
    now: DateTime<Utc>,
    lang: Language,
) -> Vec<Incident> {
    let slot = Duration::hours(world.config.incident_every_hours);
    let horizon = now - Duration::hours(24) - Duration::hours(5);
    let slot_secs = slot.num_seconds().max(1);
    let first = horizon.timestamp().div_euclid(slot_secs);
    let last = now.timestamp().div_euclid(slot_secs);
    let mut out = vec![];
    for region in &contract.regions {
        for k in first..=last {
            let h = hash(world.config.seed, &[region, "incident", &k.to_string()]);
            // Roughly one slot in two has an incident.
            if h % 2 == 1 {
                continue;
            }
            let opened = Utc
                .timestamp_opt(k * slot_secs + ((h >> 8) % slot_secs as u64) as i64, 0)
                .single();
            let Some(opened) = opened.filter(|o| *o <= now) else {
                continue;
            };
            let duration = Duration::minutes(30 + ((h >> 24) % 270) as i64);
            let severity = match (h >> 40) % 10 {
                0 => 1,
                1 | 2 => 2,
                3..=5 => 3,
                _ => 4,
            };
            let (en, fr) = TITLES[((h >> 48) % TITLES.len() as u64) as usize];
            push_visible(
                &mut out,
                now,
                Incident {
                    id: format!("INC-{}-{k}", region.to_uppercase()),
                    title: tr(lang, en, fr),
                    platform: contract.offer,
                    region: region.clone(),
                    severity,
                    state: IncidentState::Open,
                    opened_at: opened,
                    updated_at: opened,
                    resolved_at: None,
                },
                duration,
            );
        }
    }
    for m in world
        .manual_incidents
        .iter()
        .filter(|m| contract.regions.contains(&m.region) && m.opened_at <= now)
    {
        push_visible(
            &mut out,
            now,
            Incident {
                id: m.id.clone(),
                title: m.title.clone(),
                platform: m.platform,
                region: m.region.clone(),
                severity: m.severity,
                state: IncidentState::Open,
                opened_at: m.opened_at,
                updated_at: m.opened_at,
                resolved_at: None,
            },
            Duration::seconds(m.duration_seconds),
        );
    }
    out.sort_by(|a, b| {
        (a.state == IncidentState::Resolved, a.severity, b.opened_at).cmp(&(
            b.state == IncidentState::Resolved,
            b.severity,
            a.opened_at,
        ))
    });
    out
}

/// Sets the state of an incident at `now` and keeps it if open or recently resolved.
fn push_visible(out: &mut Vec<Incident>, now: DateTime<Utc>, mut incident: Incident, duration: Duration) {
    let (state, updated) = state_at(incident.opened_at, duration, now);
    incident.state = state;
    incident.updated_at = updated;
    if state == IncidentState::Resolved {
        incident.resolved_at = Some(updated);
        if updated < now - Duration::hours(24) {
            return;
        }
    }
    out.push(incident);
}

fn weather_of(severity: Option<u8>) -> Weather {
    match severity {
        None => Weather::Sunny,
        Some(1) => Weather::Stormy,
        Some(2) => Weather::Rainy,
        Some(_) => Weather::Cloudy,
    }
}

/// Weather per region from the open incidents; the contract's weather is the worst.
pub fn platform_status(
    world: &World,
    contract: &ContractRecord,
    now: DateTime<Utc>,
    lang: Language,
) -> PlatformStatus {
    let incidents = incidents(world, contract, now, lang);
    let open = |region: &str| {
        incidents
            .iter()
            .filter(|i| i.region == region && i.state != IncidentState::Resolved)
            .map(|i| i.severity)
            .min()
    };
    let regions: Vec<RegionStatus> = contract
        .regions
        .iter()
        .map(|r| RegionStatus {
            platform: contract.offer,
            region: r.clone(),
            weather: weather_of(open(r)),
        })
        .collect();
    let weather = regions.iter().map(|r| r.weather).max().unwrap_or(Weather::Sunny);
    let open_count = incidents
        .iter()
        .filter(|i| i.state != IncidentState::Resolved)
        .count();
    let summary = match open_count {
        0 => tr(
            lang,
            "All services operational",
            "Tous les services sont opérationnels",
        ),
        n => tr(
            lang,
            format!("{n} open incident(s)"),
            format!("{n} incident(s) en cours"),
        ),
    };
    PlatformStatus {
        contract_id: contract.id.clone(),
        weather,
        summary,
        regions,
        incidents,
        checked_at: now,
    }
}
