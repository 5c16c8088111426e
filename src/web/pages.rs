//! The HTML pages (maud: checked at compile time, every interpolation escaped). No JavaScript:
//! bars are CSS widths, the manifests sit in `<pre>` blocks ready to copy. The markup is kept
//! short (the overview of fifty contracts repeats it two hundred times): styling hangs on
//! classes, icons come from the stylesheet, and only computed widths are inline.

use super::i18n::Texts;
use super::model::{BudgetBar, ContractDetail, ContractRow, Overview};
use crate::api::budget_alert::{BudgetState, ThresholdBasis, ThresholdState};
use crate::api::cloud_contract::Weather;
use maud::{DOCTYPE, Markup, html};

/// The stylesheet (mobile first, light and dark).
pub const STYLE: &str = include_str!("style.css");

fn page(t: &Texts, title: &str, body: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang=(t.lang) {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                meta name="color-scheme" content="light dark";
                title { (title) }
                link rel="stylesheet" href="/style.css";
            }
            body {
                a.skip href="#main" { (t.contracts) }
                main #main { (body) }
            }
        }
    }
}

fn weather_label(t: &Texts, w: Weather) -> &'static str {
    match w {
        Weather::Sunny => t.sunny,
        Weather::Cloudy => t.cloudy,
        Weather::Rainy => t.rainy,
        Weather::Stormy => t.stormy,
        Weather::Unknown => t.unknown,
    }
}

/// The weather in words; its icon comes from the stylesheet (`.sunny::before`), hidden from
/// screen readers there.
fn weather(t: &Texts, w: Weather) -> Markup {
    let class = format!("weather {}", format!("{w:?}").to_lowercase());
    html! { span class=(class) { (weather_label(t, w)) } }
}

fn ready(t: &Texts, row: &ContractRow) -> Markup {
    let (class, label) = match row.ready {
        Some(true) => ("ok", t.ready),
        Some(false) => ("bad", t.not_ready),
        None => ("unknown", t.pending),
    };
    html! {
        p {
            span class=(format!("badge {class}")) { (label) }
            @if let Some(reason) = &row.ready_reason { " " (reason) }
        }
    }
}

fn synced(t: &Texts, row: &ContractRow) -> Markup {
    html! {
        p.fresh {
            @match &row.last_sync_time {
                Some(at) => { (t.synced) " " time { (at) } }
                None => { (t.not_read_yet) }
            }
        }
    }
}

/// A percentage with one decimal, without a trailing `.0` (`50`, `30.9`).
fn pct(v: f64) -> String {
    let text = format!("{:.1}", v.clamp(0.0, 999.0));
    match text.strip_suffix(".0") {
        Some(whole) => whole.to_string(),
        None => text,
    }
}

/// A budget bar: spend filled, forecast hatched, thresholds as ticks; the scale is 0..max(100%,
/// forecast, highest threshold).
/// `detailed`: with the list of thresholds and their state (the contract page); the overview keeps
/// the head line and the bar, so fifty contracts stay a light page.
fn budget(t: &Texts, b: &BudgetBar, detailed: bool) -> Markup {
    let scale = b
        .thresholds
        .iter()
        .map(|m| m.percent)
        .chain(b.forecast_percent)
        .chain(b.used_percent)
        .fold(100.0_f64, f64::max)
        .min(300.0);
    let at = |v: f64| format!("{}%", pct(v * 100.0 / scale));
    let state = match b.state {
        Some(BudgetState::Exceeded) => "exceeded",
        Some(BudgetState::Warning) => "warning",
        _ => "ok",
    };
    let used = b.used_percent.unwrap_or(0.0);
    html! {
        div data-budget=(b.name) {
            p {
                strong { (b.name) } " " (t.spent) " " (b.actual.as_deref().unwrap_or("?"))
                " " (t.of_budget) " " (b.amount) " " (b.currency) " (" (pct(used)) "%)"
                @if let Some(period) = &b.period { " · " (period) }
                @if !detailed { @if let Some(f) = &b.forecast { " · " (t.forecast) " " (f) } }
            }
            // The line above says it in words; the bar is for the eye. Its parts (see style.css):
            // f forecast, s spent, full the 100% line, t a threshold (x: crossed).
            div class=(format!("bar {state}")) aria-hidden="true" {
                @if let Some(f) = b.forecast_percent {
                    i.f style=(format!("width:{}", at(f))) {}
                }
                i.s style=(format!("width:{}", at(used))) {}
                @if scale > 100.0 { i.full style=(format!("left:{}", at(100.0))) {} }
                @for m in &b.thresholds {
                    @let crossed = matches!(m.state, Some(ThresholdState::Triggered | ThresholdState::Notified));
                    i class=(if crossed { "t x" } else { "t" }) style=(format!("left:{}", at(m.percent))) {}
                }
            }
            @if detailed { ul.thresholds {
                @for m in &b.thresholds {
                    li {
                        (t.threshold) " " (m.name) " " (pct(m.percent)) "% "
                        (if m.basis == ThresholdBasis::Forecasted { t.forecast } else { t.spent })
                        " · " (m.state.map(|s| t.state(&format!("{s:?}")).to_string()).unwrap_or_else(|| "-".into()))
                    }
                }
                @if let Some(f) = &b.forecast {
                    li.forecast-line { (t.forecast) " " span data-forecast { (f) } " " (b.currency)
                        @if let Some(p) = b.forecast_percent { " (" (pct(p)) "%)" } }
                }
                @if let Some(at) = &b.data_as_of { li.fresh { (t.spend_to_date) " " time { (at) } } }
            } }
        }
    }
}

fn contract_card(t: &Texts, row: &ContractRow) -> Markup {
    let href = format!("/contracts/{}/{}", row.namespace, row.name);
    html! {
        article.card data-contract=(format!("{}/{}", row.namespace, row.name)) {
            h2 { a href=(href) { (row.contract_name.as_deref().unwrap_or(&row.name)) } }
            p.ids { (row.namespace) "/" (row.name) " · " (row.contract_id) }
            p.summary {
                (weather(t, row.weather))
                " · " span data-incidents { (row.open_incidents) } " " (t.open_incidents)
                @if let Some(r) = &row.requests { " · " span data-requests { (r.open) } " " (t.open_requests) }
            }
            @if let Some(s) = &row.weather_summary { p { (s) } }
            (ready(t, row))
            @if row.budgets.is_empty() { p.muted { (t.no_budget) } }
            @for b in &row.budgets { (budget(t, b, false)) }
            (synced(t, row))
        }
    }
}

/// The overview page.
pub fn overview(t: &Texts, o: &Overview) -> Markup {
    page(
        t,
        t.title,
        html! {
            h1 { (t.title) }
            p.fresh { (t.live) " · " time { (o.generated_at) } }
            @if o.contracts.is_empty() { p { (t.no_contract) } }
            @for row in &o.contracts { (contract_card(t, row)) }
        },
    )
}

fn age(t: &Texts, secs: Option<u64>) -> Markup {
    html! {
        p.fresh {
            @match secs {
                Some(s) => { (t.read_ago) " " span data-age { (s) } " " (t.seconds) }
                None => { (t.not_read_yet) }
            }
        }
    }
}

/// The page of one contract.
pub fn contract(t: &Texts, d: &ContractDetail) -> Markup {
    let row = &d.row;
    let title = row.contract_name.clone().unwrap_or_else(|| row.name.clone());
    page(
        t,
        &title,
        html! {
            nav { a href="/" { "← " (t.back) } }
            h1 { (title) }
            p.ids { (row.namespace) "/" (row.name) " · " (row.contract_id) " · " (d.offer) }
            @if let Some(c) = &d.customer { p { (t.customer) ": " (c) } }
            p { (t.referent) ": " (d.referent.as_deref().unwrap_or(t.hidden)) }
            @if let Some(url) = &d.console_url {
                @if url.starts_with("https://") || url.starts_with("http://") {
                    p { a.button href=(url) rel="noopener noreferrer" { (t.console) } }
                }
            }
            (ready(t, row))
            @if let Some(m) = &row.ready_message { p.muted { (m) } }
            (synced(t, row))

            section aria-labelledby="weather" {
                h2 #weather { (t.weather) " · " (t.incidents) }
                p { (weather(t, row.weather)) @if let Some(s) = &row.weather_summary { " · " (s) } }
                (age(t, d.incidents_age_secs))
                @if !d.incidents.is_empty() {
                    ol.incidents {
                        @for i in &d.incidents {
                            li data-incident=(i.id) {
                                span class=(format!("sev sev{}", i.severity.clamp(1, 4))) { (t.severity) " " (i.severity) }
                                " " strong { (i.title) } " · " (t.state(&i.state))
                                br; small { (t.opened) " " (i.opened) " · " (t.updated) " " (i.updated) }
                            }
                        }
                    }
                }
            }

            section aria-labelledby="budgets" {
                h2 #budgets { (t.budgets) }
                @if let Some(c) = &row.consumption { p { (t.spend_to_date) ": " span data-consumption { (c.amount) } " " (c.currency) } }
                @if row.budgets.is_empty() { p.muted { (t.no_budget) } }
                @for b in &row.budgets { (budget(t, b, true)) }
            }

            section aria-labelledby="requests" {
                h2 #requests { (t.requests) }
                @if let Some(r) = &row.requests { p { span data-requests { (r.open) } " " (t.open_requests) } }
                @match &d.requests {
                    Some(r) => {
                        (age(t, Some(r.age_secs)))
                        div.scroll tabindex="0" role="region" aria-label=(t.requests) { table {
                            thead { tr { th scope="col" { "Id" } th scope="col" { (t.item) } th scope="col" { (t.quantity) } th scope="col" { (t.state) } th scope="col" { (t.source) } th scope="col" { (t.submitted) } } }
                            tbody { @for l in r.value.iter() {
                                tr data-request=(l.id) {
                                    td { (l.id) } td { (l.catalog_item) } td { (l.quantity) } td { (t.state(&l.state)) }
                                    td { @match &l.order { Some(o) => { (t.from_order) " " (o) } None => { (t.from_portal) } } }
                                    td { (l.submitted_at) }
                                }
                            } }
                        } }
                    }
                    None => { (age(t, None)) }
                }
                h3 { (t.orders) }
                p.fresh { (t.live) }
                ul { @for o in &d.orders {
                    li data-order=(o.name) { strong { (o.name) } " · " (o.catalog_item) " × " (o.quantity) " · "
                        (o.state.map(|s| t.state(&format!("{s:?}")).to_string()).unwrap_or_else(|| "-".into()))
                        @if let Some(id) = &o.request_id { " · " (id) } }
                } }
            }

            section aria-labelledby="users" {
                h2 #users { (t.users) }
                p.fresh { (t.live) }
                div.scroll tabindex="0" role="region" aria-label=(t.users) { table {
                    thead { tr { th scope="col" { (t.name) } th scope="col" { (t.email) } th scope="col" { (t.state) } th scope="col" { (t.profiles) } } }
                    tbody { @for u in &d.users {
                        tr data-user=(u.name) {
                            td { (u.name) }
                            td { (u.email.as_deref().unwrap_or(t.hidden)) }
                            td { (u.state.as_deref().map_or("-", |s| t.state(s))) }
                            td { @for (section, p) in &u.profiles { span.profile { (section) ": " (t.state(p)) } " " } }
                        }
                    } }
                } }
            }

            section aria-labelledby="invoices" {
                h2 #invoices { (t.invoices) }
                p { (t.invoice_contact) ": " (d.invoice_contact.as_deref().unwrap_or(t.hidden)) }
                ul { @for i in &d.invoices {
                    li data-invoice=(i.id) { (i.period) " · " (i.amount.amount) " " (i.amount.currency) " · " (t.state(&i.status)) }
                } }
            }

            section aria-labelledby="catalog" {
                h2 #catalog { (t.catalog) }
                @match &d.catalog {
                    Some(c) => {
                        (age(t, Some(c.age_secs)))
                        @for item in c.value.iter() {
                            details.item data-item=(item.code) {
                                summary { strong { (item.name) } " · " code { (item.code) } " · " span.price { (t.price) " " (t.price_text(item.price.as_ref())) } }
                                p { (t.max_quantity) ": " (item.max_quantity) }
                                h4 { (t.parameters) }
                                dl { @for p in &item.parameters {
                                    dt { code { (p.key) } " (" (if p.required { t.required } else { t.optional }) ")" }
                                    dd { (p.description) " · "
                                        @if p.allowed_values.is_empty() { (t.free_text) }
                                        @else { (t.allowed) ": " (p.allowed_values.join(", ")) } }
                                } }
                                h4 { (t.manifest) }
                                pre tabindex="0" aria-label=(format!("{} {}", t.manifest, item.code)) { code { (super::model::order_manifest(&row.namespace, &row.name, item)) } }
                            }
                        }
                    }
                    None => { (age(t, None)) }
                }
            }
        },
    )
}

/// A page with only a message (sign-in needed, not found).
pub fn message(t: &Texts, text: &str) -> Markup {
    page(
        t,
        t.title,
        html! { h1 { (t.title) } p { (text) } p { a href="/" { (t.back) } } },
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::web::model::{Overview, ThresholdMark};

    fn contract_row() -> ContractRow {
        let mark = |name: &str, percent, state| ThresholdMark {
            name: name.into(),
            percent,
            basis: ThresholdBasis::Actual,
            state: Some(state),
        };
        ContractRow {
            namespace: "team".into(),
            name: "acme".into(),
            contract_id: "CTR-1".into(),
            contract_name: Some("Acme".into()),
            weather: Weather::Stormy,
            weather_summary: Some("Storage degraded".into()),
            open_incidents: 2,
            ready: Some(true),
            ready_reason: Some("Synced".into()),
            ready_message: None,
            consumption: None,
            requests: None,
            budgets: vec![BudgetBar {
                name: "monthly".into(),
                amount: "1000".into(),
                currency: "EUR".into(),
                period: Some("2026-11".into()),
                actual: Some("600.00".into()),
                forecast: Some("1200.00".into()),
                used_percent: Some(60.0),
                forecast_percent: Some(120.0),
                state: Some(BudgetState::Warning),
                thresholds: vec![
                    mark("half", 50.0, ThresholdState::Notified),
                    mark("full", 100.0, ThresholdState::Armed),
                ],
                data_as_of: None,
            }],
            last_sync_time: Some("2026-11-30T18:00:00Z".into()),
        }
    }

    #[test]
    fn the_overview_is_compact_markup_with_classes_and_only_computed_widths_inline() {
        let t = crate::web::i18n::texts(crate::api::common::Locale::En);
        let html = overview(
            t,
            &Overview {
                generated_at: "2026-11-30T18:00:00Z".into(),
                contracts: vec![contract_row()],
            },
        )
        .into_string();
        assert!(
            !html.contains(">\n") && !html.contains("  "),
            "no whitespace between tags: {html}"
        );
        for style in html.split("style=\"").skip(1) {
            let value = style.split('"').next().unwrap_or_default();
            assert!(
                value.starts_with("width:") || value.starts_with("left:"),
                "inline styles are computed positions only: {value}"
            );
        }
        // The scale runs to the forecast (120%): thresholds sit at 50/120 and 100/120.
        assert!(html.contains("<i class=\"t x\" style=\"left:41.7%\">"), "{html}");
        assert!(html.contains("<i class=\"t\" style=\"left:83.3%\">"), "{html}");
        assert!(html.contains("<i class=\"s\" style=\"width:50%\">"), "{html}");
        // The weather in words; its icon is the stylesheet's.
        assert!(html.contains("<span class=\"weather stormy\">Stormy</span>"));
        assert!(STYLE.contains(".stormy::before"));
        assert!(html.contains("Spent 600.00 of 1000 EUR (60%)"));
    }
}
