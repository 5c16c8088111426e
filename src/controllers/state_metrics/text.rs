//! The Prometheus text exposition format, written straight from the caches: one family's samples
//! are built in one buffer, with no per-series state kept between scrapes.

use std::fmt::Write;

/// One gauge family being written.
pub struct Family {
    name: &'static str,
    help: &'static str,
    labels: &'static [&'static str],
    body: String,
}

impl Family {
    /// An empty gauge family with these label names.
    pub fn new(name: &'static str, help: &'static str, labels: &'static [&'static str]) -> Self {
        Self {
            name,
            help,
            labels,
            body: String::new(),
        }
    }

    /// Adds a sample; `values` follow the label names (missing ones are empty).
    pub fn sample(&mut self, values: &[&str], value: f64) {
        let body = &mut self.body;
        body.push_str(self.name);
        if !self.labels.is_empty() {
            body.push('{');
            for (i, label) in self.labels.iter().enumerate() {
                if i > 0 {
                    body.push(',');
                }
                body.push_str(label);
                body.push_str("=\"");
                escape_into(body, values.get(i).copied().unwrap_or_default());
                body.push('"');
            }
            body.push('}');
        }
        body.push(' ');
        write_value(body, value);
        body.push('\n');
    }

    /// Appends the family to `out`; a family without samples writes nothing.
    pub fn write_to(&self, out: &mut String) {
        if self.body.is_empty() {
            return;
        }
        let _ = writeln!(out, "# HELP {} {}", self.name, self.help);
        let _ = writeln!(out, "# TYPE {} gauge", self.name);
        out.push_str(&self.body);
    }
}

/// A label value as the format wants it: backslash, double quote and newline escaped.
fn escape_into(out: &mut String, value: &str) {
    for c in value.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
}

fn write_value(out: &mut String, value: f64) {
    if value.is_nan() {
        out.push_str("NaN");
    } else if value == f64::INFINITY {
        out.push_str("+Inf");
    } else if value == f64::NEG_INFINITY {
        out.push_str("-Inf");
    } else {
        let _ = write!(out, "{value}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn samples_escape_label_values_and_write_special_values() {
        let mut f = Family::new("ccs_x", "An x.", &["namespace", "name"]);
        f.sample(&["a\"b", "c\\d\ne"], 0.5);
        f.sample(&["n"], f64::INFINITY);
        f.sample(&["n", "m"], f64::NAN);
        f.sample(&["n", "m"], 3.0);
        let mut out = String::new();
        f.write_to(&mut out);
        assert_eq!(
            out,
            "# HELP ccs_x An x.\n# TYPE ccs_x gauge\n\
             ccs_x{namespace=\"a\\\"b\",name=\"c\\\\d\\ne\"} 0.5\n\
             ccs_x{namespace=\"n\",name=\"\"} +Inf\n\
             ccs_x{namespace=\"n\",name=\"m\"} NaN\n\
             ccs_x{namespace=\"n\",name=\"m\"} 3\n"
        );
    }

    #[test]
    fn a_family_without_samples_writes_nothing() {
        let mut out = String::new();
        Family::new("ccs_x", "An x.", &[]).write_to(&mut out);
        assert!(out.is_empty());
        let mut f = Family::new("ccs_y", "A y.", &[]);
        f.sample(&[], -1.0);
        f.write_to(&mut out);
        assert!(out.ends_with("ccs_y -1\n"), "{out}");
    }
}
