//! `loadgen describe`: from an OpenAPI 3.0/3.1 document to an API description for `isolation`.
//! The document is read ([`document`]), the description inferred from it ([`infer`]) as
//! commented choices ([`output`]), written, and, with `--base-url`, checked by walking the
//! isolation test's own preflight against the server ([`verify`]). What could not be inferred is
//! left as a commented placeholder and listed, and the command exits 2.
//!
//! Layout: [`document`] (loading, `$ref`s, schema questions), [`infer`] (the rules, pure),
//! [`output`] (the sections and their TOML text), [`verify`] (the preflight walk).
//! `loadgen isolation --openapi` calls [`describe`] in memory.

pub mod document;
pub mod infer;
pub mod output;
pub mod verify;

use std::process::ExitCode;

use crate::{cli::DescribeArgs, exit::Exit};

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

/// The binary's `describe`: 0 when every piece was inferred (and the preflight passed, with
/// `--base-url`), 2 when a piece is missing, the document unreadable or the preflight failed.
pub fn main_describe(args: DescribeArgs) -> ExitCode {
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => return Exit::Setup(format!("cannot start the runtime: {error}")).report(),
    };
    runtime.block_on(run(args))
}

async fn run(args: DescribeArgs) -> ExitCode {
    let inferred = match describe(
        &args.openapi,
        args.base_url.as_deref(),
        args.resource.clone(),
    )
    .await
    {
        Ok(inferred) => inferred,
        Err(error) => return Exit::Setup(error.to_string()).report(),
    };
    let text = inferred.toml();
    match &args.out {
        Some(path) => {
            if let Err(error) = std::fs::write(path, &text) {
                return Exit::Setup(format!("cannot write {}: {error}", path.display())).report();
            }
            eprintln!("describe: wrote {}", path.display());
        }
        None => print!("{text}"),
    }
    match &inferred.resource {
        Some(name) => eprintln!(
            "describe: records are the `{name}` collection (--resource NAME picks another)"
        ),
        None => eprintln!("describe: no collection of records found"),
    }
    let missing = inferred.missing();
    if !missing.is_empty() {
        let mut message = format!(
            "describe: {} piece(s) could not be inferred (commented placeholders in the file):",
            missing.len()
        );
        for piece in &missing {
            message.push_str(&format!("\n  - {piece}"));
        }
        return Exit::Setup(message).report();
    }
    let Some(base_url) = &args.base_url else {
        return ExitCode::SUCCESS;
    };
    match verify::preflight(&text, base_url).await {
        Ok(()) => {
            eprintln!(
                "describe: the preflight passed against {base_url}: every step of `isolation --update-check --delete-check` answered as described"
            );
            ExitCode::SUCCESS
        }
        Err(error) => Exit::Setup(format!(
            "describe: the description does not work yet: {error}"
        ))
        .report(),
    }
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
