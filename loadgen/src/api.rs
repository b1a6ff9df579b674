//! The one adapter between HTTP and the oracle: an API [`Description`] builds every request the
//! isolation test sends ([`ApiRequest`]) and parses every answer into typed views
//! ([`Record`], [`Page`], [`Account`]). Nothing else in loadgen knows a path, a field name, an
//! envelope or how a token is sent; the verdicts judge views (plus the raw body, for the marker
//! scan).
//!
//! Layout: [`description`] (the TOML format and its defaults, mock-server's shape),
//! [`template`] (`{email}`, `{marker}`, `{account_id}` placeholders), [`views`] (the typed views
//! and [`Mismatch`], a shape error naming the setting to change), [`accounts`] (pre-provisioned
//! accounts from a file), [`expiry`] (a JWT credential's `exp`).

pub mod accounts;
pub mod description;
pub mod expiry;
pub mod legacy;
pub mod template;
pub mod views;

use bytes::Bytes;
use http_body_util::Full;
use hyper::{
    HeaderMap, Method, Request, Uri,
    header::{CONTENT_TYPE, HeaderName, HeaderValue, LOCATION, SET_COOKIE},
};
use serde_json::Value;

pub use accounts::Provisioned;
pub use description::{AccountSource, Description, Encoding, SendToken};
pub use template::Vars;
pub use views::{Account, Mismatch, Page, Record};

use crate::client::Target;

/// How a virtual user proves who it is: one header (`Authorization: Bearer t`, `Cookie: s=1`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Credential {
    pub name: HeaderName,
    pub value: HeaderValue,
}

impl Credential {
    /// When it expires (seconds since the Unix epoch), if it is a JWT that says so.
    pub fn expires_at(&self) -> Option<u64> {
        expiry::jwt_expiry(self.value.to_str().ok()?)
    }
}

/// A request as the description builds it, before it meets a connection.
#[derive(Debug, Clone)]
pub struct ApiRequest {
    pub method: Method,
    /// Path (and query) below the base URL.
    pub path: String,
    pub body: Bytes,
    pub content_type: Option<&'static str>,
    pub credential: Option<Credential>,
    /// The description key that sets this request's path, for set-up hints.
    pub path_setting: &'static str,
    /// `path` is already absolute (a redirect's target): the base path is not prepended.
    pub absolute: bool,
}

impl ApiRequest {
    /// The path on the server: the base path and `path` (unless already absolute).
    fn full_path(&self, target: &Target) -> String {
        if self.absolute {
            self.path.clone()
        } else {
            template::join_slashes(&format!("{}{}", target.base_path, self.path))
        }
    }

    /// The hyper request for `target`: its headers (`Host`, `User-Agent`, `-H`), then the
    /// content type and the credential.
    pub fn build(&self, target: &Target) -> Request<Full<Bytes>> {
        let uri: Uri = self
            .full_path(target)
            .parse()
            .unwrap_or_else(|_| Uri::from_static("/"));
        let mut request = Request::new(Full::new(self.body.clone()));
        *request.method_mut() = self.method.clone();
        *request.uri_mut() = uri;
        *request.headers_mut() = target.headers.clone();
        if let Some(content_type) = self.content_type {
            request
                .headers_mut()
                .insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
        }
        if let Some(credential) = &self.credential {
            request
                .headers_mut()
                .insert(credential.name.clone(), credential.value.clone());
        }
        request
    }

    /// `POST /api/v1/items/` as evidence and hints show it.
    pub fn label(&self, target: &Target) -> String {
        format!("{} {}", self.method, self.full_path(target))
    }
}

/// Where a 307/308 answer points.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Redirect {
    /// Same origin: the absolute path (and query) to send the same request to.
    Follow(String),
    /// Another origin, or no usable `Location`: a set-up error.
    Refuse(String),
}

/// The compiled description.
#[derive(Debug, Clone)]
pub struct Api {
    description: Description,
    item: String,
    header: HeaderName,
    provisioned: Vec<Provisioned>,
}

impl Api {
    /// Validates `description` and reads its accounts file, if any.
    pub fn new(description: Description) -> Result<Self, String> {
        description.validate()?;
        let header = HeaderName::from_bytes(description.login.header.as_bytes()).map_err(|_| {
            format!(
                "login.header `{}` is not a header name",
                description.login.header
            )
        })?;
        let provisioned = match (&description.accounts.source, &description.accounts.file) {
            (AccountSource::File, Some(path)) => accounts::load(path)?,
            _ => Vec::new(),
        };
        Ok(Self {
            item: description.item_template(),
            description,
            header,
            provisioned,
        })
    }

    pub fn description(&self) -> &Description {
        &self.description
    }

    /// Whether identities register (else they come from the accounts file).
    pub fn registers(&self) -> bool {
        self.description.accounts.source == AccountSource::Register
    }

    /// The pre-provisioned account of identity `index` (global), if accounts come from a file.
    pub fn provisioned(&self, index: usize) -> Option<&Provisioned> {
        self.provisioned.get(index)
    }

    /// How many pre-provisioned accounts there are.
    pub fn provisioned_count(&self) -> usize {
        self.provisioned.len()
    }

    /// Whether answers show a record's owner (single records or lists).
    pub fn shows_owner(&self) -> bool {
        !self.description.records.owner.is_empty()
            || !self.description.records.list_owner.is_empty()
    }

    /// Whether the description has a `me` path.
    pub fn has_me(&self) -> bool {
        !self.description.login.me_path.is_empty()
    }

    /// The email and password of identity `user` of run `run`.
    pub fn credentials(&self, run: &str, user: usize) -> (String, String) {
        let vars = Vars {
            run: Some(run),
            user: Some(user),
            ..Vars::default()
        };
        let a = &self.description.accounts;
        (vars.fill(&a.email), vars.fill(&a.password))
    }

    fn json(
        method: &str,
        path: String,
        body: &Value,
        credential: Option<&Credential>,
        path_setting: &'static str,
    ) -> ApiRequest {
        ApiRequest {
            method: method_of(method),
            path,
            body: serde_json::to_vec(body).unwrap_or_default().into(),
            content_type: Some("application/json"),
            credential: credential.cloned(),
            path_setting,
            absolute: false,
        }
    }

    fn bare(
        method: &str,
        path: String,
        credential: &Credential,
        path_setting: &'static str,
    ) -> ApiRequest {
        ApiRequest {
            method: method_of(method),
            path,
            body: Bytes::new(),
            content_type: None,
            credential: Some(credential.clone()),
            path_setting,
            absolute: false,
        }
    }

    pub fn register(&self, vars: &Vars<'_>) -> ApiRequest {
        let a = &self.description.accounts;
        Self::json(
            &a.register_method,
            vars.path(&a.register_path),
            &vars.body(&a.register_body),
            None,
            "accounts.register-path",
        )
    }

    pub fn login(&self, vars: &Vars<'_>) -> ApiRequest {
        let l = &self.description.login;
        let mut fields: Vec<(String, Value)> = vec![
            (
                l.username_field.clone(),
                Value::String(vars.fill(&l.username)),
            ),
            (
                l.password_field.clone(),
                Value::String(vars.password.unwrap_or_default().to_owned()),
            ),
        ];
        if let Value::Object(extra) = vars.body(&l.extra) {
            fields.extend(extra);
        }
        let path = vars.path(&l.path);
        match l.encoding {
            Encoding::Json => {
                let body = Value::Object(fields.into_iter().collect());
                Self::json(&l.method, path, &body, None, "login.path")
            }
            Encoding::Form => {
                let form = fields
                    .iter()
                    .map(|(key, value)| {
                        let value = template::scalar(value).unwrap_or_else(|| value.to_string());
                        format!("{}={}", urlencode(key), urlencode(&value))
                    })
                    .collect::<Vec<_>>()
                    .join("&");
                ApiRequest {
                    method: method_of(&l.method),
                    path,
                    body: Bytes::from(form),
                    content_type: Some("application/x-www-form-urlencoded"),
                    credential: None,
                    path_setting: "login.path",
                    absolute: false,
                }
            }
        }
    }

    pub fn me(&self, credential: &Credential, vars: &Vars<'_>) -> Option<ApiRequest> {
        let path = &self.description.login.me_path;
        (!path.is_empty()).then(|| Self::bare("GET", vars.path(path), credential, "login.me-path"))
    }

    pub fn create(&self, credential: &Credential, vars: &Vars<'_>) -> ApiRequest {
        let r = &self.description.records;
        Self::json(
            &r.create_method,
            vars.path(&r.collection),
            &vars.body(&r.create_body),
            Some(credential),
            "records.collection",
        )
    }

    pub fn read(&self, credential: &Credential, vars: &Vars<'_>) -> ApiRequest {
        Self::bare("GET", vars.path(&self.item), credential, "records.item")
    }

    pub fn list(&self, credential: &Credential, vars: &Vars<'_>) -> ApiRequest {
        let r = &self.description.records;
        let (template, setting) = if r.own_list.is_empty() {
            (&r.collection, "records.collection")
        } else {
            (&r.own_list, "records.own-list")
        };
        let mut path = vars.path(template);
        let p = &r.paging;
        let mut query = Vec::new();
        if !p.size_param.is_empty() {
            query.push(format!("{}={}", urlencode(&p.size_param), p.size));
        }
        if !p.start_param.is_empty() {
            query.push(format!("{}={}", urlencode(&p.start_param), p.start));
        }
        if !query.is_empty() {
            path.push(if path.contains('?') { '&' } else { '?' });
            path.push_str(&query.join("&"));
        }
        Self::bare("GET", path, credential, setting)
    }

    pub fn update(&self, credential: &Credential, vars: &Vars<'_>) -> ApiRequest {
        let r = &self.description.records;
        Self::json(
            &r.update_method,
            vars.path(&self.item),
            &vars.body(&r.update_body),
            Some(credential),
            "records.item",
        )
    }

    pub fn delete(&self, credential: &Credential, vars: &Vars<'_>) -> ApiRequest {
        Self::bare(
            &self.description.records.delete_method,
            vars.path(&self.item),
            credential,
            "records.item",
        )
    }

    /// The page size the own list is asked for.
    pub fn page_size(&self) -> usize {
        self.description.records.paging.size
    }

    // --- answers -------------------------------------------------------------------------------

    /// What a register answer says (lenient: a field not found is `None`).
    pub fn registered(&self, body: &[u8]) -> Account {
        let a = &self.description.accounts;
        let value: Option<Value> = serde_json::from_slice(body).ok();
        Account {
            id: value.as_ref().and_then(|v| at(v, &a.account_id)).cloned(),
            token: value
                .as_ref()
                .and_then(|v| at(v, &a.token))
                .and_then(template::scalar),
        }
    }

    /// The credential of a ready token.
    pub fn credential_of_token(&self, token: &str) -> Result<Credential, Mismatch> {
        let l = &self.description.login;
        let text = if l.scheme.is_empty() {
            token.to_owned()
        } else {
            format!("{} {token}", l.scheme)
        };
        let value = HeaderValue::from_str(&text)
            .map_err(|_| Mismatch::new("the token is not a valid header value", "login.token"))?;
        Ok(Credential {
            name: self.header.clone(),
            value,
        })
    }

    /// A login answer: the credential to send from now on, and the account id if it says it.
    pub fn logged_in(
        &self,
        headers: &HeaderMap,
        body: &[u8],
    ) -> Result<(Credential, Account), Mismatch> {
        let l = &self.description.login;
        let value: Option<Value> = serde_json::from_slice(body).ok();
        let id = value.as_ref().and_then(|v| at(v, &l.account_id)).cloned();
        match l.send {
            SendToken::Header => {
                let Some(value) = value else {
                    return Err(Mismatch::new("the login answer is not JSON", "login.token"));
                };
                let token = at(&value, &l.token)
                    .and_then(template::scalar)
                    .ok_or_else(|| {
                        Mismatch::new(
                            format!("no token at `{}` in the login answer", l.token),
                            "login.token",
                        )
                    })?;
                let credential = self.credential_of_token(&token)?;
                Ok((
                    credential,
                    Account {
                        id,
                        token: Some(token),
                    },
                ))
            }
            SendToken::Cookie => {
                let jar: Vec<String> = headers
                    .get_all(SET_COOKIE)
                    .iter()
                    .filter_map(|v| v.to_str().ok())
                    .filter_map(|cookie| cookie.split(';').next())
                    .map(|pair| pair.trim().to_owned())
                    .filter(|pair| pair.contains('='))
                    .collect();
                if jar.is_empty() {
                    return Err(Mismatch::new(
                        "the login answer set no cookie",
                        "login.send",
                    ));
                }
                let value = HeaderValue::from_str(&jar.join("; ")).map_err(|_| {
                    Mismatch::new("a cookie is not a valid header value", "login.send")
                })?;
                Ok((
                    Credential {
                        name: hyper::header::COOKIE,
                        value,
                    },
                    Account { id, token: None },
                ))
            }
        }
    }

    /// The account id a `me` answer carries.
    pub fn me_answer(&self, body: &[u8]) -> Result<Value, Mismatch> {
        let pointer = &self.description.login.me_id;
        serde_json::from_slice::<Value>(body)
            .ok()
            .and_then(|v| {
                at(&v, pointer)
                    .filter(|id| template::scalar(id).is_some())
                    .cloned()
            })
            .ok_or_else(|| {
                Mismatch::new(
                    format!("no account id at `{pointer}` in the me answer"),
                    "login.me-id",
                )
            })
    }

    /// A single record's answer.
    pub fn record(&self, body: &[u8]) -> Result<Record, Mismatch> {
        let r = &self.description.records;
        let value: Value = serde_json::from_slice(body)
            .map_err(|_| Mismatch::new("the record answer is not JSON", "records.id"))?;
        let record = record_at(&value, &r.id, &r.marker, &r.owner);
        if record.id.is_none() {
            return Err(Mismatch::new(
                format!("no record id at `{}`", r.id),
                "records.id",
            ));
        }
        Ok(record)
    }

    /// A list answer.
    pub fn page(&self, body: &[u8]) -> Result<Page, Mismatch> {
        let r = &self.description.records;
        let value: Value = serde_json::from_slice(body)
            .map_err(|_| Mismatch::new("the list answer is not JSON", "records.list"))?;
        let array = if r.list.is_empty() {
            Some(&value)
        } else {
            value.pointer(&r.list)
        };
        let items = array.and_then(Value::as_array).ok_or_else(|| {
            Mismatch::new(
                format!("no array at `{}` in the list answer", r.list),
                "records.list",
            )
        })?;
        let records: Vec<Record> = items
            .iter()
            .map(|item| record_at(item, &r.list_id, &r.list_marker, &r.list_owner))
            .collect();
        if records.iter().any(|record| record.id.is_none()) {
            return Err(Mismatch::new(
                format!("a listed record has no id at `{}`", r.list_id),
                "records.list-id",
            ));
        }
        Ok(Page { records })
    }

    /// Whether a 307/308 answer should be followed, and where.
    pub fn redirect(&self, target: &Target, status: u16, headers: &HeaderMap) -> Option<Redirect> {
        if !matches!(status, 307 | 308) || !self.description.meanings.follow_redirects {
            return None;
        }
        let Some(location) = headers.get(LOCATION).and_then(|v| v.to_str().ok()) else {
            return Some(Redirect::Refuse("a redirect without Location".into()));
        };
        if location.starts_with('/') && !location.starts_with("//") {
            return Some(Redirect::Follow(location.to_owned()));
        }
        let same = location
            .strip_prefix("http://")
            .and_then(|rest| rest.strip_prefix(target.host.to_str().ok()?))
            .filter(|path| path.is_empty() || path.starts_with('/') || path.starts_with('?'));
        Some(match same {
            Some("") => Redirect::Follow("/".into()),
            Some(path) => Redirect::Follow(path.to_owned()),
            None => Redirect::Refuse(format!("a redirect to another origin: {location}")),
        })
    }

    /// Whether `status` is among the description's "not yours" statuses.
    pub fn not_yours(&self, status: u16) -> bool {
        self.description.meanings.not_yours.contains(&status)
    }
}

fn method_of(method: &str) -> Method {
    Method::from_bytes(method.to_ascii_uppercase().as_bytes()).unwrap_or(Method::GET)
}

/// The value at JSON pointer `pointer` (`""` is the root).
fn at<'a>(value: &'a Value, pointer: &str) -> Option<&'a Value> {
    if pointer.is_empty() {
        return None;
    }
    value.pointer(pointer)
}

/// A record's fields at three pointers of `value`.
fn record_at(value: &Value, id: &str, marker: &str, owner: &str) -> Record {
    let get = |pointer: &str| at(value, pointer).and_then(template::scalar);
    Record {
        id: get(id),
        owner: get(owner),
        marker: get(marker),
    }
}

/// Percent-encodes a form value (RFC 3986 unreserved characters pass).
pub fn urlencode(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for byte in value.bytes() {
        if byte.is_ascii_alphanumeric() || b"-._~".contains(&byte) {
            out.push(byte as char);
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn api(sets: &[&str]) -> Api {
        let sets: Vec<_> = sets
            .iter()
            .map(|s| description::parse_set(s).unwrap())
            .collect();
        Api::new(Description::load_with(None, &sets).unwrap()).unwrap()
    }

    fn target() -> Target {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
            .block_on(Target::resolve("http://127.0.0.1:8000/api/v1"))
            .unwrap()
    }

    #[test]
    fn requests_follow_the_description_and_never_double_a_slash() {
        let api = api(&[
            "records.collection=/items/",
            "records.create-body={ title = \"{marker}\", userId = \"{account_id}\" }",
            "records.own-list=/users/{account_id}/items",
            "records.paging={ size-param = \"limit\", size = 100, start-param = \"skip\", start = 0 }",
            "records.marker=/title",
        ]);
        let credential = api.credential_of_token("t").unwrap();
        assert_eq!(
            credential.value, "Bearer t",
            "the login's token becomes a bearer credential"
        );
        let account = Value::from(7);
        let vars = Vars {
            marker: Some("rb1.u1.c1"),
            id: Some("42"),
            account_id: Some(&account),
            ..Vars::default()
        };
        let create = api.create(&credential, &vars);
        assert_eq!(
            create.label(&target()),
            "POST /api/v1/items/",
            "a create is labelled with its method and full path"
        );
        assert_eq!(
            serde_json::from_slice::<Value>(&create.body).unwrap(),
            serde_json::json!({"title": "rb1.u1.c1", "userId": 7}),
            "the create body fills the template's variables"
        );
        assert_eq!(
            api.read(&credential, &vars).path,
            "/items/42",
            "the read path fills the id template"
        );
        assert_eq!(
            api.list(&credential, &vars).path,
            "/users/7/items?limit=100&skip=0",
            "the list path fills the account id and adds the page parameters"
        );
        let request = api.read(&credential, &vars).build(&target());
        assert_eq!(
            request.uri(),
            "/api/v1/items/42",
            "the request goes to the base path plus the item path"
        );
        assert_eq!(
            request.headers()["authorization"],
            "Bearer t",
            "the request carries the credential"
        );
    }

    #[test]
    fn logins_give_a_header_or_a_cookie_jar() {
        let drf = api(&["login.token=/token", "login.scheme=Token"]);
        let (credential, _) = drf
            .logged_in(&HeaderMap::new(), br#"{"token":"abc"}"#)
            .unwrap();
        assert_eq!(
            credential.value, "Token abc",
            "a token with a scheme keeps the scheme"
        );
        let missing = drf.logged_in(&HeaderMap::new(), br#"{"key":"abc"}"#);
        assert_eq!(
            missing.unwrap_err().setting,
            "login.token",
            "a missing token names the setting login.token"
        );

        let session = api(&["login.send=cookie", "login.account-id=/user/id"]);
        let mut headers = HeaderMap::new();
        headers.append(
            SET_COOKIE,
            HeaderValue::from_static("sid=1; Path=/; HttpOnly"),
        );
        headers.append(SET_COOKIE, HeaderValue::from_static("csrf=2"));
        let (credential, account) = session
            .logged_in(&headers, br#"{"user":{"id":9}}"#)
            .unwrap();
        assert_eq!(
            credential.name,
            hyper::header::COOKIE,
            "a cookie login sends its cookies in the cookie header"
        );
        assert_eq!(
            credential.value, "sid=1; csrf=2",
            "every set-cookie is carried, joined with ; "
        );
        assert_eq!(
            account.id,
            Some(Value::from(9)),
            "the account id is read from the login answer"
        );
        assert!(
            session.logged_in(&HeaderMap::new(), b"{}").is_err(),
            "a cookie login answer without cookies or account id is refused"
        );
    }

    #[test]
    fn answers_parse_into_views_or_name_the_setting() {
        let fastapi = api(&[
            "records.id=/id",
            "records.marker=/title",
            "records.owner=/owner_id",
            "records.list=/data",
            "records.list-marker=/title",
        ]);
        let record = fastapi
            .record(br#"{"id":"a","title":"m","owner_id":"u"}"#)
            .unwrap();
        assert_eq!(
            record,
            Record {
                id: Some("a".into()),
                owner: Some("u".into()),
                marker: Some("m".into())
            },
            "a record reads its id, owner and marker through the description's pointers"
        );
        assert_eq!(
            fastapi.record(br#"{"data":{}}"#).unwrap_err().setting,
            "records.id",
            "an item answer without the id names records.id"
        );
        let page = fastapi
            .page(br#"{"data":[{"id":1,"title":"m"}],"count":1}"#)
            .unwrap();
        assert_eq!(
            page.records[0].id.as_deref(),
            Some("1"),
            "the page's records carry their ids"
        );
        assert_eq!(
            fastapi.page(b"[]").unwrap_err().setting,
            "records.list",
            "a list answer without the configured envelope names records.list"
        );
        let bare = api(&["records.list=\"\""]);
        assert_eq!(
            bare.page(br#"[{"id":"x"}]"#).unwrap().records.len(),
            1,
            "a bare array is a page of records"
        );
    }

    #[test]
    fn only_same_origin_307_and_308_are_followed() {
        let api = api(&[]);
        let at = |status: u16, location: &str| {
            let mut headers = HeaderMap::new();
            headers.insert(LOCATION, HeaderValue::from_str(location).unwrap());
            api.redirect(&target(), status, &headers)
        };
        assert_eq!(
            at(307, "http://127.0.0.1:8000/api/v1/items/"),
            Some(Redirect::Follow("/api/v1/items/".into())),
            "a redirect to the target's own origin is followed by its path"
        );
        assert_eq!(
            at(308, "/x"),
            Some(Redirect::Follow("/x".into())),
            "a 308 is followed"
        );
        assert!(
            matches!(at(307, "http://evil.example/x"), Some(Redirect::Refuse(_))),
            "a redirect to another host is refused: {:?}",
            at(307, "http://evil.example/x")
        );
        assert!(
            matches!(at(307, "//evil.example/x"), Some(Redirect::Refuse(_))),
            "a scheme-relative redirect to another host is refused: {:?}",
            at(307, "//evil.example/x")
        );
        assert_eq!(
            at(301, "/x"),
            None,
            "only 307 and 308 keep the method and body"
        );
        assert_eq!(at(200, "/x"), None, "a 200 is no redirect");
    }
}
