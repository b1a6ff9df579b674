//! `GET /openapi.json`: the OpenAPI 3.1 document of every route, built from the route table over
//! the base document ([`crate::openapi::ApiDoc`]: title, tags, security schemes).
//!
//! ```text
//! curl -s localhost:8020/openapi.json | jq '.paths | keys'
//! ```

use std::sync::OnceLock;

use axum::{http::header::CONTENT_TYPE, response::IntoResponse};
use bytes::Bytes;
use serde_json::{Value, json};

use crate::{config::Config, state::AppState};

/// The document, built once per process.
#[utoipa::path(
    get,
    path = "/openapi.json",
    tag = "docs",
    responses(
        (status = 200, description = "This document (OpenAPI 3.1)", content_type = "application/json",
         body = Object),
    )
)]
pub async fn openapi_show() -> impl IntoResponse {
    ([(CONTENT_TYPE, "application/json")], json())
}

/// The whole document as JSON.
pub fn document() -> Value {
    // The table needs a state for the admin guard layer only; the document does not depend on it.
    let state = AppState::new(&Config::default());
    let (_, api) = super::table(&state).split_for_parts();
    let mut document = serde_json::to_value(api).expect("an OpenAPI document serialises");
    describe_faults(&mut document, &state);
    document
}

/// The document's bytes, built on first use and kept for the life of the process.
pub fn json() -> Bytes {
    static JSON: OnceLock<Bytes> = OnceLock::new();
    JSON.get_or_init(|| {
        Bytes::from(serde_json::to_vec(&document()).expect("a JSON value serialises"))
    })
    .clone()
}

/// Writes the catalogue into the `FaultsUpdate` schema: `enable` items must start with a fault
/// name, `disable` items are a name or `*`, and each description lists the faults with their
/// parameters and defaults.
fn describe_faults(document: &mut Value, state: &AppState) {
    let catalogue = state.faults.view().faults;
    let names: Vec<&str> = catalogue.iter().map(|fault| fault.name.as_str()).collect();
    let listing: String = catalogue
        .iter()
        .map(|fault| {
            let params: Vec<String> = fault
                .params
                .iter()
                .map(|(key, default)| format!("`{key}` (default `{default}`)"))
                .collect();
            format!(
                "\n- `{}`: {}. Parameters: {}.",
                fault.name,
                fault.summary,
                params.join(", ")
            )
        })
        .collect();
    let alternatives = names
        .iter()
        .map(|name| regex_escape(name))
        .collect::<Vec<_>>()
        .join("|");
    let Some(update) = document.pointer_mut("/components/schemas/FaultsUpdate/properties") else {
        return;
    };
    update["enable"]["items"] = json!({
        "type": "string",
        "pattern": format!("^({alternatives})(:.*)?$"),
        "description": format!("`NAME[:key=value,...]`, e.g. `shared-identity:window=2ms`. The catalogue:{listing}"),
    });
    let mut choices: Vec<Value> = names.iter().map(|name| json!(name)).collect();
    choices.push(json!("*"));
    update["disable"]["items"] = json!({
        "type": "string",
        "enum": choices,
        "description": "A fault name, or `*` for every fault.",
    });
    if let Some(view) = document.pointer_mut("/components/schemas/FaultView/properties/name") {
        view["enum"] = json!(names);
    }
}

/// `name` with the regular-expression metacharacters it could hold escaped.
fn regex_escape(name: &str) -> String {
    name.chars()
        .flat_map(|c| {
            let escape = "\\.+*?()|[]{}^$".contains(c);
            escape.then_some('\\').into_iter().chain(std::iter::once(c))
        })
        .collect()
}
