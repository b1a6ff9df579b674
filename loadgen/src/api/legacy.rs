//! The first format of `loadgen cities --scenario FILE` and its flags (`--register-path`,
//! `--token-path`, `--cities-path`, `--token-request`, `--token-field`, `--envelope`), translated
//! into `--set` overrides of the API description so both keep working.

use std::path::Path;

use serde::Deserialize;

use super::Encoding;

/// The legacy keys; each `None` leaves the description's default.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Shape {
    pub register_path: Option<String>,
    pub token_path: Option<String>,
    pub cities_path: Option<String>,
    pub token_request: Option<Encoding>,
    pub token_field: Option<String>,
    /// Key wrapping every answer (`{"data": ...}`); empty for none.
    pub envelope: Option<String>,
}

impl Shape {
    /// Reads a legacy scenario file.
    pub fn load(path: &Path) -> Result<Self, String> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        toml::from_str(&text)
            .map_err(|e| format!("invalid scenario file {}: {}", path.display(), e.message()))
    }

    /// Values of `other` win.
    pub fn or(self, other: Shape) -> Shape {
        Shape {
            register_path: other.register_path.or(self.register_path),
            token_path: other.token_path.or(self.token_path),
            cities_path: other.cities_path.or(self.cities_path),
            token_request: other.token_request.or(self.token_request),
            token_field: other.token_field.or(self.token_field),
            envelope: other.envelope.or(self.envelope),
        }
    }

    /// The description keys these legacy settings mean, as `(key, TOML value)`.
    pub fn overrides(&self) -> Vec<(String, toml::Value)> {
        let mut out: Vec<(String, toml::Value)> = Vec::new();
        let mut text = |key: &str, value: &str| out.push((key.into(), value.into()));
        if let Some(path) = &self.register_path {
            text("accounts.register-path", path);
        }
        if let Some(path) = &self.token_path {
            text("login.path", path);
        }
        if let Some(path) = &self.cities_path {
            text("records.collection", path);
        }
        if let Some(kind) = self.token_request {
            text(
                "login.encoding",
                match kind {
                    Encoding::Form => "form",
                    Encoding::Json => "json",
                },
            );
        }
        if let Some(field) = &self.token_field {
            text("login.token", &format!("/{field}"));
        }
        if let Some(envelope) = &self.envelope {
            let wrap = |field: &str| {
                if envelope.is_empty() {
                    format!("/{field}")
                } else {
                    format!("/{envelope}/{field}")
                }
            };
            text("accounts.account-id", &wrap("id"));
            text("records.id", &wrap("id"));
            text("records.marker", &wrap("name"));
            let list = if envelope.is_empty() {
                String::new()
            } else {
                format!("/{envelope}")
            };
            text("records.list", &list);
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::Description;

    #[test]
    fn the_legacy_fixture_file_means_the_default_description() {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../fixtures/cities-scenario.toml"
        );
        let shape = Shape::load(Path::new(path)).unwrap();
        let description = Description::load_with(None, &shape.overrides()).unwrap();
        assert_eq!(
            description,
            Description::default(),
            "the legacy default shape is the default description"
        );
    }

    #[test]
    fn an_empty_envelope_points_at_the_root() {
        let shape = Shape {
            envelope: Some(String::new()),
            token_field: Some("token".into()),
            ..Shape::default()
        };
        let description = Description::load_with(None, &shape.overrides()).unwrap();
        assert_eq!(
            description.records.id, "/id",
            "an empty envelope reads the id at the root"
        );
        assert_eq!(
            description.records.list, "",
            "an empty envelope reads the list at the root"
        );
        assert_eq!(
            description.login.token, "/token",
            "token_field maps to the pointer /token"
        );
        assert!(
            toml::from_str::<Shape>("token_path = \"/t\"").is_err(),
            "a field the legacy shape does not know is refused"
        );
    }
}
