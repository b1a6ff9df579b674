//! `GET /openapi.json`: the OpenAPI 3.1 document of every route, built from the route table over
//! the base document ([`crate::openapi::ApiDoc`]: title, tags, security schemes). [`document`]
//! writes the fault catalogue (names, summaries, parameters and defaults, read from the
//! catalogue's public API) into the `PUT /__admin/faults` schema, so a client sees which `enable`
//! and `disable` values are accepted.
//!
//! The document states every bound the server enforces ([`state_bounds`]), so that a request it
//! calls valid is never refused (a generated client, Schemathesis's positive data): exact integer
//! maxima (utoipa writes bounds as floats, and `9223372036854775807` as a float is one more), and
//! patterns for the delay and the fault specs built from the same catalogue the parser reads. One
//! bound a pattern cannot state is left to the description: a `uniform:` delay's low end must not
//! be above its high end.
//!
//! ```text
//! curl -s localhost:8020/openapi.json | jq '.paths | keys'
//! ```

use std::sync::OnceLock;

use axum::{http::header::CONTENT_TYPE, response::IntoResponse};
use bytes::Bytes;
use serde_json::{Value, json};

use crate::{config::Config, faults::params::ParamKind, state::AppState};

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
    state_bounds(&mut document);
    document
}

/// A duration as the server parses it (`0`, `250ms`, `1.5s`; units ns, us, ms, s, m, h), within
/// what any duration parameter accepts.
pub const DURATION_PATTERN: &str = r"(0|[0-9]{1,6}(\.[0-9]{1,3})?(ns|us|ms|s|m|h))";

/// The `/json` delay: a duration, `uniform:LOW..HIGH` or `lognormal:MEDIAN,SIGMA` (sigma 0 to 10).
fn delay_pattern() -> String {
    let d = DURATION_PATTERN;
    format!(r"^({d}|uniform:{d}\.\.{d}|lognormal:{d},(10(\.0{{1,3}})?|[0-9](\.[0-9]{{1,3}})?))$")
}

/// The value pattern of a fault parameter of `kind`.
fn value_pattern(kind: ParamKind) -> &'static str {
    match kind {
        ParamKind::Duration => DURATION_PATTERN,
        ParamKind::Probability => r"(0(\.[0-9]{1,6})?|1(\.0{1,6})?)",
        ParamKind::Count => "[0-9]{1,6}",
        // Any 19 digits fit a `u64`.
        ParamKind::Seed => "[0-9]{1,19}",
    }
}

/// `NAME[:key=value,...]` for every fault of the catalogue, each with its own keys and their
/// value patterns.
fn fault_spec_pattern() -> String {
    let faults: Vec<String> = crate::faults::catalogue::entries()
        .map(|def| {
            let items: Vec<String> = def
                .all_params()
                .map(|param| format!("{}={}", regex_escape(param.key), value_pattern(param.kind)))
                .collect();
            let item = format!("({})", items.join("|"));
            format!("{}(:{item}(,{item})*)?", regex_escape(def.name))
        })
        .collect();
    format!("^({})$", faults.join("|"))
}

/// Writes the bounds utoipa cannot state exactly (see the module doc).
fn state_bounds(document: &mut Value) {
    let int64_max = json!(i64::MAX);
    for (path, method, name) in [
        ("/api/v1/cities", "get", "offset"),
        ("/__admin/requests", "get", "limit"),
    ] {
        let parameters = document
            .pointer_mut(&format!(
                "/paths/{}/{method}/parameters",
                path.replace('/', "~1")
            ))
            .and_then(Value::as_array_mut);
        for parameter in parameters.into_iter().flatten() {
            if parameter["name"] == name {
                parameter["schema"]["maximum"] = int64_max.clone();
            }
        }
    }
    if let Some(delay) = document.pointer_mut("/components/schemas/RuntimeConfig/properties/delay")
    {
        delay["minLength"] = json!(1);
        delay["pattern"] = json!(delay_pattern());
    }
    if let Some(enable) =
        document.pointer_mut("/components/schemas/FaultsUpdate/properties/enable/items")
    {
        enable["pattern"] = json!(fault_spec_pattern());
    }
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
