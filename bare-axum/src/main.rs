//! The baseline for mock-server's benchmarks: a bare axum hello-world serving the same `/json`
//! body, built with the same profile. `scripts/bench-perf.sh`, `scripts/bench-server.sh` and
//! `scripts/bench-callgrind.sh` run both side by side.
//!
//! Run with: `cargo run --release -p bare-axum -- 127.0.0.1:0`

use axum::{Router, http::header::CONTENT_TYPE, routing::get};

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let address = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:0".to_owned());
    let listener = tokio::net::TcpListener::bind(address).await?;
    println!("listening on http://{}", listener.local_addr()?);
    let app = Router::new().route(
        "/json",
        get(|| async {
            (
                [(CONTENT_TYPE, "application/json")],
                r#"{"code": 1, "message": "Hello, World!"}"#,
            )
        }),
    );
    axum::serve(listener, app).await
}
