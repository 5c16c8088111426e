//! Text (optionally coloured) and markdown renderings of a [`Plan`].

use super::report::{Action, Plan};
use std::fmt::Write as _;

fn colour(action: Action) -> &'static str {
    match action {
        Action::Create => "\x1b[32m",
        Action::Update => "\x1b[33m",
        Action::Remove | Action::Refused => "\x1b[31m",
        Action::Irreversible => "\x1b[35m",
        Action::Unknown => "\x1b[36m",
        Action::Unchanged => "\x1b[2m",
    }
}

fn summary_line(plan: &Plan) -> String {
    let s = &plan.summary;
    format!(
        "{} to create, {} to update, {} removing access, {} irreversible or billed, {} refused, {} unchanged, {} unknown",
        s.create, s.update, s.remove, s.irreversible, s.refused, s.unchanged, s.unknown
    )
}

/// Plain text, one block per object; ANSI colours when `color`.
pub fn text(plan: &Plan, color: bool) -> String {
    let paint = |action: Action, s: &str| {
        if color {
            format!("{}{s}\x1b[0m", colour(action))
        } else {
            s.to_string()
        }
    };
    let mut out = String::new();
    for o in &plan.objects {
        let _ = writeln!(
            out,
            "{} {} {}/{}  ({})",
            paint(o.action, o.marker),
            o.kind,
            o.namespace,
            o.name,
            o.source
        );
        for c in &o.changes {
            let _ = writeln!(out, "    {} {}", paint(c.action, c.marker), c.message);
        }
    }
    if plan.objects.is_empty() {
        out.push_str("no objects\n");
    }
    let _ = writeln!(out, "\nPlan ({}): {}.", plan.mode, summary_line(plan));
    out
}

/// Escapes what markdown would otherwise interpret in a line of text.
fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for ch in s.chars() {
        if matches!(
            ch,
            '\\' | '`' | '*' | '_' | '[' | ']' | '<' | '>' | '|' | '#' | '~'
        ) {
            out.push('\\');
        }
        out.push(ch);
    }
    out
}

/// Markdown for a pull-request comment: a summary, then the objects that change (unchanged ones
/// folded in a details block).
pub fn markdown(plan: &Plan) -> String {
    let mut out = String::from("### `ccs-operator plan`\n\n");
    let _ = writeln!(out, "**{}** ({} mode)\n", summary_line(plan), plan.mode);
    let object = |out: &mut String, o: &super::report::ObjectPlan| {
        let _ = writeln!(
            out,
            "- `{}` **{}** `{}/{}` <sub>{}</sub>",
            o.marker,
            o.kind,
            o.namespace,
            o.name,
            escape(&o.source)
        );
        for c in &o.changes {
            let _ = writeln!(out, "  - `{}` {}", c.marker, escape(&c.message));
        }
    };
    let (same, changed): (Vec<_>, Vec<_>) = plan.objects.iter().partition(|o| o.action == Action::Unchanged);
    for o in &changed {
        object(&mut out, o);
    }
    if !same.is_empty() {
        let _ = writeln!(out, "\n<details><summary>{} unchanged</summary>\n", same.len());
        for o in &same {
            object(&mut out, o);
        }
        out.push_str("\n</details>\n");
    }
    out
}
