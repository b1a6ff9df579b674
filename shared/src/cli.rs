//! clap glue shared by both binaries: a usage error becomes one line on stderr and exit code 2.
//!
//! clap's own error output spans several lines (error, usage, a `--help` hint); CI logs and people
//! reading them want the reason alone. `--help` and `--version` still print in full and exit 0.

use clap::{Parser, error::ErrorKind};

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
