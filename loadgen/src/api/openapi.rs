//! An API description inferred from an OpenAPI 3.0/3.1 document, in memory: the document is
//! read ([`document`]), the description inferred from it ([`infer`]) as commented choices
//! ([`output`]). `loadgen describe` writes it (and walks the preflight on it); `loadgen isolation
//! --openapi` uses it as its `--api`. It sits under `api`, below the plan that reads it.
//!
//! Layout: [`document`] (loading, `$ref`s, schema questions), [`infer`] (the rules, pure),
//! [`output`] (the sections and their TOML text).

pub mod document;
pub mod infer;
pub mod output;

pub use document::{Document, DocumentError};
pub use infer::Ask;
pub use output::Inferred;

/// Reads `openapi` and infers the description; `base_url`'s path is taken off the paths.
pub async fn describe(
    openapi: &str,
    base_url: Option<&str>,
    resource: Option<String>,
) -> Result<Inferred, DocumentError> {
    let doc = Document::load(openapi).await?;
    let ask = Ask {
        resource,
        base_path: base_url.map(path_of).unwrap_or_default(),
    };
    let mut inferred = infer::infer(&doc, &ask);
    let url = base_url.map_or_else(|| origin_of(openapi), str::to_owned);
    inferred.header.push(format!(
        "Run: loadgen isolation --base-url {} --api THIS_FILE",
        if url.is_empty() { "URL" } else { &url }
    ));
    Ok(inferred)
}

/// The same [`describe`] from synchronous code (the plan), on a runtime of its own in a thread
/// of its own (so that it works inside another runtime too).
pub fn describe_blocking(
    openapi: &str,
    base_url: Option<&str>,
    resource: Option<String>,
) -> Result<Inferred, String> {
    std::thread::scope(|scope| {
        scope
            .spawn(|| {
                let runtime = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .map_err(|e| format!("cannot start the runtime: {e}"))?;
                runtime
                    .block_on(describe(openapi, base_url, resource))
                    .map_err(|e| e.to_string())
            })
            .join()
            .unwrap_or_else(|_| Err("describe panicked".into()))
    })
}

/// `http://h:p/api/v1` -> `/api/v1`.
fn path_of(url: &str) -> String {
    let rest = url.split_once("://").map_or(url, |(_, rest)| rest);
    rest.find('/')
        .map_or("", |i| &rest[i..])
        .split('?')
        .next()
        .unwrap_or("")
        .trim_end_matches('/')
        .to_owned()
}

/// `http://h:p/api/v1/openapi.json` -> `http://h:p`; a file -> `""`.
fn origin_of(source: &str) -> String {
    match source.split_once("://") {
        Some((scheme, rest)) => format!("{scheme}://{}", rest.split('/').next().unwrap_or(rest)),
        None => String::new(),
    }
}
