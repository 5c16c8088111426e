//! Incidents and the weather they make, computed from the seed and the clock (plus incidents
//! opened through the admin API).

use super::errors::tr;
use super::rng::hash;
use super::world::{ContractRecord, World};
use ccs_portal_model::{Incident, IncidentState, Language, PlatformStatus, RegionStatus, Weather};
use chrono::{DateTime, Duration, TimeZone, Utc};

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
        if let Some(state) = m.forced_state {
            out.push(Incident {
                id: m.id.clone(),
                title: m.title.clone(),
                platform: m.platform,
                region: m.region.clone(),
                severity: m.severity,
                state,
                opened_at: m.opened_at,
                updated_at: m.opened_at,
                resolved_at: (state == IncidentState::Resolved).then_some(m.opened_at),
            });
            continue;
        }
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
