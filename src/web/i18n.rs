//! The page's words in English and French, chosen from `Accept-Language` (as the emails offer
//! both languages).

use crate::api::common::Locale;

/// The locale a browser prefers among ours: the highest-weighted `en` or `fr` tag; English
/// when neither is asked for.
pub fn locale(accept_language: Option<&str>) -> Locale {
    let mut best: Option<(f32, Locale)> = None;
    for part in accept_language.unwrap_or_default().split(',') {
        let mut fields = part.split(';');
        let tag = fields.next().unwrap_or_default().trim().to_ascii_lowercase();
        let q = fields
            .find_map(|f| f.trim().strip_prefix("q=").and_then(|q| q.parse::<f32>().ok()))
            .unwrap_or(1.0);
        let locale = match tag.split('-').next().unwrap_or_default() {
            "fr" => Locale::Fr,
            "en" => Locale::En,
            _ => continue,
        };
        if q > 0.0 && best.is_none_or(|(b, _)| q > b) {
            best = Some((q, locale));
        }
    }
    best.map_or(Locale::En, |(_, l)| l)
}

/// Every text of the pages; each field is the text its name says.
#[allow(missing_docs)]
pub struct Texts {
    pub lang: &'static str,
    pub title: &'static str,
    pub contracts: &'static str,
    pub no_contract: &'static str,
    pub weather: &'static str,
    pub incidents: &'static str,
    pub open_incidents: &'static str,
    pub ready: &'static str,
    pub not_ready: &'static str,
    pub pending: &'static str,
    pub budgets: &'static str,
    pub no_budget: &'static str,
    pub spent: &'static str,
    pub forecast: &'static str,
    pub of_budget: &'static str,
    pub threshold: &'static str,
    pub requests: &'static str,
    pub open_requests: &'static str,
    pub users: &'static str,
    pub profiles: &'static str,
    pub orders: &'static str,
    pub invoices: &'static str,
    pub invoice_contact: &'static str,
    pub console: &'static str,
    pub catalog: &'static str,
    pub parameters: &'static str,
    pub allowed: &'static str,
    pub free_text: &'static str,
    pub required: &'static str,
    pub optional: &'static str,
    pub max_quantity: &'static str,
    pub price: &'static str,
    pub price_unknown: &'static str,
    pub per_month: &'static str,
    pub one_off: &'static str,
    pub manifest: &'static str,
    pub from_portal: &'static str,
    pub from_order: &'static str,
    pub live: &'static str,
    pub synced: &'static str,
    pub read_ago: &'static str,
    pub not_read_yet: &'static str,
    pub seconds: &'static str,
    pub hidden: &'static str,
    pub back: &'static str,
    pub customer: &'static str,
    pub referent: &'static str,
    pub severity: &'static str,
    pub state: &'static str,
    pub opened: &'static str,
    pub updated: &'static str,
    pub name: &'static str,
    pub email: &'static str,
    pub item: &'static str,
    pub quantity: &'static str,
    pub submitted: &'static str,
    pub source: &'static str,
    pub period: &'static str,
    pub amount: &'static str,
    pub status: &'static str,
    pub spend_to_date: &'static str,
    pub sign_in: &'static str,
    pub not_found: &'static str,
    pub sunny: &'static str,
    pub cloudy: &'static str,
    pub rainy: &'static str,
    pub stormy: &'static str,
    pub unknown: &'static str,
}

const EN: Texts = Texts {
    lang: "en",
    title: "Cloud contracts",
    contracts: "Contracts",
    no_contract: "No contract to show.",
    weather: "Weather",
    incidents: "Incidents",
    open_incidents: "open incidents",
    ready: "Ready",
    not_ready: "Not ready",
    pending: "Not reconciled yet",
    budgets: "Budgets",
    no_budget: "No budget.",
    spent: "Spent",
    forecast: "Forecast",
    of_budget: "of",
    threshold: "Threshold",
    requests: "Requests",
    open_requests: "open requests",
    users: "Portal users",
    profiles: "Profiles",
    orders: "Service orders",
    invoices: "Latest invoices",
    invoice_contact: "Invoice contact",
    console: "Open the console",
    catalog: "Catalog",
    parameters: "Parameters",
    allowed: "allowed",
    free_text: "free text",
    required: "required",
    optional: "optional",
    max_quantity: "Largest quantity",
    price: "Price",
    price_unknown: "on quote",
    per_month: "per month",
    one_off: "one-off",
    manifest: "ServiceOrder manifest",
    from_portal: "made in the portal",
    from_order: "ServiceOrder",
    live: "live from the cluster",
    synced: "synced with the portal",
    read_ago: "read from the portal",
    not_read_yet: "not read from the portal yet",
    seconds: "s ago",
    hidden: "hidden (you may not list PortalUsers here)",
    back: "All contracts",
    customer: "Customer",
    referent: "Referent",
    severity: "Severity",
    state: "State",
    opened: "Opened",
    updated: "Updated",
    name: "Name",
    email: "Email",
    item: "Item",
    quantity: "Quantity",
    submitted: "Submitted",
    source: "Source",
    period: "Period",
    amount: "Amount",
    status: "Status",
    spend_to_date: "Spend to date",
    sign_in: "Sign in through the proxy: no user was named.",
    not_found: "No such contract, or you may not see it.",
    sunny: "Sunny",
    cloudy: "Cloudy",
    rainy: "Rainy",
    stormy: "Stormy",
    unknown: "Unknown",
};

const FR: Texts = Texts {
    lang: "fr",
    title: "Contrats cloud",
    contracts: "Contrats",
    no_contract: "Aucun contrat à afficher.",
    weather: "Météo",
    incidents: "Incidents",
    open_incidents: "incidents ouverts",
    ready: "Prêt",
    not_ready: "Pas prêt",
    pending: "Pas encore réconcilié",
    budgets: "Budgets",
    no_budget: "Aucun budget.",
    spent: "Dépensé",
    forecast: "Prévision",
    of_budget: "sur",
    threshold: "Seuil",
    requests: "Demandes",
    open_requests: "demandes en cours",
    users: "Utilisateurs du portail",
    profiles: "Profils",
    orders: "Commandes de service",
    invoices: "Dernières factures",
    invoice_contact: "Contact facturation",
    console: "Ouvrir la console",
    catalog: "Catalogue",
    parameters: "Paramètres",
    allowed: "valeurs",
    free_text: "texte libre",
    required: "obligatoire",
    optional: "facultatif",
    max_quantity: "Quantité maximale",
    price: "Prix",
    price_unknown: "sur devis",
    per_month: "par mois",
    one_off: "paiement unique",
    manifest: "Manifeste ServiceOrder",
    from_portal: "faite dans le portail",
    from_order: "ServiceOrder",
    live: "en direct du cluster",
    synced: "synchronisé avec le portail",
    read_ago: "lu dans le portail",
    not_read_yet: "pas encore lu dans le portail",
    seconds: "s",
    hidden: "masqué (vous ne pouvez pas lister les PortalUsers ici)",
    back: "Tous les contrats",
    customer: "Client",
    referent: "Référent",
    severity: "Gravité",
    state: "État",
    opened: "Ouvert",
    updated: "Mis à jour",
    name: "Nom",
    email: "E-mail",
    item: "Article",
    quantity: "Quantité",
    submitted: "Soumise",
    source: "Origine",
    period: "Période",
    amount: "Montant",
    status: "Statut",
    spend_to_date: "Dépense à date",
    sign_in: "Connectez-vous via le proxy : aucun utilisateur n'est indiqué.",
    not_found: "Contrat inconnu, ou vous ne pouvez pas le voir.",
    sunny: "Ensoleillé",
    cloudy: "Nuageux",
    rainy: "Pluvieux",
    stormy: "Orageux",
    unknown: "Inconnue",
};

/// States and profiles as the portal and the CRDs name them, in words: (name, English, French).
const STATES: &[(&str, &str, &str)] = &[
    ("Open", "Open", "Ouvert"),
    ("InProgress", "In progress", "En cours"),
    ("Resolved", "Resolved", "Résolu"),
    ("Transmitted", "Transmitted", "Transmise"),
    ("Completed", "Completed", "Terminée"),
    ("Rejected", "Rejected", "Refusée"),
    ("Cancelled", "Cancelled", "Annulée"),
    ("Pending", "Pending", "En attente"),
    ("Submitted", "Submitted", "Soumise"),
    ("Armed", "Armed", "Armé"),
    ("Triggered", "Triggered", "Déclenché"),
    ("Notified", "Notified", "Notifié"),
    ("Invited", "Invited", "Invité"),
    ("Active", "Active", "Actif"),
    ("Disabled", "Disabled", "Désactivé"),
    ("Failed", "Failed", "En échec"),
    ("Visitor", "Visitor", "Visiteur"),
    ("Manager", "Manager", "Gestionnaire"),
    ("Issued", "Issued", "Émise"),
    ("Paid", "Paid", "Payée"),
    ("Overdue", "Overdue", "En retard"),
];

impl Texts {
    /// A state or profile name in this language; unknown names as they are.
    pub fn state<'a>(&self, name: &'a str) -> &'a str {
        match STATES.iter().find(|(n, _, _)| *n == name) {
            Some((_, en, fr)) => match self.lang {
                "fr" => fr,
                _ => en,
            },
            None => name,
        }
    }
}

impl Texts {
    /// A decimal amount (`"1150.00"`, as the portal writes it) in this language's number format:
    /// `1,150.00` in English, `1 150,00` in French (a narrow no-break space groups thousands).
    /// Anything that is not a plain decimal is shown as it is.
    pub fn number(&self, amount: &str) -> String {
        let (sign, digits) = amount.strip_prefix('-').map_or(("", amount), |d| ("-", d));
        let (units, cents) = digits.split_once('.').unwrap_or((digits, ""));
        let plain = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
        if units.is_empty() || !plain(units) || !plain(cents) {
            return amount.to_string();
        }
        let (group, point) = match self.lang {
            "fr" => ('\u{202f}', ','),
            _ => (',', '.'),
        };
        let mut out = String::from(sign);
        for (i, digit) in units.chars().enumerate() {
            if i > 0 && (units.len() - i) % 3 == 0 {
                out.push(group);
            }
            out.push(digit);
        }
        if !cents.is_empty() {
            out.push(point);
            out.push_str(cents);
        }
        out
    }

    /// A catalog price in words: `48.20 EUR per month`, `1 150,00 EUR paiement unique`, or "on
    /// quote" without one.
    pub fn price_text(&self, price: Option<&crate::portal::CatalogPrice>) -> String {
        let Some(p) = price else {
            return self.price_unknown.to_string();
        };
        let period = match p.period {
            crate::portal::PricePeriod::Monthly => self.per_month,
            crate::portal::PricePeriod::OneOff => self.one_off,
            crate::portal::PricePeriod::Unknown => "",
        };
        format!("{} {} {period}", self.number(&p.amount), p.currency)
            .trim_end()
            .to_string()
    }
}

/// The texts of a locale.
pub fn texts(locale: Locale) -> &'static Texts {
    match locale {
        Locale::En => &EN,
        Locale::Fr => &FR,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accept_language_picks_the_best_weighted_of_ours() {
        assert_eq!(locale(Some("fr-FR,fr;q=0.9,en;q=0.8")), Locale::Fr);
        assert_eq!(locale(Some("de,en;q=0.5,fr;q=0.4")), Locale::En);
        assert_eq!(locale(Some("en;q=0.2, fr-CA;q=0.7")), Locale::Fr);
        assert_eq!(locale(Some("de")), Locale::En);
        assert_eq!(locale(None), Locale::En);
        assert_eq!(locale(Some("fr;q=0")), Locale::En);
    }

    #[test]
    fn states_read_as_words_in_each_language() {
        assert_eq!(texts(Locale::En).state("InProgress"), "In progress");
        assert_eq!(texts(Locale::Fr).state("InProgress"), "En cours");
        assert_eq!(texts(Locale::Fr).state("Manager"), "Gestionnaire");
        assert_eq!(texts(Locale::Fr).state("Brand-new"), "Brand-new");
    }

    #[test]
    fn amounts_read_in_each_languages_number_format() {
        let (en, fr) = (texts(Locale::En), texts(Locale::Fr));
        assert_eq!(en.number("1150.00"), "1,150.00");
        assert_eq!(fr.number("1150.00"), "1\u{202f}150,00");
        assert_eq!(en.number("1234567.5"), "1,234,567.5");
        assert_eq!(en.number("-999.99"), "-999.99");
        assert_eq!(fr.number("48"), "48");
        assert_eq!(en.number("12e3"), "12e3", "not a plain decimal: as it is");
        let price = |amount: &str, period| crate::portal::CatalogPrice {
            amount: amount.into(),
            currency: "EUR".into(),
            period,
        };
        use crate::portal::PricePeriod::*;
        assert_eq!(
            en.price_text(Some(&price("48.20", Monthly))),
            "48.20 EUR per month"
        );
        assert_eq!(
            fr.price_text(Some(&price("1150.00", OneOff))),
            "1\u{202f}150,00 EUR paiement unique"
        );
        assert_eq!(en.price_text(Some(&price("5.00", Unknown))), "5.00 EUR");
        assert_eq!(fr.price_text(None), "sur devis");
    }
}
