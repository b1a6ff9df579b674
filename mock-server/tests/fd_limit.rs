//! The connection limit under a low file-descriptor limit (issue 25): the server, run under
//! `ulimit -n 256` (for that child only), lowers `--max-connections` to what its descriptors
//! allow, so under a flood of 300 idle connections a fresh client still gets its 503 at once
//! instead of waiting in the backlog for a descriptor.
//!
//! No timing assertion: the fresh client's read has a generous guard only so that a regression
//! fails instead of hanging.

#![cfg(unix)]

use std::{
    io::{BufRead, BufReader, Read, Write},
    net::TcpStream,
    process::{Command, Stdio},
    time::Duration,
};

const GUARD: Duration = Duration::from_secs(30);

#[test]
fn a_fresh_client_gets_its_503_under_an_idle_flood_at_256_descriptors() {
    // `ulimit -n` without -S or -H sets both limits: the server cannot raise its way out.
    let mut server = Command::new("sh")
        .args([
            "-c",
            "ulimit -n 256 && exec \"$0\" \"$@\"",
            env!("CARGO_BIN_EXE_mock-server"),
            "--bind",
            "127.0.0.1:0",
            "--idle-timeout",
            "10m",
        ])
        .env_remove("RUST_LOG")
        .env_remove("MOCK_MAX_CONNECTIONS")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("sh starts the server");
    let mut stdout = BufReader::new(server.stdout.take().unwrap());
    let mut line = String::new();
    stdout.read_line(&mut line).unwrap();
    let addr = line
        .trim()
        .strip_prefix("listening on http://")
        .unwrap_or_else(|| panic!("a listening line, got {line:?}"))
        .to_owned();

    // 300 connections that send nothing: more than 256 descriptors could hold.
    let idle: Vec<TcpStream> = (0..300)
        .map(|_| TcpStream::connect(&addr).expect("connect (the backlog takes them)"))
        .collect();
    let mut fresh = TcpStream::connect(&addr).unwrap();
    fresh.set_read_timeout(Some(GUARD)).unwrap();
    fresh
        .write_all(b"GET /json HTTP/1.1\r\nhost: test\r\n\r\n")
        .unwrap();
    let mut answer = Vec::new();
    let read = fresh.read_to_end(&mut answer);
    let text = String::from_utf8_lossy(&answer).into_owned();
    drop(idle);
    server.kill().unwrap();
    server.wait().unwrap();
    let mut log = String::new();
    server
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut log)
        .unwrap();

    assert!(
        read.is_ok(),
        "the fresh client got no answer within {GUARD:?} ({read:?}): the server ran out of \
         descriptors before its connection limit fired\n{log}"
    );
    assert!(
        text.starts_with("HTTP/1.1 503 "),
        "a fresh client past the fitted limit gets the 503: {text:?}\n{log}"
    );
    assert!(
        text.contains(r#""code":"too_many_connections""#),
        "the 503 carries the JSON error: {text:?}"
    );
    assert!(
        log.contains("connection limit 224"),
        "the log states the limit 256 descriptors allow (256 - 32): {log}"
    );
    assert!(
        log.contains("--max-connections 10000 is above") && log.contains("lowered to 224"),
        "the default limit is lowered with a warning: {log}"
    );
}
