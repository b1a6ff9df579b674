//! The command line as people type it: `loadgen URL` as the short form of `loadgen json URL`, and
//! a hint that turns clap's one-line refusal of a common mistake into the command meant (a URL
//! given to a subcommand that takes `--base-url`, a URL without its scheme, a misspelt subcommand).

use std::ffi::OsString;

use clap::error::{ContextKind, ContextValue, ErrorKind};

/// The arguments with the short form expanded: a URL right after the program name is `json URL`.
pub fn expand(args: impl IntoIterator<Item = OsString>) -> Vec<OsString> {
    let mut args: Vec<OsString> = args.into_iter().collect();
    if args
        .get(1)
        .and_then(|arg| arg.to_str())
        .is_some_and(has_http_scheme)
    {
        args.insert(1, OsString::from("json"));
    }
    args
}

fn has_http_scheme(text: &str) -> bool {
    let lower = text.to_ascii_lowercase();
    lower.starts_with("http://") || lower.starts_with("https://")
}

/// Whether `text` reads as a URL someone meant to load: a scheme, or `host:port/...`.
pub fn looks_like_url(text: &str) -> bool {
    if text.starts_with('-') {
        return false;
    }
    text.contains("://")
        || text.starts_with("localhost")
        || text.split_once(':').is_some_and(|(host, rest)| {
            !host.is_empty() && rest.starts_with(|c: char| c.is_ascii_digit())
        })
}

/// The right form of a mistaken command line, for [`shared::cli::parse_from_or_exit`].
pub fn hint(error: &clap::Error) -> Option<String> {
    let text = |kind| match error.get(kind) {
        Some(ContextValue::String(value)) => Some(value.clone()),
        Some(ContextValue::Strings(values)) => values.first().cloned(),
        Some(ContextValue::StyledStr(value)) => Some(value.to_string()),
        _ => None,
    };
    match error.kind() {
        ErrorKind::InvalidSubcommand => {
            let given = text(ContextKind::InvalidSubcommand)?;
            if looks_like_url(&given) {
                return Some(url_hint(&given));
            }
            text(ContextKind::SuggestedSubcommand)
                .map(|suggested| format!("did you mean `loadgen {suggested}`?"))
        }
        ErrorKind::UnknownArgument => {
            let given = text(ContextKind::InvalidArg)?;
            if !looks_like_url(&given) {
                return None;
            }
            let usage = text(ContextKind::Usage).unwrap_or_default();
            let subcommand = usage
                .split_whitespace()
                .skip_while(|word| *word != "loadgen")
                .nth(1)
                .unwrap_or("");
            Some(match subcommand {
                "cities" | "isolation" => format!(
                    "the API's base URL goes after --base-url: `loadgen {subcommand} --base-url {given}`"
                ),
                "run" => format!(
                    "a scenario file's base URL goes after --base-url: `loadgen run FILE --base-url {given}`"
                ),
                "repro" | "replay" => format!("the base URL goes after --base-url {given}"),
                "json" => "one URL per run: `loadgen json URL [FLAGS]`".to_owned(),
                _ => url_hint(&given),
            })
        }
        _ => None,
    }
}

/// `loadgen json URL`, with `http://` added when the scheme is missing.
fn url_hint(given: &str) -> String {
    if given.contains("://") {
        format!(
            "to load a URL: `loadgen json {given}` (or `loadgen {given}`); loadgen speaks http:// and https://"
        )
    } else {
        format!("a URL needs its scheme: `loadgen json http://{given}`")
    }
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;
    use crate::cli::{Cli, Command};

    fn os(args: &[&str]) -> Vec<OsString> {
        args.iter().map(OsString::from).collect()
    }

    fn refusal(args: &[&str]) -> String {
        let error = Cli::try_parse_from(expand(os(args))).expect_err("the line is refused");
        hint(&error).unwrap_or_else(|| panic!("a hint for {args:?}: {error}"))
    }

    #[test]
    fn the_url_is_a_positional_argument_of_json_and_the_short_form_means_json() {
        for args in [
            &[
                "loadgen",
                "json",
                "http://127.0.0.1:1/x",
                "-u",
                "50",
                "-d",
                "10s",
            ][..],
            &["loadgen", "http://127.0.0.1:1/x", "-u", "50", "-d", "10s"],
            &[
                "loadgen",
                "json",
                "-u",
                "50",
                "http://127.0.0.1:1/x",
                "-d",
                "10s",
            ],
        ] {
            let cli = Cli::try_parse_from(expand(os(args)))
                .unwrap_or_else(|error| panic!("{args:?} parses: {error}"));
            let Command::Json(json) = cli.command else {
                panic!("{args:?} is loadgen json")
            };
            assert_eq!(
                json.target.as_deref(),
                Some("http://127.0.0.1:1/x"),
                "{args:?}: the URL is the positional argument"
            );
            assert_eq!(json.workload.users, Some(50), "{args:?}: -u 50 is read");
        }
    }

    #[test]
    fn a_subcommand_is_not_taken_for_a_url() {
        assert_eq!(
            expand(os(&["loadgen", "cities", "--users", "2"])),
            os(&["loadgen", "cities", "--users", "2"]),
            "only a URL right after the program name is expanded"
        );
    }

    #[test]
    fn a_url_without_scheme_in_place_of_the_subcommand_suggests_it_with_the_scheme() {
        assert_eq!(
            refusal(&["loadgen", "127.0.0.1:8020/json"]),
            "a URL needs its scheme: `loadgen json http://127.0.0.1:8020/json`",
            "the hint is the command meant"
        );
    }

    #[test]
    fn a_url_given_to_cities_suggests_base_url() {
        assert!(
            refusal(&["loadgen", "cities", "http://127.0.0.1:8020/api/v1"])
                .contains("`loadgen cities --base-url http://127.0.0.1:8020/api/v1`"),
            "cities takes the base URL as a flag"
        );
    }

    #[test]
    fn two_urls_are_refused_with_one_url_per_run() {
        assert!(
            refusal(&["loadgen", "json", "http://a:1/", "http://b:2/"]).contains("one URL per run"),
            "json takes one URL"
        );
    }

    #[test]
    fn a_misspelt_subcommand_suggests_the_closest() {
        assert_eq!(
            refusal(&["loadgen", "isolaton"]),
            "did you mean `loadgen isolation`?",
            "clap's suggestion, on the one line"
        );
    }
}
