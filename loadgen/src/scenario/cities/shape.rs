//! The API's shape: paths and field names, so `loadgen cities` can test any server that has a
//! register / token / cities API, not only racebench's mock.
//!
//! Defaults are the second article's FastAPI app (and racebench's mock-server). A TOML scenario file
//! (`--scenario fixtures/cities-scenario.toml`) sets any of these keys; command-line flags win.

use std::path::Path;

use serde::Deserialize;

/// How the token request sends its credentials.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum TokenRequest {
    /// `application/x-www-form-urlencoded` `username` and `password` (OAuth2 password flow).
    Form,
    /// A JSON body `{"username", "password"}`.
    Json,
}

/// Paths (relative to the base URL) and field names.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case", default)]
pub struct Shape {
    pub register_path: String,
    pub token_path: String,
    /// The collection; a city is `{cities_path}/{id}`.
    pub cities_path: String,
    pub token_request: TokenRequest,
    /// Field of the token response that holds the bearer token.
    pub token_field: String,
    /// Key that wraps every answer (`{"data": ...}`); empty for none.
    pub envelope: String,
}

impl Default for Shape {
    fn default() -> Self {
        Self {
            register_path: "/auth/register".into(),
            token_path: "/auth/token".into(),
            cities_path: "/cities".into(),
            token_request: TokenRequest::Form,
            token_field: "access_token".into(),
            envelope: "data".into(),
        }
    }
}

impl Shape {
    /// Reads a TOML scenario file.
    pub fn load(path: &Path) -> Result<Self, String> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        toml::from_str(&text)
            .map_err(|e| format!("invalid scenario file {}: {}", path.display(), e.message()))
    }

    /// The payload of an answer: the envelope's content, or the whole body.
    pub fn payload<'a>(&self, body: &'a serde_json::Value) -> Option<&'a serde_json::Value> {
        if self.envelope.is_empty() {
            Some(body)
        } else {
            body.get(&self.envelope)
        }
    }

    /// Checks the paths look like paths.
    pub fn validate(&self) -> Result<(), String> {
        for (key, path) in [
            ("register-path", &self.register_path),
            ("token-path", &self.token_path),
            ("cities-path", &self.cities_path),
        ] {
            if !path.starts_with('/') {
                return Err(format!("{key} `{path}` must start with `/`"));
            }
        }
        if self.token_field.is_empty() {
            return Err("token-field must not be empty".into());
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_fixture_file_parses() {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../fixtures/cities-scenario.toml"
        );
        let shape = Shape::load(Path::new(path)).unwrap();
        assert_eq!(shape, Shape::default());
    }

    #[test]
    fn unknown_keys_and_bad_paths_are_refused() {
        assert!(toml::from_str::<Shape>("token_path = \"/t\"").is_err());
        let shape: Shape = toml::from_str("cities-path = \"items\"").unwrap();
        assert!(shape.validate().unwrap_err().contains("cities-path"));
    }
}
