//! What a refusal's body is about, read as a person would: a CSRF check (`CSRF Failed: CSRF
//! cookie not set.`, `CSRF token mismatch.`, Rails' `InvalidAuthenticityToken`) or a missing or
//! ended session (`Authentication credentials were not provided.`, `Unauthenticated.`, a missing
//! cookie). The preflight's hints name the settings that can change such an answer, and a session
//! the server ended is established again before such a refusal is judged.

/// What a refusal names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum About {
    /// A CSRF check: the token, its cookie or its header.
    Csrf,
    /// A session or its cookie: not logged in, or no longer.
    Session,
}

/// Words of a CSRF refusal (lowercase).
const CSRF_WORDS: [&str; 4] = ["csrf", "xsrf", "authenticity token", "authenticitytoken"];

/// Words of a missing or ended session (lowercase).
const SESSION_WORDS: [&str; 8] = [
    "session",
    "cookie",
    "credentials were not provided",
    "not authenticated",
    "unauthenticated",
    "not logged in",
    "login required",
    "authentication required",
];

/// What `body` is about, if it names CSRF (first) or a session.
pub fn about(body: &[u8]) -> Option<About> {
    let text = String::from_utf8_lossy(&body[..body.len().min(4096)]).to_ascii_lowercase();
    if CSRF_WORDS.iter().any(|word| text.contains(word)) {
        Some(About::Csrf)
    } else if SESSION_WORDS.iter().any(|word| text.contains(word)) {
        Some(About::Session)
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refusals_of_the_common_frameworks_are_read() {
        for (body, expected) in [
            (&br#"{"detail":"CSRF Failed: CSRF cookie not set."}"#[..], Some(About::Csrf)),
            (
                br#"{"detail":"CSRF Failed: CSRF token from the 'X-Csrftoken' HTTP header incorrect."}"#,
                Some(About::Csrf),
            ),
            (br#"{"message":"CSRF token mismatch."}"#, Some(About::Csrf)),
            (b"ActionController::InvalidAuthenticityToken", Some(About::Csrf)),
            (
                br#"{"detail":"Authentication credentials were not provided."}"#,
                Some(About::Session),
            ),
            (br#"{"message":"Unauthenticated."}"#, Some(About::Session)),
            (br#"{"detail":"No Note matches the given query."}"#, None),
            (br#"{"detail":"Not enough permissions"}"#, None),
        ] {
            assert_eq!(
                about(body),
                expected,
                "{}",
                String::from_utf8_lossy(body)
            );
        }
    }
}
