//! The API description as written: a TOML file (`--api FILE`) whose every key has a default equal
//! to racebench mock-server's shape, so an empty file describes mock-server. The section "The API
//! description" of docs/guide/isolation.md documents each key; `fixtures/apis/` holds descriptions of real shapes.

use std::path::{Path, PathBuf};

use serde::Deserialize;
use serde_json::Value;

/// The whole description.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case", default)]
pub struct Description {
    pub accounts: Accounts,
    pub login: Login,
    pub records: Records,
    pub meanings: Meanings,
}

/// Where the accounts come from: registered by loadgen, or provisioned beforehand.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum AccountSource {
    /// Each identity registers its own account (`register-*` keys).
    Register,
    /// Each identity takes one line of `file`: `EMAIL PASSWORD` (logged in with `[login]`), or
    /// `token TOKEN [ACCOUNT_ID]` (used as it is).
    File,
}

/// `[accounts]`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case", default)]
pub struct Accounts {
    pub source: AccountSource,
    pub register_path: String,
    pub register_method: String,
    /// JSON body; string values are templates (`{email}`, `{password}`, `{run}`, `{user}`).
    pub register_body: toml::Table,
    /// Template of each identity's email; must contain `{user}`.
    pub email: String,
    /// Template of each identity's password.
    pub password: String,
    /// Statuses meaning "created".
    pub created: Vec<u16>,
    /// Statuses meaning "already exists" (a retried set-up finds its own earlier registration).
    pub exists: Vec<u16>,
    /// JSON pointer of the account id in the register answer (`""`: not there).
    pub account_id: String,
    /// JSON pointer of a token in the register answer (`""`: log in instead).
    pub token: String,
    /// `source = "file"`: the accounts, one line per identity.
    pub file: Option<PathBuf>,
}

impl Default for Accounts {
    fn default() -> Self {
        let mut body = toml::Table::new();
        body.insert("email".into(), "{email}".into());
        body.insert("password".into(), "{password}".into());
        Self {
            source: AccountSource::Register,
            register_path: "/auth/register".into(),
            register_method: "POST".into(),
            register_body: body,
            email: "{run}.u{user}@example.com".into(),
            password: "pw-{run}-{user}".into(),
            created: vec![200, 201],
            exists: vec![409],
            account_id: "/data/id".into(),
            token: String::new(),
            file: None,
        }
    }
}

/// How the login request sends the credentials.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "kebab-case")]
pub enum Encoding {
    /// `application/x-www-form-urlencoded` (the OAuth2 password flow).
    Form,
    /// A JSON object.
    Json,
}

/// How a request proves who sends it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum SendToken {
    /// `{header}: {scheme} {token}` (`Authorization: Bearer t`, DRF's `Token t`, or a custom
    /// header with an empty scheme).
    Header,
    /// The cookies the login answer set, one jar per identity (a session login).
    Cookie,
}

/// `[login]`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case", default)]
pub struct Login {
    pub path: String,
    pub method: String,
    pub encoding: Encoding,
    /// Field carrying the email (or user name): `username`, `email`.
    pub username_field: String,
    /// Template of the value sent in `username-field` (default the email).
    pub username: String,
    pub password_field: String,
    /// Extra fields sent with the credentials (templates).
    pub extra: toml::Table,
    /// Statuses meaning "logged in".
    pub ok: Vec<u16>,
    /// JSON pointer of the token in the answer (`""` with `send = "cookie"`).
    pub token: String,
    /// JSON pointer of the account id in the answer (`""`: not there).
    pub account_id: String,
    pub send: SendToken,
    pub header: String,
    /// Word before the token (`Bearer`, `Token`; `""` for the bare token).
    pub scheme: String,
    /// `GET` path answering the caller's own account (`""`: none); checked on every iteration.
    pub me_path: String,
    /// JSON pointer of the account id in the `me` answer.
    pub me_id: String,
}

impl Default for Login {
    fn default() -> Self {
        Self {
            path: "/auth/token".into(),
            method: "POST".into(),
            encoding: Encoding::Form,
            username_field: "username".into(),
            username: "{email}".into(),
            password_field: "password".into(),
            extra: toml::Table::new(),
            ok: vec![200],
            token: "/access_token".into(),
            account_id: String::new(),
            send: SendToken::Header,
            header: "authorization".into(),
            scheme: "Bearer".into(),
            me_path: String::new(),
            me_id: "/id".into(),
        }
    }
}

/// How the own list is paged.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case", default)]
pub struct Paging {
    /// Query parameter of the page size (`limit`, `page_size`; `""`: the server's fixed size).
    pub size_param: String,
    /// The page size asked for (or the server's fixed size).
    pub size: usize,
    /// Query parameter of the first page's position and its value (`offset`/`skip` = 0,
    /// `page` = 1; `""`: none).
    pub start_param: String,
    pub start: u64,
}

impl Default for Paging {
    fn default() -> Self {
        Self {
            size_param: "limit".into(),
            size: 1000,
            start_param: "offset".into(),
            start: 0,
        }
    }
}

/// `[records]`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case", default)]
pub struct Records {
    /// The collection: create is `create-method {collection}`.
    pub collection: String,
    /// One record: `/items/{id}` (`""`: `{collection}/{id}`).
    pub item: String,
    /// The own list when it is not the collection: `/users/{account_id}/cities` (`""`: the
    /// collection).
    pub own_list: String,
    pub create_method: String,
    /// JSON body of a create; `{marker}` goes in `marker`'s field; `{account_id}` alone in a
    /// string keeps the learned id's JSON type.
    pub create_body: toml::Table,
    /// Statuses meaning "created".
    pub created: Vec<u16>,
    /// JSON pointers in a single record's answer.
    pub id: String,
    pub marker: String,
    /// The owner's account id (`""`: not shown); compared with the account id learned at signup,
    /// login or `me`.
    pub owner: String,
    /// JSON pointer of the array in a list answer (`/data`, `/results`, `""` for the root).
    pub list: String,
    /// JSON pointers inside one element of the list.
    pub list_id: String,
    pub list_marker: String,
    pub list_owner: String,
    pub paging: Paging,
    /// Statuses of a read of one's own record.
    pub read_ok: Vec<u16>,
    /// `PUT` or `PATCH`.
    pub update_method: String,
    pub update_body: toml::Table,
    pub updated: Vec<u16>,
    pub delete_method: String,
    pub deleted: Vec<u16>,
}

impl Default for Records {
    fn default() -> Self {
        let mut body = toml::Table::new();
        body.insert("name".into(), "{marker}".into());
        Self {
            collection: "/cities".into(),
            item: String::new(),
            own_list: String::new(),
            create_method: "POST".into(),
            create_body: body.clone(),
            created: vec![200, 201],
            id: "/data/id".into(),
            marker: "/data/name".into(),
            owner: String::new(),
            list: "/data".into(),
            list_id: "/id".into(),
            list_marker: "/name".into(),
            list_owner: String::new(),
            paging: Paging::default(),
            read_ok: vec![200],
            update_method: "PUT".into(),
            update_body: body,
            updated: vec![200],
            delete_method: "DELETE".into(),
            deleted: vec![200, 204],
        }
    }
}

/// `[meanings]`: what statuses say.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case", default)]
pub struct Meanings {
    /// Statuses saying "not yours" to a probe of another user's record.
    pub not_yours: Vec<u16>,
    /// Statuses saying "gone" when reading one's record after its delete.
    pub gone: Vec<u16>,
    /// Statuses that, on one's OWN acknowledged record, mean the server lost it or took the
    /// caller for someone else: a violation, not a plain failure (`denied` for a status also in
    /// `denied`, else `lost_write`).
    pub refused: Vec<u16>,
    /// Statuses that refuse the caller: on one's own create, list, read, update or delete, once
    /// the preflight passed (or the record was acknowledged), a `denied` violation.
    pub denied: Vec<u16>,
    /// Follow same-origin 307 and 308 redirects (counted and shown once as a hint).
    pub follow_redirects: bool,
}

impl Default for Meanings {
    fn default() -> Self {
        Self {
            not_yours: vec![403, 404],
            gone: vec![404],
            refused: vec![401, 403, 404],
            denied: vec![401, 403],
            follow_redirects: true,
        }
    }
}

impl Description {
    /// Reads a TOML description; a missing key keeps its default.
    pub fn load(path: &Path) -> Result<Self, String> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        toml::from_str(&text).map_err(|e| {
            format!(
                "invalid API description {}: {}",
                path.display(),
                e.message()
            )
        })
    }

    /// Reads `path` (or starts from the defaults) and applies `overrides` (`records.collection`,
    /// TOML value) before filling in the defaults.
    pub fn load_with(
        path: Option<&Path>,
        overrides: &[(String, toml::Value)],
    ) -> Result<Self, String> {
        let (mut table, name) = match path {
            Some(path) => {
                let text = std::fs::read_to_string(path)
                    .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
                let table: toml::Table = toml::from_str(&text).map_err(|e| {
                    format!(
                        "invalid API description {}: {}",
                        path.display(),
                        e.message()
                    )
                })?;
                (table, path.display().to_string())
            }
            None => (toml::Table::new(), "the API description".to_owned()),
        };
        for (key, value) in overrides {
            let mut parts: Vec<&str> = key.split('.').collect();
            let last = parts.pop().filter(|last| !last.is_empty());
            let (Some(last), false) = (last, parts.is_empty()) else {
                return Err(format!(
                    "--set {key}: write SECTION.KEY=VALUE (records.collection=/items/)"
                ));
            };
            let mut node = &mut table;
            for part in parts {
                node = node
                    .entry(part)
                    .or_insert_with(|| toml::Value::Table(toml::Table::new()))
                    .as_table_mut()
                    .ok_or_else(|| format!("--set {key}: `{part}` is not a section"))?;
            }
            node.insert(last.to_owned(), value.clone());
        }
        toml::Value::Table(table)
            .try_into()
            .map_err(|e: toml::de::Error| format!("invalid {name}: {}", e.message()))
    }

    /// Checks what can be checked without a server; one line naming the key.
    pub fn validate(&self) -> Result<(), String> {
        let a = &self.accounts;
        let l = &self.login;
        let r = &self.records;
        let mut paths = vec![
            ("login.path", &l.path),
            ("records.collection", &r.collection),
        ];
        if a.source == AccountSource::Register {
            paths.push(("accounts.register-path", &a.register_path));
        }
        for (key, path) in [
            ("records.item", &r.item),
            ("records.own-list", &r.own_list),
            ("login.me-path", &l.me_path),
        ] {
            if !path.is_empty() {
                paths.push((key, path));
            }
        }
        for (key, path) in paths {
            if !path.starts_with('/') {
                return Err(format!("{key} `{path}` must start with `/`"));
            }
        }
        if !self.item_template().contains("{id}") {
            return Err(format!(
                "records.item `{}` must contain `{{id}}`",
                self.item_template()
            ));
        }
        for (key, pointer) in [
            ("accounts.account-id", &a.account_id),
            ("accounts.token", &a.token),
            ("login.token", &l.token),
            ("login.account-id", &l.account_id),
            ("login.me-id", &l.me_id),
            ("records.id", &r.id),
            ("records.marker", &r.marker),
            ("records.owner", &r.owner),
            ("records.list", &r.list),
            ("records.list-id", &r.list_id),
            ("records.list-marker", &r.list_marker),
            ("records.list-owner", &r.list_owner),
        ] {
            if !pointer.is_empty() && !pointer.starts_with('/') {
                return Err(format!(
                    "{key} `{pointer}` is not a JSON pointer: write `/{pointer}` (RFC 6901)"
                ));
            }
        }
        if r.id.is_empty() || r.list_id.is_empty() {
            return Err("records.id and records.list-id must point at the record's id".into());
        }
        if r.marker.is_empty() || r.list_marker.is_empty() {
            return Err(
                "records.marker and records.list-marker must point at the field carrying the marker"
                    .into(),
            );
        }
        if !contains_template(&r.create_body, "{marker}") {
            return Err("records.create-body must carry `{marker}` in one field".into());
        }
        if !contains_template(&r.update_body, "{marker}") {
            return Err("records.update-body must carry `{marker}` in one field".into());
        }
        if a.source == AccountSource::Register && !a.email.contains("{user}") {
            return Err(format!(
                "accounts.email `{}` must contain `{{user}}` (one account per identity)",
                a.email
            ));
        }
        if a.source == AccountSource::File && a.file.is_none() {
            return Err("accounts.source = \"file\" needs accounts.file".into());
        }
        if l.send == SendToken::Header && l.token.is_empty() && a.token.is_empty() {
            return Err(
                "login.token must point at the token (or use login.send = \"cookie\")".into(),
            );
        }
        if r.paging.size == 0 {
            return Err("records.paging.size must be at least 1".into());
        }
        for (key, method) in [
            ("accounts.register-method", &a.register_method),
            ("login.method", &l.method),
            ("records.create-method", &r.create_method),
            ("records.update-method", &r.update_method),
            ("records.delete-method", &r.delete_method),
        ] {
            if hyper::Method::from_bytes(method.as_bytes()).is_err() {
                return Err(format!("{key} `{method}` is not an HTTP method"));
            }
        }
        Ok(())
    }

    /// The item path template, `{collection}/{id}` unless given.
    pub fn item_template(&self) -> String {
        if self.records.item.is_empty() {
            format!("{}/{{id}}", self.records.collection.trim_end_matches('/'))
        } else {
            self.records.item.clone()
        }
    }
}

/// Parses `KEY=VALUE` of `--set`: the value is TOML (`[403, 404]`, `true`, `"x"`), or else text.
pub fn parse_set(text: &str) -> Result<(String, toml::Value), String> {
    let (key, value) = text
        .split_once('=')
        .ok_or_else(|| format!("--set `{text}`: write KEY=VALUE"))?;
    let value = toml::from_str::<toml::Table>(&format!("v = {value}"))
        .ok()
        .and_then(|mut table| table.remove("v"))
        .unwrap_or_else(|| toml::Value::String(value.to_owned()));
    Ok((key.trim().to_owned(), value))
}

fn contains_template(table: &toml::Table, needle: &str) -> bool {
    fn walk(value: &Value, needle: &str) -> bool {
        match value {
            Value::String(text) => text.contains(needle),
            Value::Array(items) => items.iter().any(|item| walk(item, needle)),
            Value::Object(map) => map.values().any(|item| walk(item, needle)),
            _ => false,
        }
    }
    serde_json::to_value(table).is_ok_and(|value| walk(&value, needle))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_empty_file_is_mock_server() {
        let description: Description = toml::from_str("").unwrap();
        assert_eq!(
            description,
            Description::default(),
            "an empty description is the default one"
        );
        description.validate().unwrap();
        assert_eq!(
            description.item_template(),
            "/cities/{id}",
            "the default item template is the cities one"
        );
    }

    #[test]
    fn overrides_set_single_keys() {
        let sets = [
            parse_set("records.collection=/items/").unwrap(),
            parse_set("meanings.not-yours=[404]").unwrap(),
        ];
        let description = Description::load_with(None, &sets).unwrap();
        assert_eq!(
            description.records.collection, "/items/",
            "the file sets the collection path"
        );
        assert_eq!(
            description.meanings.not_yours,
            [404],
            "the file sets the statuses meaning not yours"
        );
        assert_eq!(
            description.item_template(),
            "/items/{id}",
            "the item template follows the collection"
        );
        let error = Description::load_with(None, &[parse_set("records.nope=1").unwrap()]);
        assert!(
            error.unwrap_err().contains("nope"),
            "an error on an unknown value names it"
        );
    }

    #[test]
    fn unknown_keys_and_bad_values_name_the_key() {
        let error = toml::from_str::<Description>("[records]\ncolection = \"/x\"").unwrap_err();
        assert!(error.message().contains("colection"), "{}", error.message());
        for (text, key) in [
            ("[records]\ncollection = \"items\"", "records.collection"),
            ("[records]\nid = \"id\"", "records.id"),
            ("[records]\ncreate-body = { title = \"x\" }", "create-body"),
            ("[accounts]\nemail = \"a@example.com\"", "accounts.email"),
            ("[records]\nitem = \"/items/\"", "records.item"),
        ] {
            let description: Description = toml::from_str(text).unwrap();
            let error = description.validate().unwrap_err();
            assert!(error.contains(key), "{text}: {error}");
        }
    }
}
