//! `loadgen run FILE.toml`: a scenario described in a file — named requests run in sequence (or
//! one picked by weight) per iteration, after per-user set-up requests, with values extracted from
//! one answer (a JSON pointer) and used in later requests through `{name}` placeholders, checks of
//! status and JSON fields, and think time.
//!
//! [`crate::plan`] reads and validates the file into a [`Script`]; this module runs it. Each
//! request's parts are parsed once ([`template::Template`]); a request renders its path, headers
//! and body into fresh buffers only where a placeholder appears.
//!
//! Layout: [`template`] (placeholders and variables).

pub mod template;

use bytes::Bytes;
use hyper::{
    HeaderMap, Method, StatusCode, Uri,
    header::{CONTENT_TYPE, HeaderName, HeaderValue},
};
use serde_json::Value;
use shared::duration::DurationRange;

use crate::{
    checks::{Failure, Outcome},
    client::{Response, Target},
    stats::Step,
};

use super::{Exchange, Scenario, Session, SetupError};
use template::{ITERATION, Names, RUN, Template, USER, Values};

/// How an iteration picks its requests.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Order {
    /// Every request, in file order.
    Sequence,
    /// One request, picked with probability `weight / total`.
    Weighted { total: u64 },
}

/// Which statuses pass.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StatusCheck {
    /// Any 2xx (the default).
    Success,
    /// One of these.
    OneOf(Vec<StatusCode>),
}

impl StatusCheck {
    fn accepts(&self, status: StatusCode) -> bool {
        match self {
            StatusCheck::Success => status.is_success(),
            StatusCheck::OneOf(codes) => codes.contains(&status),
        }
    }

    fn describe(&self) -> String {
        match self {
            StatusCheck::Success => "2xx".into(),
            StatusCheck::OneOf(codes) => codes
                .iter()
                .map(|c| c.as_u16().to_string())
                .collect::<Vec<_>>()
                .join(" or "),
        }
    }
}

/// What a JSON field must equal: a template (for strings) or any JSON value.
#[derive(Debug, Clone, PartialEq)]
pub enum Expected {
    Text(Template),
    Value(Value),
}

/// A `check.json` entry: the field at a JSON pointer (RFC 6901) equals a value.
#[derive(Debug, Clone, PartialEq)]
pub struct FieldCheck {
    pub pointer: String,
    pub expected: Expected,
}

/// An `extract` entry: the field at `pointer` becomes variable `slot`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Extract {
    pub slot: usize,
    pub pointer: String,
}

/// One named request of the file.
#[derive(Debug, Clone)]
pub struct Request {
    pub name: String,
    pub method: Method,
    /// The path and query; relative to the base URL's path unless `absolute`.
    pub path: Template,
    pub absolute: bool,
    pub headers: Vec<(HeaderName, Template)>,
    pub body: Option<Template>,
    pub content_type: Option<HeaderValue>,
    pub status: StatusCheck,
    pub json: Vec<FieldCheck>,
    pub extract: Vec<Extract>,
    pub weight: u64,
    /// Pause after this request; the file's `think-time` unless the request sets its own.
    pub think_time: DurationRange,
}

/// A validated scenario file.
#[derive(Debug, Clone)]
pub struct Script {
    pub setup: Vec<Request>,
    pub requests: Vec<Request>,
    pub order: Order,
    pub names: Names,
}

impl Script {
    /// Request names in report order: set-up requests, then the iteration's (a name used twice is
    /// one row).
    pub fn steps(&self) -> Vec<String> {
        let mut steps: Vec<String> = Vec::new();
        for request in self.setup.iter().chain(&self.requests) {
            if !steps.contains(&request.name) {
                steps.push(request.name.clone());
            }
        }
        steps
    }
}

/// A request ready to send: its step and the base path applied.
#[derive(Debug)]
struct Ready {
    step: Step,
    request: Request,
    /// The whole path when it has no placeholder (built once).
    uri: Option<Uri>,
    /// The body when it has no placeholder (built once).
    body: Option<Bytes>,
}

/// The scenario `loadgen run` runs.
#[derive(Debug)]
pub struct File {
    steps: Vec<String>,
    setup: Vec<Ready>,
    requests: Vec<Ready>,
    order: Order,
    slots: usize,
    /// The target's own headers (`Host`, `User-Agent`, Basic auth from the URL, `-H`...).
    base_headers: HeaderMap,
    base_path: String,
    run_id: String,
}

/// Per-user state: the variables and the iteration number.
#[derive(Debug)]
pub struct User {
    values: Values,
    iteration: u64,
}

impl File {
    pub fn new(script: Script, target: &Target) -> Self {
        let steps = script.steps();
        let ready = |request: Request| {
            let step = Step(
                steps
                    .iter()
                    .position(|s| *s == request.name)
                    .expect("listed"),
            );
            let uri = request
                .path
                .as_literal()
                .and_then(|path| join(&target.base_path, path, request.absolute).parse().ok());
            let body = match &request.body {
                Some(template) => template.as_literal().map(|b| Bytes::from(b.to_owned())),
                None => Some(Bytes::new()),
            };
            Ready {
                step,
                request,
                uri,
                body,
            }
        };
        let setup = script.setup.into_iter().map(ready).collect();
        let requests = script.requests.into_iter().map(ready).collect();
        Self {
            setup,
            requests,
            steps,
            order: script.order,
            slots: script.names.len(),
            base_headers: target.headers.clone(),
            base_path: target.base_path.clone(),
            run_id: uuid::Uuid::new_v4().simple().to_string()[..12].to_owned(),
        }
    }

    /// Sends `ready`, checks and records it, and stores its extracted values. True when it passed.
    async fn perform(&self, ready: &Ready, values: &mut Values, session: &mut Session) -> bool {
        let Some(request) = self.build(ready, values) else {
            // A variable this request needs has no value: the request that should have set it
            // failed (and was counted). Sending with a hole would only add noise.
            return false;
        };
        let Exchange { result, timing, .. } = session.send(ready.step, request).await;
        let verdict = match result {
            Err(error) => Err(Failure::new(error.outcome(), error.to_string())),
            Ok(response) => judge(&ready.request, &response, values),
        };
        match verdict {
            Ok(()) => {
                session.record(ready.step, Outcome::Pass, timing, None);
                true
            }
            Err(failure) => {
                // A failed answer sets no variable: later requests that need one are skipped.
                for extract in &ready.request.extract {
                    values[extract.slot] = None;
                }
                session.record(ready.step, failure.outcome, timing, Some(&failure.reason));
                false
            }
        }
    }

    fn build(
        &self,
        ready: &Ready,
        values: &Values,
    ) -> Option<hyper::Request<http_body_util::Full<Bytes>>> {
        let request = &ready.request;
        let uri = match &ready.uri {
            Some(uri) => uri.clone(),
            None => {
                let path = request.path.render(values).ok()?;
                join(&self.base_path, &path, request.absolute)
                    .parse()
                    .ok()?
            }
        };
        let body = match &ready.body {
            Some(body) => body.clone(),
            None => Bytes::from(request.body.as_ref()?.render(values).ok()?),
        };
        let mut headers = self.base_headers.clone();
        if let Some(content_type) = &request.content_type {
            headers.insert(CONTENT_TYPE, content_type.clone());
        }
        for (name, template) in &request.headers {
            let value = match template.as_literal() {
                Some(text) => HeaderValue::from_str(text).ok()?,
                None => HeaderValue::from_str(&template.render(values).ok()?).ok()?,
            };
            // The file's header replaces a default of the same name (`Authorization`, `User-Agent`).
            headers.insert(name.clone(), value);
        }
        let mut built = hyper::Request::new(http_body_util::Full::new(body));
        *built.method_mut() = request.method.clone();
        *built.uri_mut() = uri;
        *built.headers_mut() = headers;
        Some(built)
    }

    fn fresh_values(&self, session: &Session) -> Values {
        let mut values = vec![None; self.slots];
        values[USER] = Some(session.user().to_string());
        values[ITERATION] = Some("0".into());
        values[RUN] = Some(self.run_id.clone());
        values
    }

    fn pick(&self, total: u64) -> &Ready {
        let mut roll = rand::random::<u64>() % total;
        for ready in &self.requests {
            if roll < ready.request.weight {
                return ready;
            }
            roll -= ready.request.weight;
        }
        self.requests.last().expect("a script has requests")
    }
}

/// The base path joined with a request's path (`absolute` paths stand alone).
fn join(base_path: &str, path: &str, absolute: bool) -> String {
    if absolute || base_path.is_empty() {
        path.to_owned()
    } else {
        format!("{base_path}{path}")
    }
}

/// Status, then JSON fields, then extraction; the body is parsed once, and only when needed.
fn judge(request: &Request, response: &Response, values: &mut Values) -> Result<(), Failure> {
    if !request.status.accepts(response.status) {
        return Err(Failure::fail(format!(
            "status {} != {}",
            response.status.as_u16(),
            request.status.describe()
        )));
    }
    if request.json.is_empty() && request.extract.is_empty() {
        return Ok(());
    }
    let body: Value = serde_json::from_slice(&response.body)
        .map_err(|error| Failure::fail(format!("body is not JSON: {error}")))?;
    for check in &request.json {
        let actual = body
            .pointer(&check.pointer)
            .ok_or_else(|| Failure::fail(format!("{} is missing", check.pointer)))?;
        let equal = match &check.expected {
            Expected::Value(expected) => actual == expected,
            Expected::Text(template) => {
                let expected = template.render(values).map_err(|_| {
                    Failure::fail(format!("{}: a variable has no value", check.pointer))
                })?;
                actual.as_str() == Some(expected.as_str())
            }
        };
        if !equal {
            let expected = match &check.expected {
                Expected::Value(value) => value.to_string(),
                Expected::Text(template) => {
                    format!("{:?}", template.render(values).unwrap_or_default())
                }
            };
            return Err(Failure::fail(format!(
                "{} = {actual} != {expected}",
                check.pointer
            )));
        }
    }
    for extract in &request.extract {
        let value = body
            .pointer(&extract.pointer)
            .ok_or_else(|| Failure::fail(format!("extract: {} is missing", extract.pointer)))?;
        values[extract.slot] = Some(match value {
            Value::String(text) => text.clone(),
            other => other.to_string(),
        });
    }
    Ok(())
}

impl Scenario for File {
    type User = User;

    fn steps(&self) -> Vec<String> {
        self.steps.clone()
    }

    /// The first `GET` or `HEAD` of the file that needs no variable (a probe must not create
    /// anything); none makes the preflight connect only.
    fn probe(&self) -> Option<hyper::Request<http_body_util::Full<Bytes>>> {
        let values: Values = vec![None; self.slots];
        self.setup
            .iter()
            .chain(&self.requests)
            .filter(|r| matches!(r.request.method, Method::GET | Method::HEAD))
            .find_map(|ready| self.build(ready, &values))
    }

    async fn setup(&self, session: &mut Session) -> Result<User, SetupError> {
        let mut values = self.fresh_values(session);
        for ready in &self.setup {
            if !self.perform(ready, &mut values, session).await {
                return Err(SetupError(format!(
                    "set-up request `{}` did not pass",
                    ready.request.name
                )));
            }
            pause(&ready.request.think_time).await;
        }
        Ok(User {
            values,
            iteration: 0,
        })
    }

    async fn iteration(&self, user: &mut User, session: &mut Session) {
        user.values[ITERATION] = Some(user.iteration.to_string());
        user.iteration += 1;
        match self.order {
            Order::Sequence => {
                for ready in &self.requests {
                    self.perform(ready, &mut user.values, session).await;
                    pause(&ready.request.think_time).await;
                }
            }
            Order::Weighted { total } => {
                let ready = self.pick(total);
                self.perform(ready, &mut user.values, session).await;
                pause(&ready.request.think_time).await;
            }
        }
    }
}

async fn pause(think_time: &DurationRange) {
    if !think_time.is_zero() {
        tokio::time::sleep(think_time.at(rand::random::<f64>())).await;
    }
}
