//! clap glue shared by both binaries: a usage error becomes one line on stderr and exit code 2.
//!
//! clap's own error output spans several lines (error, usage, a `--help` hint); CI logs and people
//! reading them want the reason alone. `--help` and `--version` still print in full and exit 0.

use clap::{Parser, error::ErrorKind};

/// The two articles racebench grew out of, as `--help` names them (after the options) wherever it
/// says "the first article" or "the second article".
pub const ARTICLES: &str = "\
The first article: Peter Xie, \"Scale-up REST API Functional Tests to Performance Tests in Python\" (2019)
  https://peter-jp-xie.medium.com/scale-up-rest-api-functional-tests-to-performance-tests-in-python-3239859c0e27
The second article: \"Using Locust to load test a FastAPI app with concurrent users\" (peterspython.com, 2021)
  https://www.peterspython.com/en/blog/using-locust-to-load-test-a-fastapi-app-with-concurrent-users";

/// Exit code for a usage or configuration error, as ripgrep and clap use.
pub const USAGE_EXIT_CODE: i32 = 2;

/// Parses the process arguments, or prints the one-line reason and exits with code 2.
pub fn parse_or_exit<C: Parser>() -> C {
    match C::try_parse() {
        Ok(cli) => cli,
        Err(error)
            if matches!(
                error.kind(),
                ErrorKind::DisplayHelp | ErrorKind::DisplayVersion
            ) =>
        {
            error.exit()
        }
        Err(error) if error.kind() == ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand => {
            error.exit()
        }
        Err(error) => exit_usage(&first_line(&error.render().to_string())),
    }
}

/// As [`parse_or_exit`] over `args`, with a hint for common mistakes: `hint` may add a second
/// sentence to clap's one-line reason (`...; the URL goes first: loadgen json URL`).
pub fn parse_from_or_exit<C: Parser>(
    args: Vec<std::ffi::OsString>,
    hint: impl Fn(&clap::Error) -> Option<String>,
) -> C {
    match C::try_parse_from(args) {
        Ok(cli) => cli,
        Err(error)
            if matches!(
                error.kind(),
                ErrorKind::DisplayHelp
                    | ErrorKind::DisplayVersion
                    | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand
            ) =>
        {
            error.exit()
        }
        Err(error) => {
            let reason = first_line(&error.render().to_string());
            match hint(&error) {
                Some(hint) => exit_usage(&format!("{reason}; {hint}")),
                None => exit_usage(&reason),
            }
        }
    }
}

/// Prints `error: <reason>` on one line to stderr and exits with code 2.
pub fn exit_usage(reason: &str) -> ! {
    let reason = reason.trim_start_matches("error: ");
    eprintln!("error: {reason}");
    std::process::exit(USAGE_EXIT_CODE)
}

fn first_line(text: &str) -> String {
    text.lines()
        .find(|line| !line.trim().is_empty())
        .unwrap_or("invalid arguments")
        .to_owned()
}
