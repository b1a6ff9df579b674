//! `loadgen replay --emit-curl FILE`: the first attempt's requests as a shell script of curl
//! commands, for a reader or a bug report. Not synchronised: the two racing requests are started
//! in the background together, which rarely lands them inside one race window.

use std::fmt::Write as _;

use super::file::Repro;
use crate::{api::ApiRequest, client::Target};

/// One request the first attempt sent.
#[derive(Debug, Clone)]
pub struct Sent {
    pub who: &'static str,
    pub step: String,
    pub request: ApiRequest,
    /// One of the racing pair.
    pub racing: bool,
}

/// `'text'` for a POSIX shell.
fn quote(text: &str) -> String {
    format!("'{}'", text.replace('\'', "'\\''"))
}

/// `http://host:port` of `base_url`.
fn origin(base_url: &str) -> &str {
    let after_scheme = base_url.find("://").map_or(0, |at| at + 3);
    match base_url[after_scheme..].find('/') {
        Some(slash) => &base_url[..after_scheme + slash],
        None => base_url,
    }
}

fn command(sent: &Sent, target: &Target, base_url: &str) -> String {
    let label = sent.request.label(target);
    let (method, path) = label.split_once(' ').unwrap_or(("GET", &label));
    let mut line = format!(
        "curl -sS -X {method} {}",
        quote(&format!("{}{path}", origin(base_url)))
    );
    if let Some(content_type) = sent.request.content_type {
        let _ = write!(
            line,
            " -H {}",
            quote(&format!("content-type: {content_type}"))
        );
    }
    // The identity's headers, login header, cookies and CSRF token, as the jar holds them now.
    for (name, value) in &sent.request.headers() {
        let value = String::from_utf8_lossy(value.as_bytes());
        let _ = write!(line, " -H {}", quote(&format!("{name}: {value}")));
    }
    let body = sent.request.sent_body();
    if !body.is_empty() {
        let body = String::from_utf8_lossy(&body);
        let _ = write!(line, " --data-binary {}", quote(&body));
    }
    line
}

/// The script: set-up commands in order, then the racing pair in the background.
pub fn script(repro: &Repro, target: &Target, base_url: &str, sent: &[Sent]) -> String {
    let mut out = String::from("#!/bin/sh\n");
    let _ = writeln!(
        out,
        "# The racing pair of a loadgen reproduction, as curl commands (the first attempt's\n\
         # accounts and tokens). NOT SYNCHRONISED: the two racing requests start in the background\n\
         # together, which rarely lands them in one race window; `loadgen replay` sends them\n\
         # last-byte synchronised. Expected when it reproduces: {} seen by the observer.",
        repro.expected.class
    );
    out.push_str("set -e\n");
    for request in sent.iter().filter(|s| !s.racing) {
        let _ = writeln!(out, "\n# set-up: {} {}", request.who, request.step);
        let _ = writeln!(out, "{}", command(request, target, base_url));
    }
    out.push_str("\n# the racing pair\n");
    for request in sent.iter().filter(|s| s.racing) {
        let _ = writeln!(out, "# {} {}", request.who, request.step);
        let _ = writeln!(out, "{} &", command(request, target, base_url));
    }
    out.push_str("wait\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quotes_survive_a_shell() {
        assert_eq!(
            quote("it's"),
            "'it'\\''s'",
            "a single quote is escaped for the shell"
        );
        assert_eq!(
            origin("http://127.0.0.1:8020/api/v1"),
            "http://127.0.0.1:8020",
            "the origin drops the path"
        );
        assert_eq!(
            origin("https://h"),
            "https://h",
            "an origin without a path is kept"
        );
    }
}
