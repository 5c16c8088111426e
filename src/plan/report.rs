//! The plan as data: what `-o json` prints (schema: `config/plan-output.schema.json`), and what
//! the text and markdown renderings are made of.

use serde::Serialize;

/// Version of the JSON document; bumped on any incompatible change to its shape.
pub const FORMAT_VERSION: u32 = 1;

/// What a change does, from the mildest to the most severe. The marker is what text output prints.
#[derive(Serialize, Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[serde(rename_all = "camelCase")]
pub enum Action {
    /// `[=]` nothing to do.
    Unchanged,
    /// `[?]` cannot tell: the object (or what it depends on) was never observed.
    Unknown,
    /// `[+]` something is created.
    Create,
    /// `[~]` something is updated in place.
    Update,
    /// `[-]` access is removed, or something is deleted.
    Remove,
    /// `[!]` irreversible or billed: a submitted order, a referent change, an email sent.
    Irreversible,
    /// `[x]` refused: the API server or the operator would not do it.
    Refused,
}

impl Action {
    /// The marker printed before the line, such as `[+]`.
    pub fn marker(self) -> &'static str {
        match self {
            Self::Unchanged => "[=]",
            Self::Unknown => "[?]",
            Self::Create => "[+]",
            Self::Update => "[~]",
            Self::Remove => "[-]",
            Self::Irreversible => "[!]",
            Self::Refused => "[x]",
        }
    }

    /// Every action, in severity order.
    pub const ALL: [Action; 7] = [
        Self::Unchanged,
        Self::Unknown,
        Self::Create,
        Self::Update,
        Self::Remove,
        Self::Irreversible,
        Self::Refused,
    ];
}

/// One line of an object's plan.
#[derive(Serialize, Clone, Debug, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct Change {
    /// What it does.
    pub action: Action,
    /// Its marker (`[+]`...), redundant with `action`, for readers of the JSON.
    pub marker: &'static str,
    /// Whether the operator would call the portal (a write) or send an email for it; `false` for
    /// object changes that only the cluster sees, refusals and notes.
    pub portal: bool,
    /// One sentence.
    pub message: String,
    /// The field, such as `spec.amount` or `invoices`, when the change is about one field.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    /// The value before, when the change is about one field (`null`: unset).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub from: Option<String>,
    /// The value after, when the change is about one field (`null`: unset).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub to: Option<String>,
    /// The portal call or email, for machines: `addUser`, `setAccess`, `sendInvitation`,
    /// `removeAccess`, `deleteAccount`, `changeReferent`, `submitOrder`, `email`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub operation: Option<&'static str>,
    /// The Customer Space contract id the call is about.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub contract_id: Option<String>,
}

impl Change {
    /// A change described by one sentence.
    pub fn new(action: Action, portal: bool, message: impl Into<String>) -> Self {
        Self {
            action,
            marker: action.marker(),
            portal,
            message: message.into(),
            field: None,
            from: None,
            to: None,
            operation: None,
            contract_id: None,
        }
    }

    /// The same, as the portal call or email `operation` on `contract_id`.
    pub fn call(mut self, operation: &'static str, contract_id: &str) -> Self {
        self.operation = Some(operation);
        self.contract_id = Some(contract_id.to_string());
        self
    }

    /// A change of one field, `field: from -> to`, with `context` before it (may be empty).
    pub fn field(
        action: Action,
        portal: bool,
        context: &str,
        field: &str,
        from: Option<String>,
        to: Option<String>,
    ) -> Self {
        let show = |v: &Option<String>| v.clone().unwrap_or_else(|| "(unset)".into());
        let message = format!("{context}{field}: {} -> {}", show(&from), show(&to));
        Self {
            field: Some(field.to_string()),
            from,
            to,
            ..Self::new(action, portal, message)
        }
    }
}

/// The plan of one manifest.
#[derive(Serialize, Clone, Debug, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct ObjectPlan {
    /// Kind, such as `PortalUser`.
    pub kind: String,
    /// Namespace.
    pub namespace: String,
    /// Name.
    pub name: String,
    /// Where the manifest was read: `file.yaml#2` (the document, from 1), `-#1` for stdin.
    pub source: String,
    /// The most severe action of the changes (`unchanged` when there is none).
    pub action: Action,
    /// Its marker.
    pub marker: &'static str,
    /// The changes, in the order the operator would make them.
    pub changes: Vec<Change>,
}

impl ObjectPlan {
    /// Sets `action` from the changes.
    pub fn finish(mut self) -> Self {
        self.action = self
            .changes
            .iter()
            .map(|c| c.action)
            .max()
            .unwrap_or(Action::Unchanged);
        self.marker = self.action.marker();
        self
    }
}

/// How many objects have each action.
#[derive(Serialize, Clone, Debug, Default, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct Summary {
    /// `[+]` objects.
    pub create: usize,
    /// `[~]` objects.
    pub update: usize,
    /// `[-]` objects.
    pub remove: usize,
    /// `[!]` objects.
    pub irreversible: usize,
    /// `[x]` objects.
    pub refused: usize,
    /// `[=]` objects.
    pub unchanged: usize,
    /// `[?]` objects.
    pub unknown: usize,
}

/// The whole plan.
#[derive(Serialize, Clone, Debug, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct Plan {
    /// [`FORMAT_VERSION`].
    pub format_version: u32,
    /// `cluster` (current state read from the cluster), `refresh` (also read from the portal) or
    /// `offline` (against empty status).
    pub mode: &'static str,
    /// Objects per action.
    pub summary: Summary,
    /// Whether anything would change (any action but `unchanged`).
    pub changes: bool,
    /// Whether anything is refused.
    pub refused: bool,
    /// One entry per manifest, in the order read.
    pub objects: Vec<ObjectPlan>,
}

impl Plan {
    /// Assembles the plan and its summary.
    pub fn new(mode: &'static str, objects: Vec<ObjectPlan>) -> Self {
        let mut summary = Summary::default();
        for o in &objects {
            let slot = match o.action {
                Action::Create => &mut summary.create,
                Action::Update => &mut summary.update,
                Action::Remove => &mut summary.remove,
                Action::Irreversible => &mut summary.irreversible,
                Action::Refused => &mut summary.refused,
                Action::Unchanged => &mut summary.unchanged,
                Action::Unknown => &mut summary.unknown,
            };
            *slot += 1;
        }
        Self {
            format_version: FORMAT_VERSION,
            mode,
            changes: objects.iter().any(|o| o.action != Action::Unchanged),
            refused: summary.refused > 0,
            summary,
            objects,
        }
    }
}
