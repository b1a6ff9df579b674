//! What inference produces before it is text: sections of choices, each with the operation it
//! came from, and the pieces that could not be inferred with their candidates. [`Inferred::toml`]
//! writes the API description file (the format of [`crate::api::Description`]), comments included.

use std::fmt::Write;

/// One line of a section.
#[derive(Debug, Clone, PartialEq)]
pub enum Line {
    /// `key = value  # note` (the note names the operation the choice came from).
    Set {
        key: &'static str,
        value: toml::Value,
        note: String,
    },
    /// A key left out: `# key = ?  # why; candidates`.
    Missing {
        key: &'static str,
        why: String,
        candidates: Vec<String>,
    },
}

/// One `[section]` of the description.
#[derive(Debug, Clone, PartialEq)]
pub struct Section {
    pub name: &'static str,
    pub lines: Vec<Line>,
}

impl Section {
    pub fn new(name: &'static str) -> Self {
        Self {
            name,
            lines: Vec::new(),
        }
    }

    pub fn set(
        &mut self,
        key: &'static str,
        value: impl Into<toml::Value>,
        note: impl Into<String>,
    ) {
        self.lines.push(Line::Set {
            key,
            value: value.into(),
            note: note.into(),
        });
    }

    pub fn missing(&mut self, key: &'static str, why: impl Into<String>, candidates: Vec<String>) {
        self.lines.push(Line::Missing {
            key,
            why: why.into(),
            candidates,
        });
    }
}

/// The whole inferred description.
#[derive(Debug, Clone, PartialEq)]
pub struct Inferred {
    /// Comment lines at the top (the source, the resource picked, how to run it).
    pub header: Vec<String>,
    pub sections: Vec<Section>,
    /// The collection the records are, by name (`items`), when one was found.
    pub resource: Option<String>,
}

impl Inferred {
    /// What could not be inferred: `section.key: why (candidates: ...)`, one per piece.
    pub fn missing(&self) -> Vec<String> {
        let mut all = Vec::new();
        for section in &self.sections {
            for line in &section.lines {
                if let Line::Missing {
                    key,
                    why,
                    candidates,
                } = line
                {
                    let mut text = format!("{}.{key}: {why}", section.name);
                    if !candidates.is_empty() {
                        let _ = write!(text, " (candidates: {})", candidates.join(", "));
                    }
                    all.push(text);
                }
            }
        }
        all
    }

    /// The description file: every choice with its comment, every missing piece as a commented
    /// placeholder.
    pub fn toml(&self) -> String {
        let mut out = String::new();
        for line in &self.header {
            let _ = writeln!(out, "{}", format!("# {line}").trim_end());
        }
        for section in &self.sections {
            let _ = writeln!(out, "\n[{}]", section.name);
            for line in &section.lines {
                match line {
                    Line::Set { key, value, note } => {
                        let assignment = format!("{key} = {}", inline(value));
                        if note.is_empty() {
                            let _ = writeln!(out, "{assignment}");
                        } else {
                            let _ = writeln!(out, "{assignment:<40} # {note}");
                        }
                    }
                    Line::Missing {
                        key,
                        why,
                        candidates,
                    } => {
                        let _ = writeln!(out, "# {key} = ?   # NOT INFERRED: {why}");
                        if !candidates.is_empty() {
                            let _ = writeln!(out, "#   candidates: {}", candidates.join(", "));
                        }
                    }
                }
            }
        }
        out
    }
}

/// A TOML value on one line (tables inline).
pub fn inline(value: &toml::Value) -> String {
    match value {
        toml::Value::Table(table) => {
            let fields: Vec<String> = table
                .iter()
                .map(|(k, v)| format!("{} = {}", key(k), inline(v)))
                .collect();
            if fields.is_empty() {
                "{}".into()
            } else {
                format!("{{ {} }}", fields.join(", "))
            }
        }
        toml::Value::Array(items) => {
            let items: Vec<String> = items.iter().map(inline).collect();
            format!("[{}]", items.join(", "))
        }
        other => other.to_string(),
    }
}

/// A bare key when TOML allows it, else quoted.
fn key(name: &str) -> String {
    if !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
    {
        name.to_owned()
    } else {
        toml::Value::String(name.to_owned()).to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inline_tables_read_back_as_toml() {
        let mut table = toml::Table::new();
        table.insert("title".into(), "{marker}".into());
        table.insert("$weird key".into(), 1.into());
        let mut section = Section::new("records");
        section.set("create-body", table.clone(), "from POST /items/");
        section.missing("owner", "no owner field", vec!["author".into()]);
        let inferred = Inferred {
            header: vec!["generated".into()],
            sections: vec![section],
            resource: None,
        };
        let text = inferred.toml();
        let parsed: toml::Table = toml::from_str(&text).unwrap();
        assert_eq!(
            parsed["records"]["create-body"],
            toml::Value::Table(table),
            "the inline table reads back as written: {text}"
        );
        assert_eq!(
            inferred.missing(),
            ["records.owner: no owner field (candidates: author)"],
            "the missing piece is listed with its candidates"
        );
    }
}
