//! Passwords and access tokens.
//!
//! - Passwords are stored as salted SHA-256 (`sha256(salt || password)`, 16 random salt bytes per
//!   user) and compared in constant time. A fast hash is deliberate: this is a mock server for load
//!   tests, and a slow KDF such as argon2 would make `register`/`token` the bottleneck of every run.
//!   Never reuse it for real passwords.
//! - Access tokens are JWT HS256 with `sub` = user id, `iat` and `exp`. Only HS256 is accepted, so a
//!   token signed with `alg: none` or another algorithm is rejected, as are tampered and expired ones.
//! - [`AuthUser`] is the extractor that turns `Authorization: Bearer <jwt>` into a user id; a handler
//!   that takes it is scoped to that user by its signature.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::{
    extract::{FromRef, FromRequestParts},
    http::{header::AUTHORIZATION, request::Parts},
};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation, errors::ErrorKind};
use rand::RngCore;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use uuid::Uuid;

use crate::{error::ApiError, state::AppState};

/// A salted password hash.
#[derive(Clone)]
pub struct PasswordHash {
    salt: [u8; 16],
    digest: [u8; 32],
}

impl std::fmt::Debug for PasswordHash {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PasswordHash(..)")
    }
}

impl PasswordHash {
    /// Hashes `password` with a fresh random salt.
    pub fn new(password: &str) -> Self {
        let mut salt = [0u8; 16];
        rand::rng().fill_bytes(&mut salt);
        Self {
            salt,
            digest: digest(&salt, password),
        }
    }

    /// Whether `password` matches, in constant time.
    pub fn verify(&self, password: &str) -> bool {
        digest(&self.salt, password).ct_eq(&self.digest).into()
    }
}

fn digest(salt: &[u8; 16], password: &str) -> [u8; 32] {
    let mut hasher = Sha256::new();
    hasher.update(salt);
    hasher.update(password.as_bytes());
    hasher.finalize().into()
}

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
        let data = jsonwebtoken::decode::<Claims>(token, &self.decoding, &self.validation)
            .map_err(|e| match e.kind() {
                ErrorKind::ExpiredSignature => ApiError::ExpiredToken,
                _ => ApiError::InvalidToken,
            })?;
        Uuid::parse_str(&data.claims.sub).map_err(|_| ApiError::InvalidToken)
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

impl<S> FromRequestParts<S> for AuthUser
where
    AppState: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let state = AppState::from_ref(state);
        let token = bearer_token(parts).ok_or(ApiError::MissingToken)?;
        let id = state.tokens.verify(token)?;
        // A token outlives a `POST /__admin/reset`; its user does not.
        if !state.store.user_exists(id) {
            return Err(ApiError::InvalidToken);
        }
        if let Some(slot) = parts.extensions.get::<crate::requests::UserSlot>() {
            let _ = slot.0.set(id);
        }
        Ok(Self { id })
    }
}

/// The token of an `Authorization: Bearer <token>` header (scheme case-insensitive).
pub fn bearer_token(parts: &Parts) -> Option<&str> {
    let value = parts.headers.get(AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then_some(token)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_verify_only_with_the_right_secret_and_salts_differ() {
        let first = PasswordHash::new("abcdefghi");
        let second = PasswordHash::new("abcdefghi");
        assert!(first.verify("abcdefghi"));
        assert!(!first.verify("abcdefgh"));
        assert_ne!(first.salt, second.salt);
        assert_ne!(first.digest, second.digest);
    }

    #[test]
    fn a_token_round_trips_and_a_foreign_one_is_refused() {
        let tokens = Tokens::new(Some("secret-one"), Duration::from_secs(60));
        let other = Tokens::new(Some("secret-two"), Duration::from_secs(60));
        let user = Uuid::new_v4();
        let token = tokens.issue(user).unwrap();
        assert_eq!(tokens.verify(&token).unwrap(), user);
        assert!(matches!(other.verify(&token), Err(ApiError::InvalidToken)));
    }
}
