//! `POST /api/v1/auth/register` and `POST /api/v1/auth/token`.
//!
//! ```text
//! curl -s -XPOST localhost:8020/api/v1/auth/register -H 'content-type: application/json' \
//!      -d '{"email":"a@example.test","password":"abcdefghi"}'
//! curl -s -XPOST localhost:8020/api/v1/auth/token -d 'username=a@example.test&password=abcdefghi'
//! ```

use axum::{extract::State, http::StatusCode};
use shared::{
    api::{Envelope, RegisterRequest, TokenRequest, TokenResponse, UserOut},
    error::ErrorBody,
};

use crate::{
    error::ApiError,
    extract::{Json, JsonOrForm},
    faults::register_race::RegisterRace,
    password::PasswordHash,
    state::AppState,
};

/// Shortest password accepted.
pub const MIN_PASSWORD_LEN: usize = 8;
/// Longest password accepted (keeps hashing bounded).
pub const MAX_PASSWORD_LEN: usize = 1024;

/// Creates an account (the email must be free; the password 8 to 1024 characters).
#[utoipa::path(
    post,
    path = "/auth/register",
    tag = "auth",
    request_body = RegisterRequest,
    responses(
        (status = 201, description = "The account", body = Envelope<UserOut>),
        (status = 400, description = "The body is not JSON", body = ErrorBody),
        (status = 409, description = "The email is taken", body = ErrorBody),
        (status = 413, description = "The body is larger than the limit", body = ErrorBody),
        (status = 415, description = "Not `application/json`", body = ErrorBody),
        (status = 422, description = "A field is missing or invalid", body = ErrorBody),
    )
)]
pub async fn auth_register(
    State(state): State<AppState>,
    Json(request): Json<RegisterRequest>,
) -> Result<(StatusCode, Json<Envelope<UserOut>>), ApiError> {
    let email = validate_email(&request.email)?;
    validate_password(&request.password)?;
    state.store.room_for_user()?;
    let user = state
        .faults
        .request()
        .fault::<RegisterRace>()
        .register(email, PasswordHash::new(&request.password))
        .await
        .map_err(|_| ApiError::EmailTaken(email.to_owned()))?;
    let body = Envelope::new(UserOut {
        id: user.id.to_string(),
        email: user.email,
    });
    Ok((StatusCode::CREATED, Json(body)))
}

/// The OAuth2 password grant: a form (`username`, `password`) or the same fields as JSON.
#[utoipa::path(
    post,
    path = "/auth/token",
    tag = "auth",
    request_body(
        content(
            (TokenRequest = "application/x-www-form-urlencoded"),
            (TokenRequest = "application/json"),
        )
    ),
    responses(
        (status = 200, description = "A bearer token", body = TokenResponse),
        (status = 400, description = "The body is not JSON", body = ErrorBody),
        (status = 401, description = "Wrong email or password", body = ErrorBody),
        (status = 413, description = "The body is larger than the limit", body = ErrorBody),
        (status = 415, description = "Neither a form nor JSON", body = ErrorBody),
        (status = 422, description = "A field is missing", body = ErrorBody),
    )
)]
pub async fn auth_token(
    State(state): State<AppState>,
    JsonOrForm(request): JsonOrForm<TokenRequest>,
) -> Result<Json<TokenResponse>, ApiError> {
    let user = state
        .faults
        .request()
        .fault::<RegisterRace>()
        .login(request.username.trim(), &request.password)
        .ok_or(ApiError::BadCredentials)?;
    Ok(Json(TokenResponse {
        access_token: state.tokens.issue(user.id)?,
        token_type: "bearer".to_owned(),
        expires_in: state.tokens.ttl().as_secs(),
    }))
}

/// A syntactically valid address (RFC 5322 addr-spec, as the `email_address` crate checks it)
/// with a dot in the domain, as FastAPI's `EmailStr` requires.
pub fn validate_email(email: &str) -> Result<&str, ApiError> {
    let email = email.trim();
    let valid =
        email_address::EmailAddress::parse_with_options(email, email_address::Options::default())
            .is_ok_and(|parsed| parsed.domain().contains('.') && !parsed.domain().ends_with('.'));
    if valid {
        Ok(email)
    } else {
        Err(ApiError::Validation(format!(
            "`{email}` is not a valid email address."
        )))
    }
}

fn validate_password(password: &str) -> Result<(), ApiError> {
    let length = password.chars().count();
    if length < MIN_PASSWORD_LEN {
        return Err(ApiError::Validation(format!(
            "The password must have at least {MIN_PASSWORD_LEN} characters."
        )));
    }
    if length > MAX_PASSWORD_LEN {
        return Err(ApiError::Validation(format!(
            "The password must have at most {MAX_PASSWORD_LEN} characters."
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails_need_a_local_part_and_a_dotted_domain() {
        assert!(
            validate_email("e.1565.1234@my-local-test.test").is_ok(),
            "a dotted local part and a hyphenated domain are a valid email"
        );
        for bad in ["", "plain", "a@b", "@x.test", "a b@x.test", "a@x."] {
            assert!(validate_email(bad).is_err(), "{bad}");
        }
    }
}
