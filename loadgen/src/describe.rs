//! `loadgen describe`: from an OpenAPI 3.0/3.1 document to an API description for `isolation`.
//! The inference is [`crate::api::openapi`]'s; this command writes its text and, with
//! `--base-url`, checks it by walking the isolation test's own preflight against the server
//! ([`verify`]). What could not be inferred is left as a commented placeholder and listed, and
//! the command exits 2.

pub mod verify;

use std::process::ExitCode;

use crate::{api::openapi::describe, cli::DescribeArgs, exit::Exit};

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
