//! `/openapi.json`: it describes every route of the router, it is valid OpenAPI 3.1 (by
//! openapi-spec-validator from PyPI), and Schemathesis fuzzing the running server from it finds
//! nothing (no 5xx, every status, media type and body as documented, every request the schema
//! forbids refused).

mod support;

use std::{
    collections::BTreeSet,
    net::SocketAddr,
    process::{Command, Stdio},
};

use axum::{body::Body, extract::connect_info::MockConnectInfo, http::Request};
use mock_server::{AppState, Config};
use serde_json::Value;
use support::{Api, python};
use tower::ServiceExt;

const METHODS: [&str; 5] = ["GET", "POST", "PUT", "DELETE", "PATCH"];

/// Route paths of the built router, read from its `Debug` output (axum flattens nested routers,
/// and its path table prints as `paths: {RouteId(0): "/json", ...}`).
fn router_paths(router: &axum::Router) -> BTreeSet<String> {
    let text = format!("{router:?}");
    let mut paths = BTreeSet::new();
    // The first table is the path router's; the fallback router's (`/`, catch-alls) comes after.
    for table in text.split("paths: {").skip(1).take(1) {
        let table = &table[..table.find('}').map_or(table.len(), |end| {
            // `{id}` inside a path closes nothing: find the brace that ends the map.
            let mut depth = 0usize;
            let mut in_string = false;
            for (i, c) in table.char_indices() {
                match c {
                    '"' => in_string = !in_string,
                    '{' if !in_string => depth += 1,
                    '}' if !in_string => {
                        if depth == 0 {
                            return i;
                        }
                        depth -= 1;
                    }
                    _ => {}
                }
            }
            end
        })];
        for quoted in table.split('"').skip(1).step_by(2) {
            if quoted.starts_with('/') && !quoted.contains("__private__axum") {
                paths.insert(quoted.to_owned());
            }
        }
    }
    paths
}

/// The methods `app` serves on `path` (anything but its JSON 405).
async fn served_methods(state: &AppState, path: &str) -> BTreeSet<String> {
    let concrete = path.replace("{id}", "1");
    let mut served = BTreeSet::new();
    for method in METHODS {
        let app = mock_server::router(state.clone())
            .layer(MockConnectInfo(SocketAddr::from(([127, 0, 0, 1], 9))));
        let request = Request::builder()
            .method(method)
            .uri(&concrete)
            .body(Body::empty())
            .unwrap();
        let response = app.oneshot(request).await.unwrap();
        if response.status() != 405 {
            served.insert(method.to_owned());
        }
    }
    served
}

fn documented(document: &Value) -> BTreeSet<(String, String)> {
    let paths = document["paths"]
        .as_object()
        .expect("the document has paths");
    paths
        .iter()
        .flat_map(|(path, item)| {
            item.as_object()
                .expect("a path item is an object")
                .keys()
                .filter(|key| METHODS.iter().any(|m| m.eq_ignore_ascii_case(key)))
                .map(move |method| (path.clone(), method.to_ascii_uppercase()))
        })
        .collect()
}

#[tokio::test]
async fn the_document_describes_every_route_and_method_of_the_router() {
    let state = AppState::new(&Config::default());
    let router = mock_server::router(state.clone());
    let paths = router_paths(&router);
    assert!(
        paths.contains("/json") && paths.contains("/api/v1/cities/{id}"),
        "reading the router's paths from its Debug output found {paths:?}; has axum's format changed?"
    );
    let mut served = BTreeSet::new();
    for path in &paths {
        for method in served_methods(&state, path).await {
            served.insert((path.clone(), method));
        }
    }
    let document = mock_server::routes::docs::document();
    let documented = documented(&document);
    let undocumented: Vec<_> = served.difference(&documented).collect();
    let phantom: Vec<_> = documented.difference(&served).collect();
    assert!(
        undocumented.is_empty(),
        "routes the router serves that /openapi.json does not describe: {undocumented:?}"
    );
    assert!(
        phantom.is_empty(),
        "routes /openapi.json describes that the router does not serve: {phantom:?}"
    );
}

#[tokio::test]
async fn the_served_document_is_valid_openapi_3_1() {
    let api = Api::spawn().await;
    let response = api
        .http
        .get(api.server.url("/openapi.json"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200, "GET /openapi.json");
    let body = response.bytes().await.unwrap();
    let document: Value = serde_json::from_slice(&body).expect("/openapi.json is JSON");
    assert_eq!(document["openapi"], "3.1.0", "the document's version");
    let output = python::run_python(
        "import json, sys\n\
         from openapi_spec_validator import validate, OpenAPIV31SpecValidator\n\
         validate(json.load(sys.stdin), cls=OpenAPIV31SpecValidator)\n\
         print('valid')",
        &[],
        &body,
    );
    assert!(
        output.status.success(),
        "openapi-spec-validator refused /openapi.json:\n{}",
        python::describe(&output)
    );
}

#[tokio::test]
async fn the_document_names_every_fault_of_the_catalogue() {
    let document = mock_server::routes::docs::document();
    let update = &document["components"]["schemas"]["FaultsUpdate"]["properties"];
    let disable = update["disable"]["items"]["enum"]
        .as_array()
        .expect("disable items are an enum of fault names");
    let api = Api::spawn().await;
    let faults = api.get_json("/__admin/faults").await;
    for fault in faults["faults"].as_array().unwrap() {
        let name = &fault["name"];
        assert!(
            disable.contains(name),
            "{name} missing from the disable enum"
        );
        let listing = update["enable"]["items"]["description"].as_str().unwrap();
        assert!(
            listing.contains(name.as_str().unwrap()),
            "{name} missing from the enable description"
        );
    }
}

/// Schemathesis (PyPI) against a live server, from the served document: positive and negative
/// cases for every operation except the admin ones that change the server (reset, switching
/// faults on, the delay, clearing the request journal), authenticated as a registered user.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn schemathesis_finds_nothing() {
    let api = Api::spawn().await;
    let token = api.user("fuzz@example.test").await;
    let schemathesis = python::bin("schemathesis");
    // Schemathesis's report folder, removed when the test ends.
    let report = tempfile::Builder::new()
        .prefix("racebench-schemathesis-")
        .tempdir()
        .unwrap();
    let report_dir = report.path().to_str().unwrap().to_owned();
    let url = api.server.url("/openapi.json");
    let args: Vec<String> = [
        "run",
        &url,
        "--checks",
        "not_a_server_error,status_code_conformance,response_schema_conformance,\
         content_type_conformance,negative_data_rejection",
        "--max-examples",
        "15",
        "--seed",
        "7",
        "--workers",
        "2",
        "--phases",
        "examples,coverage,fuzzing",
        "--header",
        &format!("Authorization: Bearer {token}"),
        "--exclude-operation-id",
        "admin_reset",
        "--exclude-operation-id",
        "admin_faults_update",
        "--exclude-operation-id",
        "admin_config_update",
        "--exclude-operation-id",
        "admin_requests_clear",
        "--request-timeout",
        "10",
        "--report-dir",
        &report_dir,
    ]
    .iter()
    .map(|arg| (*arg).to_owned())
    .collect();
    let output = tokio::task::spawn_blocking(move || {
        let output = Command::new(schemathesis)
            .args(&args)
            // Its cache (`.schemathesis/`) goes beside the report, not into the source tree.
            .current_dir(report.path())
            .env("NO_COLOR", "1")
            .stdin(Stdio::null())
            .output()
            .expect("start schemathesis");
        drop(report);
        output
    })
    .await
    .unwrap();
    let text = python::describe(&output);
    assert!(
        output.status.success(),
        "Schemathesis found failures against mock-server:\n{text}"
    );
    // It really tested the cities routes with the token (not only 401s).
    let stats = api.get_json("/__admin/stats").await;
    let created = &stats["requests"]["POST /api/v1/cities"]["201"];
    assert!(
        created.as_u64().unwrap_or(0) > 0,
        "Schemathesis never created a city (auth not applied?): {stats}\n{text}"
    );
}

/// Schemathesis's positive mode: every request the document calls valid must be accepted (no
/// 400, 413, 415 or 422; a 401, 404 or 409 is the state's answer, not the shape's) and none may
/// get a 5xx. The operations that change the server run on a server of their own (the faults
/// and delays they switch on would slow or fail the others): their bodies are where the document
/// used to be looser than the server (`delay: ""`, free-form fault specs).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_request_the_document_calls_valid_is_accepted() {
    let reads = Api::spawn().await;
    let token = reads.user("positive@example.test").await;
    let writes = Api::spawn().await;
    for (api, operations, filter) in [
        (
            &reads,
            "admin_reset,admin_faults_update,admin_config_update,admin_requests_clear",
            "--exclude-operation-id",
        ),
        (
            &writes,
            "admin_faults_update,admin_config_update",
            "--include-operation-id",
        ),
    ] {
        let mut args: Vec<String> = [
            "run",
            &api.server.url("/openapi.json"),
            "--mode",
            "positive",
            "--checks",
            "not_a_server_error,positive_data_acceptance",
            "--max-examples",
            "30",
            "--seed",
            "11",
            "--workers",
            "2",
            "--phases",
            "examples,coverage,fuzzing",
            "--header",
            &format!("Authorization: Bearer {token}"),
            "--request-timeout",
            "10",
        ]
        .iter()
        .map(|arg| (*arg).to_owned())
        .collect();
        for operation in operations.split(',') {
            args.extend([filter.to_owned(), operation.to_owned()]);
        }
        let output = schemathesis(args).await;
        assert!(
            output.status.success(),
            "Schemathesis found a request /openapi.json calls valid that the server refuses \
             ({filter} {operations}):\n{}",
            python::describe(&output)
        );
    }
}

/// Runs Schemathesis with `args` in a temporary folder (its cache and reports go there).
async fn schemathesis(args: Vec<String>) -> std::process::Output {
    let program = python::bin("schemathesis");
    tokio::task::spawn_blocking(move || {
        let folder = tempfile::Builder::new()
            .prefix("racebench-schemathesis-")
            .tempdir()
            .unwrap();
        Command::new(program)
            .args(&args)
            .current_dir(folder.path())
            .env("NO_COLOR", "1")
            .stdin(Stdio::null())
            .output()
            .expect("start schemathesis")
    })
    .await
    .unwrap()
}
