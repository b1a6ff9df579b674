//! CSRF protection as the API description states it (`csrf = "django"`, or a `[csrf]` table):
//! where the token comes from (a cookie, a response header, or a field of a JSON answer), where it
//! goes back (a request header, or a body field), and on which methods. A preset fills the names
//! of one framework's defaults; every name given beside it wins.
//!
//! | preset | token from | sent back in |
//! |---|---|---|
//! | `django` | cookie `csrftoken` | header `X-CSRFToken` |
//! | `laravel` | cookie `XSRF-TOKEN` (Sanctum: `GET /sanctum/csrf-cookie` sets it) | header `X-XSRF-TOKEN` |
//! | `spring` | cookie `XSRF-TOKEN` (`CookieCsrfTokenRepository`) | header `X-XSRF-TOKEN` |
//! | `rails` | cookie `CSRF-TOKEN` (the usual SPA recipe; Rails sets none by default) | header `X-CSRF-Token` |
//!
//! A cookie's value is percent-decoded before it is sent back, as Axios and Angular do (Laravel's
//! cookie is URL-encoded). [`Csrf`] is the compiled form the cookie jar ([`super::jar`]) uses.

use hyper::{Method, header::HeaderName};
use serde::Deserialize;

/// A framework whose default names a preset fills.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Preset {
    Django,
    Laravel,
    Spring,
    Rails,
}

impl Preset {
    /// The token's cookie and the request header it goes back in.
    fn names(self) -> (&'static str, &'static str) {
        match self {
            Preset::Django => ("csrftoken", "X-CSRFToken"),
            Preset::Laravel | Preset::Spring => ("XSRF-TOKEN", "X-XSRF-TOKEN"),
            Preset::Rails => ("CSRF-TOKEN", "X-CSRF-Token"),
        }
    }
}

/// `[csrf]` as written (`csrf = "django"` is read as `[csrf] preset = "django"`). Every key is
/// optional: unset keys take the preset's names; with no preset and no key, CSRF is off.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case", default)]
pub struct CsrfKeys {
    pub preset: Option<Preset>,
    /// The cookie carrying the token (read again whenever an answer sets it).
    pub cookie: Option<String>,
    /// A response header carrying the token (read again whenever an answer has it).
    pub response_header: Option<String>,
    /// JSON pointer of the token in the answers of `login.cookie-path`, register and login.
    pub json: Option<String>,
    /// The request header it goes back in.
    pub header: Option<String>,
    /// Or the body field it goes back in (`csrfmiddlewaretoken`, `authenticity_token`, `_token`).
    pub field: Option<String>,
    /// Methods that carry it [default: POST, PUT, PATCH, DELETE].
    pub methods: Option<Vec<String>>,
}

/// Where the token is read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    Cookie(String),
    Header(HeaderName),
    /// A JSON pointer in the answers of set-up requests.
    Json(String),
}

/// Where the token goes back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Send {
    Header(HeaderName),
    Field(String),
}

/// The compiled rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Csrf {
    pub source: Source,
    pub send: Send,
    pub methods: Vec<Method>,
}

impl Csrf {
    /// Whether a request with `method` carries the token.
    pub fn applies_to(&self, method: &Method) -> bool {
        self.methods.contains(method)
    }
}

/// Keys that set where the token comes from and where it goes, for errors.
const SOURCE_KEYS: &str = "csrf.cookie, csrf.response-header or csrf.json";
const SEND_KEYS: &str = "csrf.header or csrf.field";

impl CsrfKeys {
    /// Whether the description says anything about CSRF.
    pub fn is_set(&self) -> bool {
        *self != CsrfKeys::default()
    }

    /// The rule, `None` when CSRF is off; an error names the key.
    pub fn compile(&self) -> Result<Option<Csrf>, String> {
        if !self.is_set() {
            return Ok(None);
        }
        let (preset_cookie, preset_header) = self.preset.map(Preset::names).unzip();
        let sources: Vec<Source> = [
            given(&self.cookie).map(|name| Ok(Source::Cookie(name.to_owned()))),
            given(&self.response_header)
                .map(|name| header_name("csrf.response-header", name).map(Source::Header)),
            given(&self.json).map(|pointer| {
                if pointer.starts_with('/') {
                    Ok(Source::Json(pointer.to_owned()))
                } else {
                    Err(format!(
                        "csrf.json `{pointer}` is not a JSON pointer: write `/{pointer}` (RFC 6901)"
                    ))
                }
            }),
        ]
        .into_iter()
        .flatten()
        .collect::<Result<_, _>>()?;
        let any_source_key =
            self.cookie.is_some() || self.response_header.is_some() || self.json.is_some();
        let source = match (sources.len(), any_source_key, preset_cookie) {
            (1, _, _) => sources.into_iter().next().expect("one"),
            (0, false, Some(cookie)) => Source::Cookie(cookie.to_owned()),
            (0, _, _) => {
                return Err(format!(
                    "csrf: say where the token comes from: {SOURCE_KEYS} (or a preset: csrf = \"django\", \"laravel\", \"spring\" or \"rails\")"
                ));
            }
            _ => {
                return Err(format!(
                    "csrf: the token comes from one place: set one of {SOURCE_KEYS}"
                ));
            }
        };
        let sends: Vec<Send> = [
            given(&self.header).map(|name| header_name("csrf.header", name).map(Send::Header)),
            given(&self.field).map(|field| Ok(Send::Field(field.to_owned()))),
        ]
        .into_iter()
        .flatten()
        .collect::<Result<_, _>>()?;
        let any_send_key = self.header.is_some() || self.field.is_some();
        let send = match (sends.len(), any_send_key, preset_header) {
            (1, _, _) => sends.into_iter().next().expect("one"),
            (0, false, Some(header)) => Send::Header(header_name("csrf.header", header)?),
            (0, _, _) => {
                return Err(format!(
                    "csrf: say where the token goes back: {SEND_KEYS} (or a preset)"
                ));
            }
            _ => {
                return Err(format!(
                    "csrf: the token goes back in one place: set one of {SEND_KEYS}"
                ));
            }
        };
        let methods = match &self.methods {
            None => ["POST", "PUT", "PATCH", "DELETE"]
                .iter()
                .map(|m| Method::from_bytes(m.as_bytes()).expect("a method"))
                .collect(),
            Some(methods) => methods
                .iter()
                .map(|m| {
                    Method::from_bytes(m.to_ascii_uppercase().as_bytes())
                        .map_err(|_| format!("csrf.methods: `{m}` is not an HTTP method"))
                })
                .collect::<Result<_, _>>()?,
        };
        Ok(Some(Csrf {
            source,
            send,
            methods,
        }))
    }
}

/// A key given with a value (`""` is given, but empty: it clears the preset's name).
fn given(key: &Option<String>) -> Option<&str> {
    key.as_deref().filter(|text| !text.is_empty())
}

fn header_name(key: &str, name: &str) -> Result<HeaderName, String> {
    HeaderName::from_bytes(name.as_bytes())
        .map_err(|_| format!("{key} `{name}` is not a header name"))
}

/// `csrf = "django"` in a description table, rewritten as `[csrf] preset = "django"` so both
/// spellings (and `--set csrf.header=...` over either) read alike.
pub fn normalize(table: &mut toml::Table) {
    if let Some(toml::Value::String(preset)) = table.get("csrf") {
        let mut keys = toml::Table::new();
        keys.insert("preset".into(), toml::Value::String(preset.clone()));
        table.insert("csrf".into(), toml::Value::Table(keys));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys(text: &str) -> CsrfKeys {
        toml::from_str(text).unwrap()
    }

    #[test]
    fn presets_fill_the_names_and_given_keys_win() {
        let django = keys("preset = \"django\"").compile().unwrap().unwrap();
        assert_eq!(
            (django.source.clone(), django.send.clone()),
            (
                Source::Cookie("csrftoken".into()),
                Send::Header(HeaderName::from_static("x-csrftoken"))
            ),
            "django: cookie csrftoken back in X-CSRFToken"
        );
        assert!(
            django.applies_to(&Method::POST) && !django.applies_to(&Method::GET),
            "unsafe methods carry the token, reads do not"
        );
        let laravel = keys("preset = \"laravel\"\nheader = \"X-Custom\"")
            .compile()
            .unwrap()
            .unwrap();
        assert_eq!(
            (laravel.source, laravel.send),
            (
                Source::Cookie("XSRF-TOKEN".into()),
                Send::Header(HeaderName::from_static("x-custom"))
            ),
            "a given header replaces the preset's, the cookie stays"
        );
        let spring_json = keys("preset = \"spring\"\njson = \"/token\"\nfield = \"_csrf\"")
            .compile()
            .unwrap()
            .unwrap();
        assert_eq!(
            (spring_json.source, spring_json.send),
            (Source::Json("/token".into()), Send::Field("_csrf".into())),
            "a given source and field replace the preset's cookie and header"
        );
        assert_eq!(
            CsrfKeys::default().compile().unwrap(),
            None,
            "no key and no preset: CSRF is off"
        );
    }

    #[test]
    fn half_a_rule_or_two_sources_name_the_keys() {
        for (text, names) in [
            ("header = \"X-T\"", "csrf.cookie"),
            ("cookie = \"t\"", "csrf.header"),
            ("cookie = \"t\"\njson = \"/t\"\nheader = \"X-T\"", "one of"),
            ("cookie = \"t\"\nheader = \"bad header\"", "csrf.header"),
            ("preset = \"django\"\njson = \"token\"", "csrf.json"),
            ("preset = \"django\"\nmethods = [\"P O\"]", "csrf.methods"),
        ] {
            let error = keys(text).compile().unwrap_err();
            assert!(error.contains(names), "{text}: {error}");
        }
    }

    #[test]
    fn a_preset_string_reads_as_a_table() {
        let mut table: toml::Table = toml::from_str("csrf = \"rails\"").unwrap();
        normalize(&mut table);
        assert_eq!(
            table["csrf"]["preset"].as_str(),
            Some("rails"),
            "csrf = \"rails\" is [csrf] preset = \"rails\""
        );
    }
}
