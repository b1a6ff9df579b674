//! The first article's test as a load test: one request per iteration (`GET /json` by default),
//! checked for a status and optional JSON fields (`code=1`).
//!
//! Everything that does not change between requests (method, path, `Host`, the body) is built once;
//! an iteration clones reference-counted parts and sends.

use bytes::Bytes;
use hyper::Method;

use crate::{
    checks::Checks,
    client::{Prepared, Target},
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
    checks: Checks,
}

impl Json {
    pub fn new(target: &Target, name: String, method: Method, body: Bytes, checks: Checks) -> Self {
        let path = if target.base_path.is_empty() {
            "/"
        } else {
            &target.base_path
        };
        let content_type =
            (!body.is_empty()).then(|| hyper::header::HeaderValue::from_static("application/json"));
        let uri = path
            .parse()
            .unwrap_or_else(|_| hyper::Uri::from_static("/"));
        Self {
            name,
            request: Prepared::new(method, uri, target.host.clone(), content_type),
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
        let request = self.request.build(self.body.clone());
        session
            .call(STEP, request, |response| self.checks.verify(response))
            .await;
    }
}
