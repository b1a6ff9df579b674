//! Route paths of the mock server, written once.

/// The first article's endpoint (`GET` and `POST`).
pub const JSON: &str = "/json";
/// Prefix of the second article's API.
pub const API_V1: &str = "/api/v1";
/// `POST` a `{email, password}` JSON body to create an account.
pub const REGISTER: &str = "/auth/register";
/// `POST` the OAuth2 password form (`username`, `password`) to get a bearer token.
pub const TOKEN: &str = "/auth/token";
/// Collection of the caller's cities.
pub const CITIES: &str = "/cities";
/// Prefix of the admin API.
pub const ADMIN: &str = "/__admin";
