//! Credentials that must be refused, for the `anonymous` check: none at all (no login header, no
//! cookies), a malformed token, and a token of the right shape that the server never issued (a
//! JWT's claims re-signed with a random HS256 key; an opaque token's characters replaced at
//! random, class for class). The identity's own headers (`[headers]`, `-H`) are kept: they say
//! nothing of who logged in.

use std::sync::Arc;

use base64::{Engine as _, engine::general_purpose::URL_SAFE_NO_PAD};
use hyper::header::{COOKIE, HeaderValue};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use rand::Rng as _;
use serde_json::Value;

use super::Credential;

/// Which credential an anonymous request carries instead of the user's own.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Forged {
    /// No login header and no cookies.
    None,
    /// The login header with a token that is no token.
    Malformed,
    /// A token of the same shape signed by another key (or, opaque, made up).
    Foreign,
}

impl Forged {
    pub const ALL: [Forged; 3] = [Forged::None, Forged::Malformed, Forged::Foreign];

    /// How evidence names the variant.
    pub fn as_str(self) -> &'static str {
        match self {
            Forged::None => "no credentials",
            Forged::Malformed => "a malformed token",
            Forged::Foreign => "a token signed by another key",
        }
    }

    /// `credential` with this variant in place of its login; `None` when the variant does not
    /// apply (a session login has no token to malform: only "no cookies" applies).
    pub fn apply(self, credential: &Credential) -> Option<Credential> {
        let bare = Credential {
            header: None,
            headers: Arc::clone(&credential.headers),
            jar: None,
        };
        if self == Forged::None {
            return Some(bare);
        }
        let (name, value) = credential.header.as_ref()?;
        let value = value.to_str().ok()?;
        // Where the token sits: after the scheme (`Bearer t`), a cookie's `name=`, or alone.
        let split = if *name == COOKIE {
            value.find('=').map(|at| at + 1)
        } else {
            value.rfind(' ').map(|at| at + 1)
        }
        .unwrap_or(0);
        let (prefix, token) = value.split_at(split);
        let token = match self {
            Forged::None => unreachable!("handled above"),
            Forged::Malformed => "not-a-token!".to_owned(),
            Forged::Foreign => foreign(token),
        };
        let value = HeaderValue::from_str(&format!("{prefix}{token}")).ok()?;
        Some(Credential {
            header: Some((name.clone(), value)),
            ..bare
        })
    }
}

/// A token the server never issued, shaped like `token`: a JWT's claims re-signed with a random
/// HS256 key, else the same characters' classes filled at random.
pub fn foreign(token: &str) -> String {
    resigned(token).unwrap_or_else(|| same_shape(token))
}

/// The claims of JWT `token`, signed with a fresh random key; `None` when it is no JWT.
fn resigned(token: &str) -> Option<String> {
    let mut parts = token.split('.');
    let (_, payload, _) = (parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some() {
        return None;
    }
    let claims: Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).ok()?).ok()?;
    let key: [u8; 32] = rand::random();
    jsonwebtoken::encode(
        &Header::new(Algorithm::HS256),
        &claims,
        &EncodingKey::from_secret(&key),
    )
    .ok()
}

/// `token` with each letter and digit replaced by a random one of its class (separators kept).
fn same_shape(token: &str) -> String {
    let mut rng = rand::rng();
    let mut pick = |from: &[u8]| char::from(from[rng.random_range(0..from.len())]);
    let made: String = token
        .chars()
        .map(|c| match c {
            '0'..='9' => pick(b"0123456789"),
            'a'..='f' if token.chars().all(|c| c.is_ascii_hexdigit() || c == '-') => {
                pick(b"0123456789abcdef")
            }
            'a'..='z' => pick(b"abcdefghijklmnopqrstuvwxyz"),
            'A'..='Z' => pick(b"ABCDEFGHIJKLMNOPQRSTUVWXYZ"),
            other => other,
        })
        .collect();
    if made == token {
        // A token without letters or digits (or an astronomically unlucky draw): still another.
        format!("{made}x")
    } else {
        made
    }
}

#[cfg(test)]
mod tests {
    use hyper::header::{AUTHORIZATION, HeaderMap, HeaderName};

    use super::*;

    fn jwt(claims: &str) -> String {
        let encode = |text: &str| URL_SAFE_NO_PAD.encode(text);
        format!(
            "{}.{}.c2lnbmF0dXJl",
            encode(r#"{"alg":"HS256","typ":"JWT"}"#),
            encode(claims)
        )
    }

    fn with_header(name: HeaderName, value: &str) -> Credential {
        let mut headers = HeaderMap::new();
        headers.insert("x-tenant", HeaderValue::from_static("t1"));
        Credential {
            header: Some((name, HeaderValue::from_str(value).unwrap())),
            headers: Arc::new(headers),
            jar: None,
        }
    }

    fn header_text(credential: &Credential) -> String {
        let (_, value) = credential.header.as_ref().expect("a header");
        value.to_str().unwrap().to_owned()
    }

    #[test]
    fn no_credentials_drops_the_login_and_keeps_the_identitys_own_headers() {
        let own = with_header(AUTHORIZATION, "Bearer abc");
        let none = Forged::None.apply(&own).expect("always applies");
        assert!(none.header.is_none(), "no login header");
        assert!(none.jar.is_none(), "no cookies");
        assert_eq!(none.headers.len(), 1, "the [headers] stay");
    }

    #[test]
    fn a_malformed_token_keeps_the_scheme() {
        let own = with_header(AUTHORIZATION, "Bearer abc");
        let malformed = Forged::Malformed.apply(&own).expect("a header to malform");
        assert_eq!(
            header_text(&malformed),
            "Bearer not-a-token!",
            "scheme kept"
        );
    }

    #[test]
    fn a_foreign_jwt_has_the_same_claims_and_another_signature() {
        let token = jwt(r#"{"sub":"u1","exp":1700000000}"#);
        let own = with_header(AUTHORIZATION, &format!("Bearer {token}"));
        let forged = header_text(&Forged::Foreign.apply(&own).expect("a header"));
        let forged = forged.strip_prefix("Bearer ").expect("scheme kept");
        assert_ne!(forged, token, "another token");
        let payload = forged.split('.').nth(1).expect("three parts");
        let claims: Value =
            serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).unwrap()).expect("JSON claims");
        assert_eq!(
            claims,
            serde_json::json!({"sub": "u1", "exp": 1_700_000_000}),
            "the same claims"
        );
        assert_ne!(
            forged.rsplit('.').next(),
            token.rsplit('.').next(),
            "another signature"
        );
    }

    #[test]
    fn a_foreign_opaque_token_has_the_same_shape() {
        let own = with_header(AUTHORIZATION, "Token 9f8e7d6c5b4a");
        let forged = header_text(&Forged::Foreign.apply(&own).expect("a header"));
        let token = forged.strip_prefix("Token ").expect("scheme kept");
        assert_eq!(token.len(), 12, "same length");
        assert!(
            token.chars().all(|c| c.is_ascii_hexdigit()),
            "hex stays hex: {token}"
        );
        assert_ne!(token, "9f8e7d6c5b4a", "another token");
        let cookie = with_header(COOKIE, "session=AbC-12");
        let forged = header_text(&Forged::Foreign.apply(&cookie).expect("a header"));
        assert!(forged.starts_with("session="), "cookie name kept: {forged}");
        assert_eq!(forged.len(), "session=AbC-12".len(), "same length");
    }

    #[test]
    fn a_session_login_only_goes_without_cookies() {
        let session = Credential::default();
        assert!(Forged::None.apply(&session).is_some(), "no cookies applies");
        assert!(
            Forged::Malformed.apply(&session).is_none()
                && Forged::Foreign.apply(&session).is_none(),
            "no token to forge"
        );
    }
}
