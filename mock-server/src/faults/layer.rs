//! The tower layer that gives a request its fault scope while some fault is on, applies the
//! generic faults around the handler, commits what fired to the journal and, with
//! `--fault-header`, names it in `x-racebench-faults`.
//!
//! It wraps the whole router once ([`crate::app::service`]), not each route: `Router::layer` boxes and
//! clones a route's service per request, which measurably cost 6 % of `/json` throughput. With every
//! fault off, `call` reads one atomic flag and forwards the router's future as is
//! (`Either::Left`): no boxing, no clone. Outside the router there is no `MatchedPath`, so the
//! journal's route template comes from [`route_template`], written against `shared::paths`.

use std::{
    convert::Infallible,
    sync::{Arc, atomic::Ordering},
    task::{Context, Poll},
};

use axum::{
    extract::Request,
    http::{HeaderValue, header::AUTHORIZATION},
    response::Response,
};
use futures::future::{BoxFuture, Either};
use shared::{admin::FAULTS_HEADER, paths};
use tower::{Layer, Service};

use super::{Faults, error_rate, reset, scope::Scope, slow_body, switchboard::Settings};
use crate::{auth::Tokens, metrics::Metrics};

/// Wraps the router with the fault scope.
#[derive(Debug, Clone)]
pub struct FaultLayer {
    faults: Faults,
    tokens: Arc<Tokens>,
    /// Counts the answers the layer makes itself (`error-rate`), which never reach the router's
    /// metrics layer.
    metrics: Metrics,
}

impl FaultLayer {
    pub fn new(faults: Faults, tokens: Arc<Tokens>, metrics: Metrics) -> Self {
        Self {
            faults,
            tokens,
            metrics,
        }
    }
}

/// The router's route template for `path` (what `MatchedPath` would say), or `(unmatched)`.
pub fn route_template(path: &str) -> &'static str {
    const CITY: &str = "/api/v1/cities/{id}";
    let Some(rest) = path.strip_prefix(paths::API_V1) else {
        return match path {
            paths::JSON => paths::JSON,
            _ => UNMATCHED,
        };
    };
    match rest {
        paths::REGISTER => "/api/v1/auth/register",
        paths::TOKEN => "/api/v1/auth/token",
        paths::CITIES => "/api/v1/cities",
        _ => match rest
            .strip_prefix(paths::CITIES)
            .and_then(|tail| tail.strip_prefix('/'))
        {
            Some(id) if !id.is_empty() && !id.contains('/') => CITY,
            _ => UNMATCHED,
        },
    }
}

const UNMATCHED: &str = "(unmatched)";

impl<S> Layer<S> for FaultLayer {
    type Service = FaultService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        FaultService {
            inner,
            layer: self.clone(),
        }
    }
}

#[derive(Debug, Clone)]
pub struct FaultService<S> {
    inner: S,
    layer: FaultLayer,
}

impl<S> Service<Request> for FaultService<S>
where
    S: Service<Request, Response = Response, Error = Infallible> + Clone + Send + 'static,
    S::Future: Send + 'static,
{
    type Response = Response;
    type Error = Infallible;
    type Future = Either<S::Future, BoxFuture<'static, Result<Response, Infallible>>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request) -> Self::Future {
        let Some(settings) = self.layer.faults.active() else {
            return Either::Left(self.inner.call(request));
        };
        if request.uri().path().starts_with(paths::ADMIN) {
            return Either::Left(self.inner.call(request));
        }
        // The inner service was polled ready; keep that one and leave a fresh clone behind.
        let fresh = self.inner.clone();
        let inner = std::mem::replace(&mut self.inner, fresh);
        Either::Right(Box::pin(serve(
            self.layer.clone(),
            settings,
            inner,
            request,
        )))
    }
}

async fn serve<S>(
    layer: FaultLayer,
    settings: Arc<Settings>,
    mut inner: S,
    request: Request,
) -> Result<Response, Infallible>
where
    S: Service<Request, Response = Response, Error = Infallible>,
{
    let route = route_template(request.uri().path());
    let uri = request.uri().path_and_query().map_or_else(
        || request.uri().path().to_owned(),
        |pq| pq.as_str().to_owned(),
    );
    let bearer = request
        .headers()
        .get(AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.split_once(' '))
        .map(|(_, token)| token.trim().to_owned());
    let scope = Arc::new(Scope::new(
        settings,
        request.method().as_str().to_owned(),
        route.to_owned(),
        uri,
    ));
    let _in_flight = InFlight::enter(&layer.faults);
    let generic = applies(&scope.route);
    let injected = if generic {
        error_rate::before(&scope).await
    } else {
        None
    };
    let response = match injected {
        Some(response) => {
            let status = response.status().as_u16();
            layer.metrics.record(&scope.method, route, status);
            response
        }
        None => super::scope::run(scope.clone(), inner.call(request)).await?,
    };
    let status = response.status().as_u16();
    let (mut response, status) = if !generic {
        (response, Some(status))
    } else {
        match reset::after(&scope, response).await {
            Err(dropped) => (dropped, None),
            Ok(response) => (slow_body::after(&scope, response).await, Some(status)),
        }
    };
    if scope.settings.header {
        let names = scope.fired_names();
        if !names.is_empty()
            && let Ok(value) = HeaderValue::from_str(&names.join(","))
        {
            response.headers_mut().insert(FAULTS_HEADER, value);
        }
    }
    let tokens = layer.tokens.clone();
    scope.commit(&layer.faults.shared, status, move || {
        bearer.and_then(|token| tokens.verify(&token).ok())
    });
    Ok(response)
}

/// Whether a route gets the faults applied around the handler (`error-rate`, `reset`,
/// `slow-body`): `/json` and the cities routes, not auth (so a load test can still log in) nor
/// admin.
pub fn applies(route: &str) -> bool {
    route == paths::JSON
        || route
            .strip_prefix(paths::API_V1)
            .is_some_and(|rest| rest.starts_with(paths::CITIES))
}

/// Counts a request with a fault scope while it is served (`in_flight` in `/__admin/stats`), so
/// a test can wait until its requests reached the server instead of sleeping. Decremented when
/// the request ends, also when its client gave up.
struct InFlight<'a>(&'a Faults);

impl<'a> InFlight<'a> {
    fn enter(faults: &'a Faults) -> Self {
        faults.shared.in_flight.fetch_add(1, Ordering::Relaxed);
        Self(faults)
    }
}

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.0.shared.in_flight.fetch_sub(1, Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generic_faults_spare_auth_and_admin() {
        assert!(applies("/json"), "/json gets them");
        assert!(applies("/api/v1/cities"), "the cities list gets them");
        assert!(applies("/api/v1/cities/{id}"), "one city gets them");
        assert!(!applies("/api/v1/auth/token"), "login is spared");
        assert!(!applies("/__admin/stats"), "admin is spared");
    }

    #[test]
    fn route_templates_match_the_router() {
        assert_eq!(
            route_template("/json"),
            "/json",
            "/json is its own template"
        );
        assert_eq!(
            route_template(&format!("{}{}", paths::API_V1, paths::REGISTER)),
            "/api/v1/auth/register",
            "the register route is its own template"
        );
        assert_eq!(
            route_template(&format!("{}{}", paths::API_V1, paths::TOKEN)),
            "/api/v1/auth/token",
            "the token route is its own template"
        );
        assert_eq!(
            route_template("/api/v1/cities"),
            "/api/v1/cities",
            "the cities list is its own template"
        );
        assert_eq!(
            route_template("/api/v1/cities/42"),
            "/api/v1/cities/{id}",
            "a city path maps to the {{id}} template"
        );
        for unmatched in [
            "/api/v1/cities/",
            "/api/v1/cities/1/2",
            "/nope",
            "/api/v1/x",
        ] {
            assert_eq!(route_template(unmatched), "(unmatched)", "{unmatched}");
        }
    }
}
