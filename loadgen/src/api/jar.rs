//! One identity's cookie jar and CSRF token, shared by its tabs (like a browser's), read again
//! after every answer: a `Set-Cookie` adds, replaces or (expired, `Max-Age=0`) removes a cookie,
//! and the CSRF token follows its source ([`super::csrf`]), so a token the server rotates (Django
//! at login) is sent fresh from the next request on. It also keeps how to log in again
//! ([`Jar::relogin`]), for a session the server ended.
//!
//! The target is one origin, so every cookie goes with every request (`Domain`, `Path` and
//! `Secure` are not checked). Locking rule: the state's mutex is held only to copy in or out,
//! never across an `.await`.

use std::sync::{Arc, Mutex, MutexGuard};

use hyper::{
    HeaderMap,
    header::{HeaderValue, SET_COOKIE},
};
use serde_json::Value;
use time::{OffsetDateTime, format_description::well_known::Rfc2822};

use super::{
    ApiRequest,
    csrf::{Csrf, Source},
    template,
};

/// The jar of one identity.
#[derive(Debug, Default)]
pub struct Jar {
    csrf: Option<Arc<Csrf>>,
    state: Mutex<State>,
}

#[derive(Debug, Default)]
struct State {
    /// Name and value, in the order first set.
    cookies: Vec<(String, String)>,
    /// The CSRF token from a response header or a JSON answer (a cookie source reads `cookies`).
    token: Option<String>,
    /// Bumped when the session is established again, so tabs that saw one refusal log in once.
    generation: u64,
    /// The requests that log this identity in again (pre-login, login), without a jar.
    relogin: Vec<ApiRequest>,
}

impl Jar {
    pub fn new(csrf: Option<Arc<Csrf>>) -> Self {
        Self {
            csrf,
            state: Mutex::default(),
        }
    }

    fn state(&self) -> MutexGuard<'_, State> {
        // A panic elsewhere never leaves the jar half-written: every update is one assignment.
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    pub fn csrf(&self) -> Option<&Csrf> {
        self.csrf.as_deref()
    }

    /// `name=value; name2=value2`, `None` while empty.
    pub fn cookie_header(&self) -> Option<HeaderValue> {
        let state = self.state();
        if state.cookies.is_empty() {
            return None;
        }
        let text = state
            .cookies
            .iter()
            .map(|(name, value)| format!("{name}={value}"))
            .collect::<Vec<_>>()
            .join("; ");
        HeaderValue::from_str(&text).ok()
    }

    /// The CSRF token to send, if one is known.
    pub fn token(&self) -> Option<String> {
        let csrf = self.csrf.as_deref()?;
        let state = self.state();
        match &csrf.source {
            Source::Cookie(name) => state
                .cookies
                .iter()
                .find(|(cookie, _)| cookie == name)
                .map(|(_, value)| percent_decode(value)),
            Source::Header(_) | Source::Json(_) => state.token.clone(),
        }
    }

    /// Reads an answer: its `Set-Cookie` headers, and the CSRF token from a response header or
    /// (when `setup`: a pre-login, register or login answer) a JSON field.
    pub fn absorb(&self, headers: &HeaderMap, body: &[u8], setup: bool) {
        let set: Vec<SetCookie> = headers
            .get_all(SET_COOKIE)
            .iter()
            .filter_map(|value| value.to_str().ok())
            .filter_map(SetCookie::parse)
            .collect();
        let token = match self.csrf.as_deref().map(|csrf| &csrf.source) {
            Some(Source::Header(name)) => headers
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned),
            Some(Source::Json(pointer)) if setup => serde_json::from_slice::<Value>(body)
                .ok()
                .and_then(|v| v.pointer(pointer).and_then(template::scalar)),
            _ => None,
        };
        if set.is_empty() && token.is_none() {
            return;
        }
        let mut state = self.state();
        for cookie in set {
            let at = state
                .cookies
                .iter()
                .position(|(name, _)| *name == cookie.name);
            match (at, cookie.expired) {
                (Some(at), true) => {
                    state.cookies.remove(at);
                }
                (Some(at), false) => state.cookies[at].1 = cookie.value,
                (None, false) => state.cookies.push((cookie.name, cookie.value)),
                (None, true) => {}
            }
        }
        if token.is_some() {
            state.token = token;
        }
    }

    /// Whether any cookie is held.
    pub fn has_cookies(&self) -> bool {
        !self.state().cookies.is_empty()
    }

    /// How many times the session was established again.
    pub fn generation(&self) -> u64 {
        self.state().generation
    }

    /// Starts over for a new login: no cookie, no token; the generation moves on.
    pub fn clear(&self) {
        let generation = self.generation();
        self.clear_if(generation);
    }

    /// [`Jar::clear`] unless the generation moved on since `generation` (another tab of the
    /// identity logged in again meanwhile); whether it cleared.
    pub fn clear_if(&self, generation: u64) -> bool {
        let mut state = self.state();
        if state.generation != generation {
            return false;
        }
        state.cookies.clear();
        state.token = None;
        state.generation += 1;
        true
    }

    /// Whether it knows how to log in again.
    pub fn can_relogin(&self) -> bool {
        !self.state().relogin.is_empty()
    }

    /// Keeps the requests that log this identity in again.
    pub fn set_relogin(&self, requests: Vec<ApiRequest>) {
        self.state().relogin = requests;
    }

    /// The requests that log this identity in again, each carrying this jar.
    pub fn relogin(self: &Arc<Self>) -> Vec<ApiRequest> {
        let requests = self.state().relogin.clone();
        requests
            .into_iter()
            .map(|mut request| {
                if let Some(credential) = request.credential.as_mut() {
                    credential.jar = Some(self.clone());
                }
                request
            })
            .collect()
    }
}

/// One `Set-Cookie` header, as far as a jar for one origin needs it.
#[derive(Debug, PartialEq, Eq)]
struct SetCookie {
    name: String,
    value: String,
    /// `Max-Age` of 0 or less, or `Expires` in the past: the cookie is removed.
    expired: bool,
}

impl SetCookie {
    fn parse(text: &str) -> Option<SetCookie> {
        let mut parts = text.split(';');
        let (name, value) = parts.next()?.split_once('=')?;
        let name = name.trim();
        if name.is_empty() {
            return None;
        }
        let value = value.trim().trim_matches('"');
        let mut expired = false;
        let mut max_age = None;
        for attribute in parts {
            let (key, argument) = attribute.split_once('=').unwrap_or((attribute, ""));
            let (key, argument) = (key.trim(), argument.trim());
            if key.eq_ignore_ascii_case("max-age") {
                max_age = argument.parse::<i64>().ok();
            } else if key.eq_ignore_ascii_case("expires")
                && let Ok(at) = OffsetDateTime::parse(argument, &Rfc2822)
            {
                expired = at <= OffsetDateTime::now_utc();
            }
        }
        // `Max-Age` wins over `Expires` (RFC 6265 5.3).
        if let Some(max_age) = max_age {
            expired = max_age <= 0;
        }
        Some(SetCookie {
            name: name.to_owned(),
            value: value.to_owned(),
            expired,
        })
    }
}

/// `%XX` decoded (a broken escape is kept as it is), as browsers' CSRF helpers read a cookie.
fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let escaped = (bytes[i] == b'%')
            .then(|| bytes.get(i + 1..i + 3))
            .flatten()
            .and_then(|hex| u8::from_str_radix(std::str::from_utf8(hex).ok()?, 16).ok());
        match escaped {
            Some(byte) => {
                out.push(byte);
                i += 3;
            }
            None => {
                out.push(bytes[i]);
                i += 1;
            }
        }
    }
    String::from_utf8(out).unwrap_or_else(|_| text.to_owned())
}

#[cfg(test)]
mod tests {
    use hyper::header::HeaderName;

    use super::*;
    use crate::api::csrf::{CsrfKeys, Preset};

    fn answer(cookies: &[&str]) -> HeaderMap {
        let mut headers = HeaderMap::new();
        for cookie in cookies {
            headers.append(SET_COOKIE, HeaderValue::from_str(cookie).unwrap());
        }
        headers
    }

    fn django() -> Jar {
        let keys = CsrfKeys {
            preset: Some(Preset::Django),
            ..CsrfKeys::default()
        };
        Jar::new(keys.compile().unwrap().map(Arc::new))
    }

    #[test]
    fn cookies_are_set_replaced_and_removed_and_the_token_follows_its_cookie() {
        let jar = django();
        assert!(jar.cookie_header().is_none(), "a new jar sends no cookie");
        jar.absorb(&answer(&["csrftoken=a1; Path=/; SameSite=Lax"]), b"", true);
        assert_eq!(
            jar.token().as_deref(),
            Some("a1"),
            "the token is the cookie's value"
        );
        jar.absorb(
            &answer(&["sessionid=s1; HttpOnly; Path=/", "csrftoken=b2; Path=/"]),
            b"",
            true,
        );
        assert_eq!(
            jar.cookie_header().unwrap(),
            "csrftoken=b2; sessionid=s1",
            "a rotated token replaces the old one in place, the session cookie joins"
        );
        assert_eq!(
            jar.token().as_deref(),
            Some("b2"),
            "the rotated token is sent from now on"
        );
        jar.absorb(
            &answer(&["sessionid=\"\"; expires=Thu, 01 Jan 1970 00:00:00 GMT; Max-Age=0; Path=/"]),
            b"",
            false,
        );
        assert_eq!(
            jar.cookie_header().unwrap(),
            "csrftoken=b2",
            "an expired cookie (Django's logout) is removed"
        );
        jar.absorb(
            &answer(&["csrftoken=old; expires=Thu, 01 Jan 1970 00:00:00 GMT"]),
            b"",
            false,
        );
        assert!(
            !jar.has_cookies(),
            "an Expires in the past removes the cookie too"
        );
    }

    #[test]
    fn tokens_come_from_a_header_or_a_setup_answer_and_are_decoded() {
        let laravel = Jar::new(
            CsrfKeys {
                preset: Some(Preset::Laravel),
                ..CsrfKeys::default()
            }
            .compile()
            .unwrap()
            .map(Arc::new),
        );
        laravel.absorb(&answer(&["XSRF-TOKEN=eyJ%3D%3D; Path=/"]), b"", true);
        assert_eq!(
            laravel.token().as_deref(),
            Some("eyJ=="),
            "an URL-encoded cookie is decoded before it is sent back"
        );

        let json = Jar::new(Some(Arc::new(Csrf {
            source: Source::Json("/token".into()),
            send: crate::api::csrf::Send::Field("_csrf".into()),
            methods: vec![hyper::Method::POST],
        })));
        json.absorb(&HeaderMap::new(), br#"{"token":"j1"}"#, false);
        assert_eq!(
            json.token(),
            None,
            "a JSON token is read from set-up answers only"
        );
        json.absorb(&HeaderMap::new(), br#"{"token":"j1"}"#, true);
        assert_eq!(
            json.token().as_deref(),
            Some("j1"),
            "a set-up answer gives the token"
        );

        let header = Jar::new(Some(Arc::new(Csrf {
            source: Source::Header(HeaderName::from_static("x-csrf-token")),
            send: crate::api::csrf::Send::Header(HeaderName::from_static("x-csrf-token")),
            methods: vec![hyper::Method::POST],
        })));
        let mut headers = HeaderMap::new();
        headers.insert("x-csrf-token", HeaderValue::from_static("h1"));
        header.absorb(&headers, b"", false);
        assert_eq!(
            header.token().as_deref(),
            Some("h1"),
            "any answer's header gives the token"
        );
    }

    #[test]
    fn clearing_starts_a_new_generation() {
        let jar = django();
        jar.absorb(&answer(&["csrftoken=a"]), b"", true);
        jar.clear();
        assert!(
            !jar.has_cookies() && jar.token().is_none(),
            "a cleared jar holds nothing"
        );
        assert_eq!(jar.generation(), 1, "each clear is a new generation");
    }
}
