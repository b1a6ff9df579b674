//! The base of mock-server's OpenAPI 3.1 document, generated from the code so it cannot drift.
//!
//! Operations come from the handlers' `#[utoipa::path]` annotations, collected by the route table
//! (`routes::table`) that also builds the router; schemas come from the wire types in `shared`
//! (`ToSchema`). Here, [`ApiDoc`] holds the title, the tags and the two security schemes that the
//! table starts from; `routes::docs` builds the whole document, writes the fault catalogue into
//! the `PUT /__admin/faults` schema and states every bound the server enforces. A leaf under the
//! routes: it imports nothing of this crate.

use utoipa::{
    Modify, OpenApi,
    openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme},
};

/// Title, tags, security schemes; the operations are added by the route table.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "racebench mock-server",
        description = "A mock REST API with a catalogue of deliberate, switchable race faults. \
            Every non-2xx answer carries `{\"error\": {\"code\", \"message\"}}` (`ErrorBody`).",
    ),
    components(schemas(shared::error::ErrorBody, shared::error::ErrorDetail)),
    modifiers(&SecuritySchemes),
    tags(
        (name = "json", description = "The first article's endpoint"),
        (name = "auth", description = "Accounts and bearer tokens"),
        (name = "cities", description = "Each user's own cities (per-user scoping is what the faults break)"),
        (name = "admin", description = "Ground truth and run-time switches; loopback only unless `--admin-token`"),
        (name = "docs", description = "This document"),
    )
)]
pub struct ApiDoc;

struct SecuritySchemes;

impl Modify for SecuritySchemes {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .description(Some("From `POST /api/v1/auth/token`"))
                    .build(),
            ),
        );
        components.add_security_scheme(
            "admin_token",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some(
                        "The `--admin-token` value; without that flag the admin API needs none \
                         but answers loopback clients only",
                    ))
                    .build(),
            ),
        );
    }
}
