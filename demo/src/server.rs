//! The `mock-server` child process: started on a free loopback port, stopped whatever happens.
//!
//! Three layers make sure no server outlives the demo:
//! 1. [`Server::stop`] at the end of a run: stdin closed, graceful exit awaited, SIGKILL after 5 s.
//! 2. `Drop`, on an early return, a panic, or a Ctrl-C / SIGTERM that drops the run: the same, with
//!    a shorter wait.
//! 3. The server runs with `--exit-on-stdin-eof` and a stdin pipe only the demo holds: when the
//!    demo dies in any way, even by SIGKILL, the kernel closes the pipe and the server shuts down.

use std::{
    fs::File,
    path::Path,
    process::{ExitStatus, Stdio},
    time::{Duration, Instant},
};

use tokio::{
    io::{AsyncBufReadExt, BufReader},
    process::{Child, ChildStdin, ChildStdout, Command},
};

use crate::error::Error;

/// How long the server may take to print its `listening on` line.
const START_TIMEOUT: Duration = Duration::from_secs(10);
/// How long [`Server::stop`] waits for a graceful exit before SIGKILL.
const STOP_TIMEOUT: Duration = Duration::from_secs(5);
/// How long `Drop` waits (it blocks the thread) before SIGKILL.
const DROP_TIMEOUT: Duration = Duration::from_secs(3);

/// A running `mock-server`.
#[derive(Debug)]
pub struct Server {
    child: Child,
    /// The pipe whose end of file tells the server to shut down; `None` once closed.
    stdin: Option<ChildStdin>,
    /// Kept open so the server never writes into a closed pipe.
    _stdout: BufReader<ChildStdout>,
    /// `http://127.0.0.1:PORT`, from the server's one stdout line.
    pub url: String,
    pub pid: u32,
}

impl Server {
    /// Starts `binary` on `127.0.0.1:0`, its log (stderr) going to `log`, and waits for its
    /// `listening on` line. `MOCK_*` variables of the caller are not passed on: the demo's server
    /// is the same on every machine.
    pub async fn start(binary: &Path, log: &Path) -> Result<Self, Error> {
        let log_file = File::create(log).map_err(Error::io(format!("create {}", log.display())))?;
        let mut command = Command::new(binary);
        for (key, _) in std::env::vars_os() {
            if key.to_string_lossy().starts_with("MOCK_") {
                command.env_remove(key);
            }
        }
        let mut child = command
            .args(["--bind", "127.0.0.1:0", "--exit-on-stdin-eof"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(log_file)
            .kill_on_drop(true)
            .spawn()
            .map_err(|source| Error::Spawn {
                program: binary.to_owned(),
                source,
            })?;
        let pid = child.id().unwrap_or_default();
        let stdin = child.stdin.take();
        let mut stdout = BufReader::new(child.stdout.take().expect("stdout is piped"));
        let mut line = String::new();
        let read = tokio::time::timeout(START_TIMEOUT, stdout.read_line(&mut line)).await;
        let url = match read {
            Ok(Ok(_)) => line.trim().strip_prefix("listening on ").map(str::to_owned),
            _ => None,
        };
        let mut server = Self {
            child,
            stdin,
            _stdout: stdout,
            url: String::new(),
            pid,
        };
        match url {
            Some(url) => {
                server.url = url;
                Ok(server)
            }
            None => {
                let status = server.stop().await;
                Err(Error::ServerStart(format!(
                    "no `listening on` line within {} s ({}); its log: {}",
                    START_TIMEOUT.as_secs(),
                    status.map_or("still running, killed".to_owned(), |s| s.to_string()),
                    log.display()
                )))
            }
        }
    }

    /// The exit status if the server has exited (someone else stopped it, or it crashed).
    pub fn exited(&mut self) -> Option<ExitStatus> {
        self.child.try_wait().ok().flatten()
    }

    /// Closes stdin (the server finishes in-flight requests and exits), waits up to 5 s, then
    /// kills. Returns the exit status, `None` if it had to be killed.
    pub async fn stop(&mut self) -> Option<ExitStatus> {
        drop(self.stdin.take());
        match tokio::time::timeout(STOP_TIMEOUT, self.child.wait()).await {
            Ok(Ok(status)) => Some(status),
            _ => {
                let _ = self.child.kill().await;
                None
            }
        }
    }
}

impl Drop for Server {
    /// The fallback of an early return, panic or signal: close stdin, give the server a moment to
    /// exit gracefully (blocking this thread: the run is over anyway), then kill it.
    fn drop(&mut self) {
        if matches!(self.child.try_wait(), Ok(Some(_))) {
            return;
        }
        drop(self.stdin.take());
        let deadline = Instant::now() + DROP_TIMEOUT;
        while Instant::now() < deadline {
            if matches!(self.child.try_wait(), Ok(Some(_)) | Err(_)) {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.start_kill();
        // Reap it, so not even a zombie is left behind.
        let deadline = Instant::now() + Duration::from_secs(1);
        while Instant::now() < deadline && matches!(self.child.try_wait(), Ok(None)) {
            std::thread::sleep(Duration::from_millis(10));
        }
    }
}
