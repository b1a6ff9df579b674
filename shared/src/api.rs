//! Bodies of the public API: the `/json` greeting, register / token auth, and cities.
//!
//! Field names follow the second article's FastAPI app so that its Locust client works unchanged.

use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

/// `GET`/`POST /json` answer: `{"code": 1, "message": "Hello, World!"}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Greeting {
    pub code: i64,
    pub message: String,
}

/// The wrapper of every successful API answer: `{"data": ...}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Envelope<T> {
    pub data: T,
}

impl<T> Envelope<T> {
    pub fn new(data: T) -> Self {
        Self { data }
    }
}

/// `POST /auth/register` body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct RegisterRequest {
    /// An email address with a dotted domain; unique (case-insensitive).
    #[schema(format = Email)]
    pub email: String,
    /// 8 to 1024 characters.
    #[schema(min_length = 8, max_length = 1024)]
    pub password: String,
}

/// A registered account as the API shows it (never the password).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct UserOut {
    pub id: String,
    pub email: String,
}

/// `POST /auth/token` body: the OAuth2 password grant, `username` being the email.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct TokenRequest {
    pub username: String,
    pub password: String,
}

/// `POST /auth/token` answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct TokenResponse {
    pub access_token: String,
    /// Always `bearer`.
    pub token_type: String,
    /// Seconds until the token expires.
    pub expires_in: u64,
}

/// `POST /cities` and `PUT /cities/{id}` body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct CityIn {
    /// 1 to 200 characters, not only whitespace.
    #[schema(min_length = 1, max_length = 200)]
    pub name: String,
}

/// A city as the API shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct City {
    /// A UUID, or a sequential number while the `racy-id` fault is on.
    pub id: String,
    pub name: String,
    /// RFC 3339 creation time.
    #[schema(format = DateTime)]
    pub created_at: String,
}

/// `GET /cities` query: a page of the caller's own cities, oldest first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct Page {
    /// Page size, 1 to 1000 [default: 100].
    #[serde(default = "Page::default_limit")]
    #[param(minimum = 1, maximum = 1000, default = 100)]
    pub limit: usize,
    /// Cities to skip [default: 0].
    #[serde(default)]
    #[param(minimum = 0, default = 0)]
    pub offset: usize,
}

impl Page {
    /// Page size when the client gives none.
    pub const DEFAULT_LIMIT: usize = 100;
    /// Largest page a client may ask for.
    pub const MAX_LIMIT: usize = 1000;

    fn default_limit() -> usize {
        Self::DEFAULT_LIMIT
    }
}

impl Default for Page {
    fn default() -> Self {
        Self {
            limit: Self::DEFAULT_LIMIT,
            offset: 0,
        }
    }
}
