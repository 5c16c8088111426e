//! The fixed catalog: about twenty orderable items across both offers.

use ccs_portal_model::{CatalogItem, CatalogParameter, CatalogPrice, Language, Offer, PricePeriod};

/// (key, required, allowed values, English description, French description)
type Param = (
    &'static str,
    bool,
    &'static [&'static str],
    &'static str,
    &'static str,
);

const FLAVORS: &[&str] = &["s3.medium.2", "s3.large.2", "s3.xlarge.4", "c6.2xlarge.4"];
const FE_REGIONS: &[&str] = &["eu-west-0", "eu-west-1", "eu-west-2"];
const FCA_SITES: &[&str] = &["fr-paris-1", "fr-lyon-1"];
const DISK: &[&str] = &["SATA", "SAS", "SSD"];
const TIERS: &[&str] = &["bronze", "silver", "gold"];

const REGION: Param = ("region", true, FE_REGIONS, "Region", "Région");
const SITE: Param = ("site", true, FCA_SITES, "Site", "Site");
const NAME: Param = ("name", true, &[], "Resource name", "Nom de la ressource");
const SIZE: Param = ("sizeGb", true, &[], "Size in GB", "Taille en Go");

/// (code, offer, max quantity, English name, French name, parameters)
type Item = (
    &'static str,
    Offer,
    u32,
    &'static str,
    &'static str,
    &'static [Param],
);

const ITEMS: &[Item] = &[
    (
        "FE-ECS",
        Offer::FE,
        50,
        "Elastic Cloud Server",
        "Serveur Elastic Cloud",
        &[REGION, NAME, ("flavor", true, FLAVORS, "Flavor", "Gabarit")],
    ),
    (
        "FE-EVS",
        Offer::FE,
        100,
        "Elastic Volume",
        "Volume élastique",
        &[REGION, SIZE, ("type", false, DISK, "Disk type", "Type de disque")],
    ),
    (
        "FE-OBS",
        Offer::FE,
        20,
        "Object Storage bucket",
        "Compartiment de stockage objet",
        &[REGION, NAME],
    ),
    (
        "FE-VPC",
        Offer::FE,
        10,
        "Virtual Private Cloud",
        "Réseau privé virtuel",
        &[REGION, NAME, ("cidr", true, &[], "CIDR block", "Bloc CIDR")],
    ),
    ("FE-EIP", Offer::FE, 20, "Elastic IP", "IP élastique", &[REGION]),
    (
        "FE-ELB",
        Offer::FE,
        10,
        "Elastic Load Balancer",
        "Répartiteur de charge",
        &[REGION, NAME],
    ),
    (
        "FE-RDS",
        Offer::FE,
        5,
        "Relational Database",
        "Base de données relationnelle",
        &[
            REGION,
            NAME,
            ("engine", true, &["postgresql", "mysql"], "Engine", "Moteur"),
        ],
    ),
    (
        "FE-CCE",
        Offer::FE,
        5,
        "Kubernetes cluster (CCE)",
        "Cluster Kubernetes (CCE)",
        &[
            REGION,
            NAME,
            ("nodes", true, &[], "Node count", "Nombre de nœuds"),
        ],
    ),
    (
        "FE-DCS",
        Offer::FE,
        5,
        "Distributed cache",
        "Cache distribué",
        &[REGION, NAME],
    ),
    (
        "FE-CBR",
        Offer::FE,
        20,
        "Cloud backup vault",
        "Coffre de sauvegarde",
        &[REGION, SIZE],
    ),
    (
        "FE-SUPPORT",
        Offer::FE,
        1,
        "Premium support",
        "Support premium",
        &[("tier", true, TIERS, "Support tier", "Niveau de support")],
    ),
    (
        "FCA-VM",
        Offer::FCA,
        50,
        "Virtual machine",
        "Machine virtuelle",
        &[
            SITE,
            NAME,
            ("vcpu", true, &["1", "2", "4", "8", "16"], "vCPU", "vCPU"),
        ],
    ),
    (
        "FCA-VDC",
        Offer::FCA,
        5,
        "Virtual datacenter",
        "Datacenter virtuel",
        &[SITE, NAME],
    ),
    (
        "FCA-STORAGE",
        Offer::FCA,
        100,
        "Storage extension",
        "Extension de stockage",
        &[SITE, SIZE, ("type", false, DISK, "Disk type", "Type de disque")],
    ),
    (
        "FCA-BACKUP",
        Offer::FCA,
        20,
        "Backup policy",
        "Politique de sauvegarde",
        &[
            SITE,
            (
                "retentionDays",
                true,
                &["7", "14", "30", "90"],
                "Retention",
                "Rétention",
            ),
        ],
    ),
    (
        "FCA-FIREWALL",
        Offer::FCA,
        5,
        "Edge firewall",
        "Pare-feu edge",
        &[SITE, NAME],
    ),
    (
        "FCA-VPN",
        Offer::FCA,
        5,
        "IPsec VPN",
        "VPN IPsec",
        &[SITE, ("peer", true, &[], "Peer address", "Adresse du pair")],
    ),
    (
        "FCA-PUBLIC-IP",
        Offer::FCA,
        20,
        "Public IP",
        "IP publique",
        &[SITE],
    ),
    (
        "FCA-DR",
        Offer::FCA,
        2,
        "Disaster recovery",
        "Reprise après sinistre",
        &[SITE, ("rpoMinutes", true, &["15", "60", "240"], "RPO", "RPO")],
    ),
    (
        "FCA-SUPPORT",
        Offer::FCA,
        1,
        "Premium support",
        "Support premium",
        &[("tier", true, TIERS, "Support tier", "Niveau de support")],
    ),
];

/// List prices in euros, per unit ordered: (code, amount, period). Items not listed (disaster
/// recovery) are priced on quote.
const PRICES: &[(&str, &str, PricePeriod)] = &[
    ("FE-ECS", "48.20", PricePeriod::Monthly),
    ("FE-EVS", "4.50", PricePeriod::Monthly),
    ("FE-OBS", "2.30", PricePeriod::Monthly),
    ("FE-VPC", "12.00", PricePeriod::Monthly),
    ("FE-EIP", "3.60", PricePeriod::Monthly),
    ("FE-ELB", "21.90", PricePeriod::Monthly),
    ("FE-RDS", "142.00", PricePeriod::Monthly),
    ("FE-CCE", "95.00", PricePeriod::Monthly),
    ("FE-DCS", "38.40", PricePeriod::Monthly),
    ("FE-CBR", "6.80", PricePeriod::Monthly),
    ("FE-SUPPORT", "490.00", PricePeriod::Monthly),
    ("FCA-VM", "62.00", PricePeriod::Monthly),
    ("FCA-VDC", "420.00", PricePeriod::Monthly),
    ("FCA-STORAGE", "9.50", PricePeriod::Monthly),
    ("FCA-BACKUP", "14.00", PricePeriod::Monthly),
    ("FCA-FIREWALL", "85.00", PricePeriod::Monthly),
    ("FCA-VPN", "1150.00", PricePeriod::OneOff),
    ("FCA-PUBLIC-IP", "4.00", PricePeriod::Monthly),
    ("FCA-SUPPORT", "650.00", PricePeriod::Monthly),
];

/// The list price of an item, if it has one.
fn price(code: &str) -> Option<CatalogPrice> {
    PRICES
        .iter()
        .find(|(c, _, _)| *c == code)
        .map(|&(_, amount, period)| CatalogPrice {
            amount: amount.into(),
            currency: "EUR".into(),
            period,
        })
}

/// Regions of an offer.
pub fn regions(offer: Offer) -> &'static [&'static str] {
    match offer {
        Offer::FE => FE_REGIONS,
        Offer::FCA => FCA_SITES,
    }
}

/// The catalog items of an offer, localized.
pub fn items(offer: Offer, lang: Language) -> Vec<CatalogItem> {
    ITEMS
        .iter()
        .filter(|item| item.1 == offer)
        .map(|item| build(item, lang))
        .collect()
}

/// One item by code, if the offer has it.
pub fn item(offer: Offer, code: &str, lang: Language) -> Option<CatalogItem> {
    ITEMS
        .iter()
        .find(|item| item.1 == offer && item.0 == code)
        .map(|item| build(item, lang))
}

fn build(&(code, offer, max_quantity, en, fr, params): &Item, lang: Language) -> CatalogItem {
    let pick = |en: &str, fr: &str| match lang {
        Language::En => en.to_string(),
        Language::Fr => fr.to_string(),
    };
    CatalogItem {
        code: code.into(),
        name: pick(en, fr),
        offer,
        max_quantity,
        price: price(code),
        parameters: params
            .iter()
            .map(|&(key, required, allowed, en, fr)| CatalogParameter {
                key: key.into(),
                description: pick(en, fr),
                required,
                allowed_values: allowed.iter().map(|v| v.to_string()).collect(),
            })
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn about_twenty_items() {
        assert_eq!(super::ITEMS.len(), 20);
    }

    #[test]
    fn every_price_names_an_item_and_reads_as_a_decimal_with_cents() {
        for (code, amount, _) in super::PRICES {
            assert!(super::ITEMS.iter().any(|i| i.0 == *code), "{code}");
            let (units, cents) = amount.split_once('.').expect(amount);
            assert!(units.parse::<u32>().is_ok() && cents.len() == 2, "{amount}");
        }
        assert!(super::price("FCA-DR").is_none(), "one item on quote");
    }
}
