//! `--exit-on-stdin-eof`: a parent that holds the server's stdin takes the server with it, whatever
//! kills the parent (the `make bench` demo relies on it, even against SIGKILL).

mod support;

use support::gauge::wait_in_flight;

use std::{
    io::{BufRead, BufReader},
    process::{Child, ChildStdout, Command, ExitStatus, Stdio},
    time::{Duration, Instant},
};

fn binary() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_mock-server"));
    command.env_remove("RUST_LOG");
    for (key, _) in std::env::vars().filter(|(key, _)| key.starts_with("MOCK_")) {
        command.env_remove(key);
    }
    command
}

/// Starts the server on port 0 with a piped stdin; returns it with its base URL.
fn start(command: &mut Command) -> (Child, String, BufReader<ChildStdout>) {
    let mut child = command
        .args(["--bind", "127.0.0.1:0"])
        .stdin(Stdio::piped())
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

/// The exit status once the process is gone, or `None` if it still runs after `limit`.
fn exited_within(child: &mut Child, limit: Duration) -> Option<ExitStatus> {
    let deadline = Instant::now() + limit;
    while Instant::now() < deadline {
        if let Some(status) = child.try_wait().unwrap() {
            return Some(status);
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    None
}

/// `GET url` on a thread of its own; the status, or the error as text.
fn get(url: String) -> std::thread::JoinHandle<Result<u16, String>> {
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(async {
            reqwest::get(url)
                .await
                .map(|r| r.status().as_u16())
                .map_err(|e| e.to_string())
        })
    })
}

#[test]
fn closing_stdin_lets_in_flight_requests_finish_then_exits_0() {
    let (mut child, url, _stdout) = start(binary().args([
        "--exit-on-stdin-eof",
        "--delay",
        "1s",
        "--fault",
        "error-rate:p=0",
    ]));
    let request = get(format!("{url}/json"));
    wait_in_flight(&url);

    drop(child.stdin.take());

    assert_eq!(
        request.join().unwrap(),
        Ok(200),
        "the in-flight /json request finishes with 200 after stdin closes"
    );
    let status = exited_within(&mut child, Duration::from_secs(60))
        .expect("the server still runs 60 s after its stdin closed");
    assert_eq!(
        status.code(),
        Some(0),
        "the server exits 0 once its stdin closes: {status:?}"
    );
}

#[test]
fn the_environment_variable_sets_it_too() {
    let (mut child, url, _stdout) = start(binary().env("MOCK_EXIT_ON_STDIN_EOF", "true"));
    assert_eq!(
        get(format!("{url}/__admin/health")).join().unwrap(),
        Ok(200),
        "the server started with MOCK_EXIT_ON_STDIN_EOF answers health"
    );

    drop(child.stdin.take());

    let status = exited_within(&mut child, Duration::from_secs(60))
        .expect("the server still runs 60 s after its stdin closed");
    assert_eq!(
        status.code(),
        Some(0),
        "the server exits 0 once its stdin closes: {status:?}"
    );
}

#[test]
fn without_the_flag_a_closed_stdin_changes_nothing() {
    let (mut child, url, _stdout) = start(&mut binary());

    drop(child.stdin.take());

    assert!(
        exited_within(&mut child, Duration::from_millis(500)).is_none(),
        "without --exit-on-stdin-eof the server keeps running after stdin closes"
    );
    assert_eq!(
        get(format!("{url}/__admin/health")).join().unwrap(),
        Ok(200),
        "without --exit-on-stdin-eof the server still answers health after stdin closes"
    );
    child.kill().unwrap();
    child.wait().unwrap();
}
