//! Passwords and access tokens.
//!
//! - Passwords: [`PasswordHash`] lives in `password.rs`, below the store that keeps it.
//! - Access tokens are JWT HS256 with `sub` = user id, `iat` and `exp`. Only HS256 is accepted, so a
//!   token signed with `alg: none` or another algorithm is rejected, as are tampered and expired ones.
//! - [`AuthUser`] is the extractor that turns `Authorization: Bearer <jwt>` into a user id; a handler
//!   that takes it is scoped to that user by its signature. A connection remembers the last token
//!   it verified ([`VerifiedToken`]), so a kept-alive client's token is checked for its signature
//!   once and for its expiry on every request.

use std::{
    sync::{Arc, Mutex, PoisonError},
    time::{Duration, SystemTime, UNIX_EPOCH},
};

use axum::{
    extract::FromRequestParts,
    http::{header::AUTHORIZATION, request::Parts},
};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation, errors::ErrorKind};
use rand::RngCore;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::{error::ApiError, requests::UserSlot, store::Store};

/// The JWT claims the server issues and accepts.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Claims {
    /// The user id.
    pub sub: String,
    /// Issued-at; optional on the way in, always set on the tokens this server issues.
    #[serde(default)]
    pub iat: u64,
    pub exp: u64,
}

/// Signing and checking keys, built once from the configured (or random) secret.
#[derive(Clone)]
pub struct Tokens {
    encoding: EncodingKey,
    decoding: DecodingKey,
    validation: Validation,
    ttl: Duration,
}

impl std::fmt::Debug for Tokens {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tokens")
            .field("ttl", &self.ttl)
            .finish_non_exhaustive()
    }
}

impl Tokens {
    /// Keys for `secret`, or for 32 random bytes when none is given.
    pub fn new(secret: Option<&str>, ttl: Duration) -> Self {
        let secret: Vec<u8> = match secret {
            Some(secret) => secret.as_bytes().to_vec(),
            None => {
                let mut bytes = vec![0u8; 32];
                rand::rng().fill_bytes(&mut bytes);
                bytes
            }
        };
        let mut validation = Validation::new(Algorithm::HS256);
        validation.leeway = 0;
        validation.set_required_spec_claims(&["exp", "sub"]);
        Self {
            encoding: EncodingKey::from_secret(&secret),
            decoding: DecodingKey::from_secret(&secret),
            validation,
            ttl,
        }
    }

    pub fn ttl(&self) -> Duration {
        self.ttl
    }

    /// Issues a token for `user`.
    pub fn issue(&self, user: Uuid) -> Result<String, ApiError> {
        let now = unix_now();
        let claims = Claims {
            sub: user.to_string(),
            iat: now,
            exp: now + self.ttl.as_secs(),
        };
        jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &self.encoding)
            .map_err(|e| ApiError::Internal(e.into()))
    }

    /// Checks a token's signature, algorithm and expiry and returns its user id.
    pub fn verify(&self, token: &str) -> Result<Uuid, ApiError> {
        self.verify_claims(token).map(|(user, _)| user)
    }

    /// [`Tokens::verify`], also returning the token's `exp`.
    fn verify_claims(&self, token: &str) -> Result<(Uuid, u64), ApiError> {
        let data = jsonwebtoken::decode::<Claims>(token, &self.decoding, &self.validation)
            .map_err(|e| match e.kind() {
                ErrorKind::ExpiredSignature => ApiError::ExpiredToken,
                _ => ApiError::InvalidToken,
            })?;
        let user = Uuid::parse_str(&data.claims.sub).map_err(|_| ApiError::InvalidToken)?;
        Ok((user, data.claims.exp))
    }
}

/// The last bearer token verified on one connection, so that the requests after the first skip
/// the signature check: an HMAC-SHA256 and two JSON parses, about 38,000 instructions, more than
/// a whole `GET /json`. A load-test user sends the same token on its kept-alive connection
/// every time.
///
/// Exact, not a shortcut: the keys never change while the server runs, so a token that verified
/// once verifies again until it expires, and the expiry is checked on every request, as
/// `jsonwebtoken` checks it (`exp < now` is expired, no leeway). Whether the user still exists is
/// the extractor's check, made every time. One entry per connection, so it is bounded and shared
/// with no one: the plain (not constant-time) comparison can only tell a client about a token
/// it sent itself on the same connection. The serving layer hands it to requests that carry
/// `Authorization`; without it (`oneshot` tests) every token is verified.
#[derive(Debug, Clone, Default)]
pub struct VerifiedToken(Arc<Mutex<Option<Verified>>>);

#[derive(Debug)]
struct Verified {
    token: Box<str>,
    user: Uuid,
    exp: u64,
}

impl VerifiedToken {
    /// The user `token` names: from the last verified token if it is the same one and not
    /// expired, otherwise verified by `tokens` (and remembered when valid).
    pub fn verify(&self, tokens: &Tokens, token: &str) -> Result<Uuid, ApiError> {
        let mut last = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(known) = last.as_ref().filter(|known| *known.token == *token) {
            return if known.exp < unix_now() {
                Err(ApiError::ExpiredToken)
            } else {
                Ok(known.user)
            };
        }
        let (user, exp) = tokens.verify_claims(token)?;
        *last = Some(Verified {
            token: token.into(),
            user,
            exp,
        });
        Ok(user)
    }
}

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or_default()
}

/// The user a request's bearer token names, after checking the token and that the user exists.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AuthUser {
    pub id: Uuid,
}

/// What the [`AuthUser`] extractor reads, borrowed from the router's state (nothing is cloned per
/// request): the keys that verify a token and the store that says whether its user still exists.
/// The app's state implements it; this module knows nothing else of that state.
pub trait AuthState: Send + Sync {
    fn tokens(&self) -> &Tokens;
    fn store(&self) -> &Store;

    /// A request was authenticated as `user` (a fault may remember it).
    fn authenticated(&self, _user: Uuid) {}

    /// A request's token was refused with `error`: the refusal, or (a fault's bug) a user to
    /// serve it as anyway.
    fn unauthenticated(&self, error: ApiError) -> Result<Uuid, ApiError> {
        Err(error)
    }
}

impl<S: AuthState> FromRequestParts<S> for AuthUser {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let id = match token_user(parts, state) {
            Ok(id) => {
                state.authenticated(id);
                id
            }
            Err(ApiError::AmbiguousCredentials) => return Err(ApiError::AmbiguousCredentials),
            Err(refused) => state.unauthenticated(refused)?,
        };
        if let Some(slot) = parts.extensions.get::<UserSlot>() {
            let _ = slot.0.set(id);
        }
        Ok(Self { id })
    }
}

/// The user of the request's bearer token, verified, or why there is none.
fn token_user<S: AuthState>(parts: &Parts, state: &S) -> Result<Uuid, ApiError> {
    let token = bearer_token(parts)?.ok_or(ApiError::MissingToken)?;
    let id = match parts.extensions.get::<VerifiedToken>() {
        Some(verified) => verified.verify(state.tokens(), token)?,
        None => state.tokens().verify(token)?,
    };
    // A token outlives a `POST /__admin/reset`; its user does not.
    if !state.store().user_exists(id) {
        return Err(ApiError::InvalidToken);
    }
    Ok(id)
}

/// The token of an `Authorization: Bearer <token>` header (scheme case-insensitive); `None`
/// without one. Two `Authorization` headers are ambiguous credentials and refused (400) whatever
/// they hold: taking the first would let a proxy that checks the last one disagree with us.
pub fn bearer_token(parts: &Parts) -> Result<Option<&str>, ApiError> {
    let mut values = parts.headers.get_all(AUTHORIZATION).iter();
    let Some(value) = values.next() else {
        return Ok(None);
    };
    if values.next().is_some() {
        return Err(ApiError::AmbiguousCredentials);
    }
    let token = value
        .to_str()
        .ok()
        .and_then(|value| value.split_once(' '))
        .map(|(scheme, token)| (scheme, token.trim()))
        .filter(|(scheme, token)| scheme.eq_ignore_ascii_case("bearer") && !token.is_empty())
        .map(|(_, token)| token);
    Ok(token)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_connection_verifies_a_new_token_and_remembers_only_a_valid_one() {
        let tokens = Tokens::new(Some("secret-one"), Duration::from_secs(60));
        let other = Tokens::new(Some("secret-two"), Duration::from_secs(60));
        let verified = VerifiedToken::default();
        let user = Uuid::new_v4();
        let token = tokens.issue(user).unwrap();
        assert_eq!(verified.verify(&tokens, &token).unwrap(), user, "first use");
        assert_eq!(
            verified.verify(&tokens, &token).unwrap(),
            user,
            "remembered"
        );
        let foreign = other.issue(user).unwrap();
        assert!(
            matches!(
                verified.verify(&tokens, &foreign),
                Err(ApiError::InvalidToken)
            ),
            "a different token on the same connection is verified, not taken from memory"
        );
        let tampered = format!("{token}x");
        assert!(
            matches!(
                verified.verify(&tokens, &tampered),
                Err(ApiError::InvalidToken)
            ),
            "a token extending the remembered one is not it"
        );
        assert_eq!(
            verified.verify(&tokens, &token).unwrap(),
            user,
            "a refused token does not replace the remembered one"
        );
    }

    #[test]
    fn a_remembered_token_is_refused_once_it_expires() {
        let tokens = Tokens::new(Some("secret-one"), Duration::from_secs(60));
        let verified = VerifiedToken::default();
        let user = Uuid::new_v4();
        // What the connection holds after verifying a token whose `exp` has since passed.
        *verified.0.lock().unwrap() = Some(Verified {
            token: "remembered".into(),
            user,
            exp: unix_now() - 1,
        });
        assert!(
            matches!(
                verified.verify(&tokens, "remembered"),
                Err(ApiError::ExpiredToken)
            ),
            "the expiry is checked on every request, remembered or not"
        );
        verified.0.lock().unwrap().as_mut().unwrap().exp = unix_now() + 60;
        assert_eq!(
            verified.verify(&tokens, "remembered").unwrap(),
            user,
            "an unexpired remembered token needs no signature check"
        );
    }

    #[test]
    fn a_token_round_trips_and_a_foreign_one_is_refused() {
        let tokens = Tokens::new(Some("secret-one"), Duration::from_secs(60));
        let other = Tokens::new(Some("secret-two"), Duration::from_secs(60));
        let user = Uuid::new_v4();
        let token = tokens.issue(user).unwrap();
        assert_eq!(
            tokens.verify(&token).unwrap(),
            user,
            "a token verifies with the keys that issued it and names its user"
        );
        assert!(
            matches!(other.verify(&token), Err(ApiError::InvalidToken)),
            "a token signed with another secret is invalid: {:?}",
            other.verify(&token)
        );
    }
}
