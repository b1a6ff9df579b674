//! `loadgen describe` flags: the OpenAPI document, where to write the description, the collection
//! to test and the server to check it against.

use std::path::PathBuf;

use clap::Args;

/// `loadgen describe`.
#[derive(Debug, Args)]
pub struct DescribeArgs {
    /// The OpenAPI 3.0 or 3.1 document (JSON or YAML): a URL (`http://HOST/openapi.json`) or a file
    #[arg(long, env = "LOADGEN_OPENAPI", value_name = "URL|FILE")]
    pub openapi: String,

    /// The API's base URL: paths below its path are written relative to it, and the description
    /// is then checked by walking the isolation test's preflight against it [default: no check]
    #[arg(long, env = "LOADGEN_BASE_URL", value_name = "URL")]
    pub base_url: Option<String>,

    /// Where to write the API description (TOML) [default: stdout]
    #[arg(short, long = "out", env = "LOADGEN_DESCRIBE_OUT", value_name = "FILE")]
    pub out: Option<PathBuf>,

    /// The collection whose records the test creates, by its last path segment (`items`) or path
    /// [default: the first with create, list, read, update and delete]
    #[arg(long, env = "LOADGEN_RESOURCE", value_name = "NAME")]
    pub resource: Option<String>,
}
