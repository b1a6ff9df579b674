//! The one adapter between HTTP and the oracle: an API [`Description`] builds every request the
//! isolation test sends ([`ApiRequest`]) and parses every answer into typed views
//! ([`Record`], [`Page`], [`Account`]). Nothing else in loadgen knows a path, a field name, an
//! envelope or how a token, a cookie or a CSRF token is sent; the verdicts judge views (plus the
//! raw body, for the marker scan).
//!
//! Layout: [`description`] (the TOML format and its defaults, mock-server's shape),
//! [`template`] (`{email}`, `{marker}`, `{account_id}` placeholders), [`views`] (the typed views
//! and [`Mismatch`], a shape error naming the setting to change), [`accounts`] (pre-provisioned
//! accounts from a file), [`refusal`] (what a refusal's body is about), [`csrf`] (the CSRF rule
//! and its presets), [`jar`] (one identity's cookies and CSRF token), [`expiry`] (a JWT
//! credential's `exp`), [`forged`] (credentials that must be refused), [`openapi`] (a description inferred from an OpenAPI document).

pub mod accounts;
pub mod csrf;
pub mod description;
pub mod expiry;
pub mod forged;
pub mod jar;
pub mod legacy;
pub mod openapi;
pub mod refusal;
pub mod template;
pub mod views;

use std::sync::Arc;

use bytes::Bytes;
use http_body_util::Full;
use hyper::{
    HeaderMap, Method, Request, Uri,
    header::{CONTENT_TYPE, COOKIE, HeaderName, HeaderValue, LOCATION, SET_COOKIE},
};
use serde_json::Value;

pub use accounts::Provisioned;
pub use csrf::Csrf;
pub use description::{AccountSource, Description, Encoding, SendToken};
pub use jar::Jar;
pub use template::Vars;
pub use views::{Account, Mismatch, Page, Record};

use crate::client::Target;

/// What a virtual user's requests carry to say who sends them: the login's header
/// (`Authorization: Bearer t`), the identity's own headers (`[headers]`, `-H`, templates filled),
/// and its cookie jar (a session login, CSRF), shared by the identity's tabs.
#[derive(Debug, Clone, Default)]
pub struct Credential {
    pub header: Option<(HeaderName, HeaderValue)>,
    pub headers: Arc<HeaderMap>,
    pub jar: Option<Arc<Jar>>,
}

impl Credential {
    /// When it expires (seconds since the Unix epoch), if the login's header holds a JWT that
    /// says so. A session (the jar's cookies) says nothing: its end shows as a refusal.
    pub fn expires_at(&self) -> Option<u64> {
        let (_, value) = self.header.as_ref()?;
        expiry::jwt_expiry(value.to_str().ok()?)
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
    /// A pre-login, register or login request: a CSRF token in its JSON answer is read
    /// (`csrf.json`).
    pub setup: bool,
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

    /// The identity's jar, when the description uses cookies.
    /// Whether it is sent as a logged-in identity (a login header or a jar), not a set-up one.
    pub fn logged_in(&self) -> bool {
        !self.setup
            && self
                .credential
                .as_ref()
                .is_some_and(|c| c.header.is_some() || c.jar.is_some())
    }

    pub fn jar(&self) -> Option<&Arc<Jar>> {
        self.credential.as_ref().and_then(|c| c.jar.as_ref())
    }

    /// The CSRF token this request carries now, and the rule saying where (unsafe methods only).
    fn csrf(&self) -> Option<(&Csrf, String)> {
        let jar = self.jar()?;
        let csrf = jar.csrf().filter(|csrf| csrf.applies_to(&self.method))?;
        Some((csrf, jar.token()?))
    }

    /// The headers this request adds to the target's, as of now: the identity's own headers, the
    /// login's header, the jar's cookies and the CSRF header.
    pub fn headers(&self) -> HeaderMap {
        let mut headers = HeaderMap::new();
        let Some(credential) = &self.credential else {
            return headers;
        };
        for (name, value) in credential.headers.iter() {
            headers.insert(name.clone(), value.clone());
        }
        if let Some((name, value)) = &credential.header {
            headers.insert(name.clone(), value.clone());
        }
        if let Some(cookies) = self.jar().and_then(|jar| jar.cookie_header()) {
            let value = match headers.get(COOKIE).and_then(|v| v.to_str().ok()) {
                Some(own) => {
                    HeaderValue::from_str(&format!("{own}; {}", cookies.to_str().unwrap_or("")))
                        .unwrap_or(cookies)
                }
                None => cookies,
            };
            headers.insert(COOKIE, value);
        }
        if let Some((csrf, token)) = self.csrf()
            && let csrf::Send::Header(name) = &csrf.send
            && let Ok(value) = HeaderValue::from_str(&token)
        {
            headers.insert(name.clone(), value);
        }
        headers
    }

    /// The body as sent now: with the CSRF token in its field when the rule says so (a form or a
    /// JSON object).
    pub fn sent_body(&self) -> Bytes {
        let Some((csrf, token)) = self.csrf() else {
            return self.body.clone();
        };
        let csrf::Send::Field(field) = &csrf.send else {
            return self.body.clone();
        };
        match self.content_type {
            Some("application/json") => {
                let mut value: Value =
                    serde_json::from_slice(&self.body).unwrap_or(Value::Object(Default::default()));
                if let Value::Object(map) = &mut value {
                    map.insert(field.clone(), Value::String(token));
                }
                serde_json::to_vec(&value).unwrap_or_default().into()
            }
            _ => {
                let pair = format!("{}={}", urlencode(field), urlencode(&token));
                if self.body.is_empty() {
                    Bytes::from(pair)
                } else {
                    let mut body = self.body.to_vec();
                    body.push(b'&');
                    body.extend_from_slice(pair.as_bytes());
                    Bytes::from(body)
                }
            }
        }
    }

    /// The hyper request for `target`: its headers (`Host`, `User-Agent`), then the identity's
    /// headers, the content type, the credential, the cookies and the CSRF token as of now.
    pub fn build(&self, target: &Target) -> Request<Full<Bytes>> {
        let uri: Uri = self
            .full_path(target)
            .parse()
            .unwrap_or_else(|_| Uri::from_static("/"));
        let mut request = Request::new(Full::new(self.sent_body()));
        *request.method_mut() = self.method.clone();
        *request.uri_mut() = uri;
        *request.headers_mut() = target.headers.clone();
        let own = self.headers();
        if let Some(content_type) = self.content_type
            && !own.contains_key(CONTENT_TYPE)
        {
            request
                .headers_mut()
                .insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
        }
        for (name, value) in own {
            if let Some(name) = name {
                request.headers_mut().insert(name, value);
            }
        }
        request
    }

    /// Reads an answer into the identity's jar (cookies, CSRF token), if it has one. Every
    /// transport calls it on every answer, redirects included.
    pub fn absorb(&self, headers: &HeaderMap, body: &[u8]) {
        if let Some(jar) = self.jar() {
            jar.absorb(headers, body, self.setup);
        }
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
    /// `[headers]`: names and value templates.
    headers: Vec<(HeaderName, String)>,
    csrf: Option<Arc<Csrf>>,
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
        let headers = description
            .headers
            .iter()
            .filter_map(|(name, value)| {
                let name = HeaderName::from_bytes(name.as_bytes()).ok()?;
                Some((name, value.as_str()?.to_owned()))
            })
            .collect();
        let csrf = description.csrf.compile()?.map(Arc::new);
        let provisioned = match (&description.accounts.source, &description.accounts.file) {
            (AccountSource::File, Some(path)) => accounts::load(path)?,
            _ => Vec::new(),
        };
        Ok(Self {
            item: description.item_template(),
            description,
            header,
            headers,
            csrf,
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

    /// Whether each identity keeps a cookie jar: a session login, CSRF, or a pre-login step.
    pub fn has_jar(&self) -> bool {
        self.description.login.send == SendToken::Cookie
            || self.csrf.is_some()
            || self.has_pre_login()
    }

    /// Whether a `GET` that sets cookies comes before register and login (`login.cookie-path`).
    pub fn has_pre_login(&self) -> bool {
        !self.description.login.cookie_path.is_empty()
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

    /// What an identity sends before it logs in: its own headers (`[headers]` filled from
    /// `vars`) and, when the description uses cookies, a new jar.
    pub fn base_credential(&self, vars: &Vars<'_>) -> Result<Credential, Mismatch> {
        let mut headers = HeaderMap::with_capacity(self.headers.len());
        for (name, template) in &self.headers {
            let value = HeaderValue::from_str(&vars.fill(template)).map_err(|_| {
                Mismatch::new(
                    format!("header {name} is not a valid header value once filled"),
                    "headers",
                )
            })?;
            headers.insert(name.clone(), value);
        }
        Ok(Credential {
            header: None,
            headers: Arc::new(headers),
            jar: self
                .has_jar()
                .then(|| Arc::new(Jar::new(self.csrf.clone()))),
        })
    }

    fn json(
        method: &str,
        path: String,
        body: &Value,
        credential: &Credential,
        path_setting: &'static str,
    ) -> ApiRequest {
        ApiRequest {
            method: method_of(method),
            path,
            body: serde_json::to_vec(body).unwrap_or_default().into(),
            content_type: Some("application/json"),
            credential: Some(credential.clone()),
            path_setting,
            absolute: false,
            setup: false,
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
            setup: false,
        }
    }

    /// The `GET` that sets cookies before register and login (`login.cookie-path`), if any.
    pub fn pre_login(&self, base: &Credential, vars: &Vars<'_>) -> Option<ApiRequest> {
        let path = &self.description.login.cookie_path;
        (!path.is_empty()).then(|| ApiRequest {
            setup: true,
            ..Self::bare("GET", vars.path(path), base, "login.cookie-path")
        })
    }

    pub fn register(&self, base: &Credential, vars: &Vars<'_>) -> ApiRequest {
        let a = &self.description.accounts;
        ApiRequest {
            setup: true,
            ..Self::json(
                &a.register_method,
                vars.path(&a.register_path),
                &vars.body(&a.register_body),
                base,
                "accounts.register-path",
            )
        }
    }

    pub fn login(&self, base: &Credential, vars: &Vars<'_>) -> ApiRequest {
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
                ApiRequest {
                    setup: true,
                    ..Self::json(&l.method, path, &body, base, "login.path")
                }
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
                    credential: Some(base.clone()),
                    path_setting: "login.path",
                    absolute: false,
                    setup: true,
                }
            }
        }
    }

    /// Remembers in the jar of `credential` how to log in again (`requests`: the pre-login and
    /// the login), for a session the server ends.
    pub fn keep_relogin(&self, credential: &Credential, requests: Vec<ApiRequest>) {
        if let Some(jar) = &credential.jar {
            let detached = requests
                .into_iter()
                .map(|mut request| {
                    if let Some(credential) = request.credential.as_mut() {
                        credential.jar = None;
                    }
                    request
                })
                .collect();
            jar.set_relogin(detached);
        }
    }

    /// Whether `status` and `body` say the session of `request`'s identity ended (401, Laravel's
    /// 419, or a 403 that names CSRF, a session or authentication) and it can log in again.
    pub fn session_ended(&self, request: &ApiRequest, status: u16, body: &[u8]) -> bool {
        let ended = match status {
            401 | 419 => true,
            403 => refusal::about(body).is_some(),
            _ => false,
        };
        ended && !request.setup && request.jar().is_some_and(|jar| jar.can_relogin())
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
            credential,
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
            credential,
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

    /// `base` with a ready token in the login header (`Authorization: Bearer t`).
    pub fn with_token(&self, base: &Credential, token: &str) -> Result<Credential, Mismatch> {
        let l = &self.description.login;
        let text = if l.scheme.is_empty() {
            token.to_owned()
        } else {
            format!("{} {token}", l.scheme)
        };
        let value = HeaderValue::from_str(&text)
            .map_err(|_| Mismatch::new("the token is not a valid header value", "login.token"))?;
        Ok(Credential {
            header: Some((self.header.clone(), value)),
            ..base.clone()
        })
    }

    /// A login answer: the credential to send from now on (`base` with the token, or `base`
    /// itself for a session: its jar read the answer's cookies), and the account id if it says it.
    pub fn logged_in(
        &self,
        base: &Credential,
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
                        // An answer that set a cookie instead is a session login.
                        let setting = if headers.contains_key(SET_COOKIE) {
                            "login.token, or login.send = \"cookie\" (the answer set a cookie: a session login)"
                        } else {
                            "login.token"
                        };
                        Mismatch::new(
                            format!("no token at `{}` in the login answer", l.token),
                            setting,
                        )
                    })?;
                let credential = self.with_token(base, &token)?;
                Ok((
                    credential,
                    Account {
                        id,
                        token: Some(token),
                    },
                ))
            }
            SendToken::Cookie => {
                if headers.get(SET_COOKIE).is_none() {
                    return Err(Mismatch::new(
                        "the login answer set no cookie",
                        "login.send",
                    ));
                }
                Ok((base.clone(), Account { id, token: None }))
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
        let credential = api.with_token(&Credential::default(), "t").unwrap();
        assert_eq!(
            credential.header.as_ref().map(|(_, value)| value),
            Some(&HeaderValue::from_static("Bearer t")),
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
        let base = Credential::default();
        let (credential, _) = drf
            .logged_in(&base, &HeaderMap::new(), br#"{"token":"abc"}"#)
            .unwrap();
        assert_eq!(
            credential.header.map(|(_, value)| value),
            Some(HeaderValue::from_static("Token abc")),
            "a token with a scheme keeps the scheme"
        );
        let missing = drf.logged_in(&base, &HeaderMap::new(), br#"{"key":"abc"}"#);
        assert_eq!(
            missing.unwrap_err().setting,
            "login.token",
            "a missing token names the setting login.token"
        );

        let session = api(&["login.send=cookie", "login.account-id=/user/id"]);
        let base = session.base_credential(&Vars::default()).unwrap();
        let mut headers = HeaderMap::new();
        headers.append(
            SET_COOKIE,
            HeaderValue::from_static("sid=1; Path=/; HttpOnly"),
        );
        headers.append(SET_COOKIE, HeaderValue::from_static("csrf=2"));
        let login = session.login(&base, &Vars::default());
        login.absorb(&headers, b"");
        let (credential, account) = session
            .logged_in(&base, &headers, br#"{"user":{"id":9}}"#)
            .unwrap();
        let read = session.read(&credential, &Vars::default()).build(&target());
        assert_eq!(
            read.headers()[COOKIE],
            "sid=1; csrf=2",
            "a session login sends every cookie the answers set, joined with ; "
        );
        assert_eq!(
            account.id,
            Some(Value::from(9)),
            "the account id is read from the login answer"
        );
        assert!(
            session.logged_in(&base, &HeaderMap::new(), b"{}").is_err(),
            "a cookie login answer without cookies is refused"
        );
    }

    #[test]
    fn csrf_goes_on_unsafe_requests_fresh_and_headers_are_filled_per_identity() {
        let api = api(&[
            "csrf=django",
            "login.send=cookie",
            "login.cookie-path=/api/csrf/",
            "headers.X-Tenant=t-{user}",
        ]);
        let vars = Vars {
            user: Some(3),
            ..Vars::default()
        };
        let base = api.base_credential(&vars).unwrap();
        let pre = api.pre_login(&base, &vars).expect("a pre-login step");
        assert_eq!(pre.method, Method::GET, "the pre-login step is a GET");
        let mut set = HeaderMap::new();
        set.append(
            SET_COOKIE,
            HeaderValue::from_static("csrftoken=one; Path=/"),
        );
        pre.absorb(&set, b"");
        let login = api.login(&base, &vars).build(&target());
        assert_eq!(
            (&login.headers()["x-csrftoken"], &login.headers()[COOKIE]),
            (
                &HeaderValue::from_static("one"),
                &HeaderValue::from_static("csrftoken=one")
            ),
            "the login carries the pre-login's cookie and its token"
        );
        assert_eq!(
            login.headers()["x-tenant"],
            "t-3",
            "a [headers] template is filled for the identity"
        );
        let mut rotated = HeaderMap::new();
        rotated.append(
            SET_COOKIE,
            HeaderValue::from_static("csrftoken=two; Path=/"),
        );
        rotated.append(SET_COOKIE, HeaderValue::from_static("sessionid=s; Path=/"));
        api.login(&base, &vars).absorb(&rotated, b"");
        let create = api.create(&base, &vars).build(&target());
        assert_eq!(
            create.headers()["x-csrftoken"],
            "two",
            "a token rotated at login is sent from the next request on"
        );
        assert!(
            !api.read(&base, &vars)
                .build(&target())
                .headers()
                .contains_key("x-csrftoken"),
            "a GET carries no CSRF token"
        );

        let field = api_with_field();
        let base = field.base_credential(&vars).unwrap();
        let mut set = HeaderMap::new();
        set.append(SET_COOKIE, HeaderValue::from_static("CSRF-TOKEN=f%2B1"));
        field.login(&base, &vars).absorb(&set, b"");
        assert_eq!(
            &field.login(&base, &vars).sent_body()[..],
            b"username=%7Bemail%7D&password=&authenticity_token=f%2B1",
            "a form field carries the decoded token, encoded again"
        );
    }

    fn api_with_field() -> Api {
        api(&[
            "csrf.preset=rails",
            "csrf.header=\"\"",
            "csrf.field=authenticity_token",
        ])
    }

    #[test]
    fn paging_can_ask_for_a_page_number_alone() {
        let drf = api(&[
            "records.paging={ size-param = \"\", size = 100, start-param = \"page\", start = 1 }",
        ]);
        assert_eq!(
            drf.list(&Credential::default(), &Vars::default()).path,
            "/cities?page=1",
            "a fixed server page size sends the page number only"
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
