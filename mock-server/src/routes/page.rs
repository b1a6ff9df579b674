//! `GET /__admin/`: the admin page, one self-contained HTML file (inline CSS and script, no
//! external assets) that drives the admin API from a browser: the fault catalogue with switches
//! and parameters, the `/json` delay, live counters and the tails of both journals, polled every
//! second while it is open.
//!
//! The page holds no data of its own, so it is served without the admin guard; every call it makes
//! goes through the guard. With `--admin-token`, open `/__admin/#token=TOKEN` (the fragment never
//! leaves the browser) or type the token when the page asks.

use axum::{http::header::CONTENT_TYPE, response::IntoResponse};

/// The page, compiled in.
pub const HTML: &str = include_str!("page/admin.html");

#[utoipa::path(
    get,
    path = "/__admin/",
    tag = "admin",
    responses(
        (status = 200, description = "The admin page", content_type = "text/html; charset=utf-8", body = String),
    )
)]
pub async fn admin_page() -> impl IntoResponse {
    ([(CONTENT_TYPE, "text/html; charset=utf-8")], HTML)
}
