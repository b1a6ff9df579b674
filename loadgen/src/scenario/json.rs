//! The first article's test as a load test: one request per iteration (`GET /json` by default),
//! checked for a status and optional JSON fields (`code=1`).
//!
//! The request never changes, so it is serialised once (method, path, headers, body: a
//! [`Wire`]) and every iteration of every user writes those same bytes.

use bytes::Bytes;
use hyper::{
    HeaderMap, Method,
    header::{CONTENT_TYPE, HeaderValue},
};

use crate::{
    checks::Checks,
    client::{Prepared, Target, Wire},
    stats::Step,
};

use super::{Scenario, Session, SetupError};

/// The only request name of this scenario.
const STEP: Step = Step(0);

/// `loadgen json`: one named request, repeated.
#[derive(Debug)]
pub struct Json {
    name: String,
    request: Prepared,
    body: Bytes,
    /// `request` with `body`, as sent (its response's headers unread: the checks need none).
    wire: Wire,
    checks: Checks,
}

impl Json {
    /// The request is built once from the target's headers (`Host`, `User-Agent`, Basic auth),
    /// then `headers` (`-H`, which replace a default of the same name) and, with a body, its
    /// `Content-Type` unless `-H` gave one.
    pub fn new(
        target: &Target,
        name: String,
        method: Method,
        body: Bytes,
        headers: HeaderMap,
        content_type: HeaderValue,
        checks: Checks,
    ) -> Self {
        let mut extra = HeaderMap::with_capacity(headers.len() + 1);
        if !body.is_empty() && !headers.contains_key(CONTENT_TYPE) {
            extra.insert(CONTENT_TYPE, content_type);
        }
        for (name, value) in &headers {
            extra.append(name, value.clone());
        }
        let request = target.prepare(method, "", &extra);
        Self {
            name,
            // The checks read the status and the body only.
            wire: request.wire(&body).ignoring_response_headers(),
            request,
            body,
            checks,
        }
    }
}

impl Scenario for Json {
    type User = ();

    fn steps(&self) -> Vec<String> {
        vec![self.name.clone()]
    }

    fn probe(&self) -> Option<hyper::Request<http_body_util::Full<Bytes>>> {
        Some(self.request.build(self.body.clone()))
    }

    async fn setup(&self, _session: &mut Session) -> Result<(), SetupError> {
        Ok(())
    }

    async fn iteration(&self, _user: &mut (), session: &mut Session) {
        session
            .call(STEP, &self.wire, |response| self.checks.verify(response))
            .await;
    }
}
