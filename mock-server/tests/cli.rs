//! The `mock-server` binary: the `listening on` line, usage errors, config files, graceful shutdown.

mod support;

use support::gauge::wait_in_flight;

use std::{
    io::{BufRead, BufReader},
    process::{Child, Command, Stdio},
};

fn binary() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_mock-server"));
    command.env_remove("RUST_LOG");
    for (key, _) in std::env::vars().filter(|(key, _)| key.starts_with("MOCK_")) {
        command.env_remove(key);
    }
    command
}

/// Starts the server on port 0 and returns it with its base URL, read from its one stdout line.
fn start(args: &[&str]) -> (Child, String, BufReader<std::process::ChildStdout>) {
    let mut child = binary()
        .args(["--bind", "127.0.0.1:0"])
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    stdout.read_line(&mut line).unwrap();
    let url = line
        .trim()
        .strip_prefix("listening on ")
        .expect("a listening line")
        .to_owned();
    (child, url, stdout)
}

fn usage_error(args: &[&str]) -> String {
    let output = binary().args(args).output().unwrap();
    assert_eq!(output.status.code(), Some(2), "{args:?}");
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert_eq!(
        stderr.trim_end().lines().count(),
        1,
        "one line for {args:?}: {stderr}"
    );
    stderr
}

#[test]
fn a_port_in_use_is_one_line_naming_the_address_and_exit_code_2() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").expect("a free port");
    let address = taken.local_addr().unwrap().to_string();
    let stderr = usage_error(&["--bind", &address]);
    assert!(
        stderr.starts_with(&format!("error: cannot listen on {address}: ")),
        "names the address it could not bind: {stderr}"
    );
    assert!(
        stderr.to_lowercase().contains("in use"),
        "says why (the OS's reason): {stderr}"
    );
}

#[test]
fn bad_flags_and_values_are_one_line_and_exit_code_2() {
    for (args, named) in [
        (&["--no-such-flag"][..], "--no-such-flag"),
        (&["--delay", "fast"], "fast"),
        (&["--bind", "nowhere"], "nowhere"),
        (&["--token-ttl", "5"], "unit"),
        (&["--config", "/no/such/file.toml"], "/no/such/file.toml"),
    ] {
        let stderr = usage_error(args);
        assert!(
            stderr.contains(named),
            "the usage error for {args:?} names `{named}`: {stderr}"
        );
    }
}

#[test]
fn an_environment_variable_sets_a_flag() {
    let output = binary().env("MOCK_DELAY", "sometimes").output().unwrap();
    assert_eq!(
        output.status.code(),
        Some(2),
        "a bad MOCK_DELAY is a usage error, exit 2: {output:?}"
    );
    assert!(
        String::from_utf8_lossy(&output.stderr).contains("sometimes"),
        "the usage error names the bad MOCK_DELAY value: {output:?}"
    );
}

#[test]
fn a_bad_value_in_the_config_file_is_one_line_and_exit_code_2() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bad.toml");
    std::fs::write(&path, "delay = \"lognormal:200ms\"\n").unwrap();
    let stderr = usage_error(&["--config", path.to_str().unwrap()]);
    assert!(stderr.contains("delay"), "{stderr}");
}

#[test]
fn every_fixture_config_starts_the_server() {
    let fixtures = concat!(env!("CARGO_MANIFEST_DIR"), "/../fixtures");
    let mut seen = 0;
    for entry in std::fs::read_dir(fixtures).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        if !(name.starts_with("mock-server") && name.ends_with(".toml")) {
            continue;
        }
        seen += 1;
        let (mut child, url, _stdout) = start(&["--config", path.to_str().unwrap()]);
        assert!(url.starts_with("http://127.0.0.1:"), "{name}: {url}");
        child.kill().unwrap();
        child.wait().unwrap();
    }
    assert!(seen >= 1, "no mock-server*.toml in fixtures/");
}

#[test]
fn sigterm_lets_in_flight_requests_finish_then_exits_0() {
    let (mut child, url, _stdout) = start(&["--delay", "1s", "--fault", "error-rate:p=0"]);
    let json = format!("{url}/json");
    let request = std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(async { reqwest::get(json).await.map(|r| r.status().as_u16()) })
    });
    wait_in_flight(&url);
    let killed = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success(), "kill -TERM was delivered to the server");
    assert_eq!(
        request.join().unwrap().unwrap(),
        200,
        "the in-flight /json request finishes with 200 after SIGTERM"
    );
    let status = child.wait().unwrap();
    assert_eq!(
        status.code(),
        Some(0),
        "the server exits 0 after SIGTERM: {status:?}"
    );
}

#[test]
fn help_lists_every_flag_with_its_env_var() {
    let output = binary().arg("--help").output().unwrap();
    assert_eq!(output.status.code(), Some(0), "--help exits 0: {output:?}");
    let help = String::from_utf8(output.stdout).unwrap();
    for flag in [
        "--bind",
        "--delay",
        "--jwt-secret",
        "--token-ttl",
        "--admin-token",
        "--body-limit",
        "--config",
    ] {
        assert!(help.contains(flag), "{flag}");
    }
    assert!(
        help.contains("MOCK_BIND"),
        "--help names the env var MOCK_BIND:\n{help}"
    );
}
