//! `anonymous-fallback`: the auth middleware remembers the last caller it authenticated (a
//! process-wide "current user" cell, as in a thread-local or a module variable reused across
//! requests) and, when a request's token is missing, malformed or signed by another key, falls
//! back to that user instead of refusing it: "the session is probably still valid".
//!
//! What a client sees: a request with no credentials at all (or a forged one) is answered 200 or
//! 201 as somebody: the list of whoever logged in last, a city created in their account. Peer
//! users who always send their own valid token never notice; only a request without a valid
//! credential shows it (loadgen's `anonymous` check).
//!
//! The fix (the correct twin of [`fallback`](Hook::fallback)): a request without a valid token is
//! refused with 401, whoever was authenticated before it.

use std::sync::Mutex;

use uuid::Uuid;

use super::{
    fault::Fault,
    params::NoParams,
    request::Hook,
};
use crate::error::ApiError;

/// The last user the extractor authenticated while the fault was on.
#[derive(Debug, Default)]
pub struct AnonymousFallback {
    last: Mutex<Option<Uuid>>,
}

impl Fault for AnonymousFallback {
    const NAME: &'static str = "anonymous-fallback";
    const SUMMARY: &'static str = "a request with a missing or invalid token is served as the last authenticated user instead of 401; deterministic";
    type Params = NoParams;

    fn reset(&self) {
        *self.last.lock().unwrap_or_else(|e| e.into_inner()) = None;
    }
}

impl Hook<'_, AnonymousFallback> {
    /// The extractor authenticated `user`: remembered while the fault is on.
    pub fn authenticated(&self, user: Uuid) {
        if self.on().is_some() {
            *self.state().last.lock().unwrap_or_else(|e| e.into_inner()) = Some(user);
        }
    }

    /// The extractor refused the request's token with `error`: the user to serve it as, or the
    /// refusal.
    pub fn fallback(&self, error: ApiError) -> Result<Uuid, ApiError> {
        let Some(_firing) = self.firing() else {
            // Correct twin: no valid token, no user.
            return Err(error);
        };
        // The bug: "whoever was here last".
        let last = *self.state().last.lock().unwrap_or_else(|e| e.into_inner());
        let user = last.filter(|user| self.store().user_exists(*user)).ok_or(error)?;
        if let Some(mut fire) = self.fire("served a request without a valid token as the last user")
        {
            fire.owner = Some(user);
            self.record(fire);
        }
        Ok(user)
    }
}
