//! When a credential expires, if it says so: the `exp` claim of a JWT (RFC 7519), read without
//! checking its signature (loadgen only asks "had it expired when the server refused it?", never
//! "is it genuine?"). An opaque token or a cookie says nothing, and the load's transport finds out
//! by logging in again instead (`scenario::cities::walk`).

use base64::{Engine as _, engine::general_purpose::URL_SAFE_NO_PAD};
use serde_json::Value;

/// The `exp` claim (seconds since the Unix epoch) of the JWT in a credential header value
/// (`Bearer <jwt>`, a bare `<jwt>`, or a cookie `name=<jwt>`), or `None` when it holds no JWT with
/// a numeric `exp`.
pub fn jwt_expiry(header_value: &str) -> Option<u64> {
    let token = header_value
        .rsplit([' ', '='])
        .next()
        .unwrap_or(header_value)
        .trim();
    let mut parts = token.split('.');
    let (_header, payload, _signature) = (parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some() {
        return None;
    }
    let payload = URL_SAFE_NO_PAD.decode(payload.trim_end_matches('=')).ok()?;
    let claims: Value = serde_json::from_slice(&payload).ok()?;
    match &claims["exp"] {
        Value::Number(n) => n.as_u64().or_else(|| n.as_f64().map(|f| f as u64)),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn jwt(claims: &str) -> String {
        let encode = |text: &str| URL_SAFE_NO_PAD.encode(text);
        format!(
            "{}.{}.c2lnbmF0dXJl",
            encode(r#"{"alg":"HS256","typ":"JWT"}"#),
            encode(claims)
        )
    }

    #[test]
    fn a_jwt_credential_tells_its_expiry_and_an_opaque_one_does_not() {
        let token = jwt(r#"{"sub":"u1","exp":1700000000}"#);
        assert_eq!(
            jwt_expiry(&format!("Bearer {token}")),
            Some(1_700_000_000),
            "a bearer JWT's exp"
        );
        assert_eq!(jwt_expiry(&token), Some(1_700_000_000), "a bare JWT's exp");
        assert_eq!(
            jwt_expiry(&format!("session={token}")),
            Some(1_700_000_000),
            "a JWT in a cookie"
        );
        assert_eq!(
            jwt_expiry(&format!("Bearer {}", jwt(r#"{"sub":"u1"}"#))),
            None,
            "a JWT without exp never expires by its own account"
        );
        assert_eq!(
            jwt_expiry("Token 9944b09199c62bcf9418ad846dd0e4bbdfc6ee4b"),
            None,
            "an opaque DRF token says nothing"
        );
        assert_eq!(jwt_expiry("Bearer a.b.c"), None, "three dots of garbage");
    }
}
