//! Test targets on real third-party frameworks, started as child processes: the Python ones
//! (`targets/fastapi`, `targets/drf`) from the test venv (`target/pyenv`), the Node one
//! (`targets/express`) with `node` and its `node_modules` (both made by `scripts/test-deps.sh`).
//!
//! A target binds 127.0.0.1 port 0 itself and prints `listening on http://127.0.0.1:PORT`; the
//! harness waits for that line (bounded), and kills the process when the handle drops. The child's
//! stdin is a pipe the handle holds: if the test process dies, the pipe closes and the target exits
//! by itself. `client` speaks each target's HTTP shapes, for the tests.

pub mod client;

use std::{
    io::{BufRead, BufReader, Read},
    path::{Path, PathBuf},
    process::{Child, ChildStdin, Command, Stdio},
    sync::{
        Arc, Mutex,
        atomic::{AtomicU32, Ordering},
        mpsc,
    },
    thread,
    time::Duration,
};

/// How long a target may take to print its listening line (Django migrates a fresh database
/// first); generous for a loaded 2-core machine. A bound on a hang, not a speed assertion.
const STARTUP_LIMIT: Duration = Duration::from_secs(90);

/// The child's stderr kept for a failure message, at most this many bytes.
const STDERR_KEPT: usize = 64 * 1024;

/// The bug switch's variables: cleared before a start so a test gets only the ones it names.
const SWITCH_VARS: [&str; 5] = [
    "RACEBENCH_BUG",
    "RACEBENCH_BUG_WINDOW",
    "RACEBENCH_BARRIER",
    "RACEBENCH_BARRIER_TIMEOUT",
    "RACEBENCH_TOKEN_TTL",
];

/// Which target to start.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Framework {
    /// FastAPI + SQLModel on SQLite, full-stack template conventions (`targets/fastapi`).
    FastApi,
    /// Django + Django REST framework on SQLite under waitress (`targets/drf`).
    Drf,
    /// Express 5 on Node.js with a JWT guard middleware, in memory (`targets/express`); its bug
    /// modes are `guard-owner`, `shared-identity` and `probe-leak`.
    Express,
}

impl Framework {
    /// The folder under `targets/`.
    pub fn dir(self) -> &'static str {
        match self {
            Framework::FastApi => "fastapi",
            Framework::Drf => "drf",
            Framework::Express => "express",
        }
    }

    /// The program, its arguments and extra environment that serve this target, with its
    /// database (the Python targets') in `db_dir`.
    fn command(self, db_dir: &Path) -> Command {
        let dir = workspace_root().join("targets").join(self.dir());
        match self {
            Framework::FastApi | Framework::Drf => {
                let mut command = Command::new(venv_python());
                command
                    .arg(dir.join("serve.py"))
                    .arg("--db")
                    .arg(db_dir.join("db.sqlite3"))
                    .env("PYTHONDONTWRITEBYTECODE", "1")
                    .env("PYTHONUNBUFFERED", "1");
                command
            }
            Framework::Express => {
                assert!(
                    dir.join("node_modules").join("express").is_dir(),
                    "no {}/node_modules (the Express target needs it): run scripts/test-deps.sh",
                    dir.display()
                );
                let mut command = Command::new(node());
                command.arg(dir.join("server.js"));
                command
            }
        }
    }
}

/// A running framework target (Python or Node); killed on drop, its database folder removed.
/// The name `PythonTarget` stays for the tests written before the Node target.
pub type PythonTarget = FrameworkTarget;

/// A running target; killed on drop, its database folder removed.
pub struct FrameworkTarget {
    /// Which target this is.
    pub framework: Framework,
    /// `http://127.0.0.1:PORT`, no trailing slash.
    pub base_url: String,
    child: Child,
    _stdin: ChildStdin,
    db_dir: PathBuf,
}

impl FrameworkTarget {
    /// Starts `framework`'s target with `env` added (e.g. `("RACEBENCH_BUG", "shared-identity")`)
    /// and waits for its listening line. Panics with the reason (and the target's stderr) when the
    /// venv or `node_modules` is missing or the target does not come up.
    pub fn start(framework: Framework, env: &[(&str, &str)]) -> FrameworkTarget {
        let db_dir = fresh_db_dir(framework);
        let mut command = framework.command(&db_dir);
        command
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        for var in SWITCH_VARS {
            command.env_remove(var);
        }
        command.envs(env.iter().copied());
        let mut child = command
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {command:?}: {e}"));
        let stdin = child.stdin.take().expect("stdin is piped");
        let stderr = Stderr::keep(child.stderr.take().expect("stderr is piped"));
        let lines = announced_lines(child.stdout.take().expect("stdout is piped"));
        let base_url = match lines.recv_timeout(STARTUP_LIMIT) {
            Ok(line) => match line.strip_prefix("listening on ") {
                Some(url) => url.trim_end_matches('/').to_owned(),
                None => stderr.fail(&mut child, &format!("printed {line:?} first")),
            },
            Err(mpsc::RecvTimeoutError::Timeout) => stderr.fail(
                &mut child,
                &format!("printed no listening line within {STARTUP_LIMIT:?}"),
            ),
            Err(mpsc::RecvTimeoutError::Disconnected) => {
                stderr.fail(&mut child, "exited before listening")
            }
        };
        FrameworkTarget {
            framework,
            base_url,
            child,
            _stdin: stdin,
            db_dir,
        }
    }

    /// `base_url` + `path` (`path` starts with `/`).
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base_url)
    }
}

impl Drop for FrameworkTarget {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.db_dir);
    }
}

/// A new empty folder under the system temp dir for one target's SQLite database (the target
/// makes its own when run by hand, but a killed one cannot remove it: the harness does).
fn fresh_db_dir(framework: Framework) -> PathBuf {
    static STARTED: AtomicU32 = AtomicU32::new(0);
    let n = STARTED.fetch_add(1, Ordering::Relaxed);
    let name = format!("racebench-{}-{}-{n}", framework.dir(), std::process::id());
    let dir = std::env::temp_dir().join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir)
        .unwrap_or_else(|e| panic!("cannot create {}: {e}", dir.display()));
    dir
}

/// The workspace root (the parent of this crate's folder).
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ has a parent")
        .to_path_buf()
}

/// The `node` to run the Node target with: `$RACEBENCH_NODE`, else `node` on the `PATH`.
pub fn node() -> PathBuf {
    std::env::var_os("RACEBENCH_NODE").map_or_else(|| PathBuf::from("node"), PathBuf::from)
}

/// The venv's python: `$RACEBENCH_PYENV/bin/python`, else `<workspace>/target/pyenv/bin/python`.
pub fn venv_python() -> PathBuf {
    let venv = std::env::var_os("RACEBENCH_PYENV")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace_root().join("target").join("pyenv"));
    let python = venv.join("bin").join("python");
    assert!(
        python.is_file(),
        "no Python venv at {} (the framework targets need it): run scripts/test-deps.sh",
        venv.display()
    );
    python
}

/// The first stdout line, sent once; stdout is drained afterwards so the child never blocks.
fn announced_lines(stdout: impl Read + Send + 'static) -> mpsc::Receiver<String> {
    let (send, receive) = mpsc::channel();
    thread::spawn(move || {
        let mut lines = BufReader::new(stdout).lines();
        if let Some(Ok(line)) = lines.next() {
            let _ = send.send(line);
        }
        drop(send);
        for _ in lines {}
    });
    receive
}

/// The child's stderr, collected (bounded) by a thread, for failure messages.
struct Stderr {
    kept: Arc<Mutex<Vec<u8>>>,
    reader: thread::JoinHandle<()>,
}

impl Stderr {
    fn keep(stderr: impl Read + Send + 'static) -> Stderr {
        let kept = Arc::new(Mutex::new(Vec::new()));
        let sink = Arc::clone(&kept);
        let reader = thread::spawn(move || {
            let mut stderr = stderr;
            let mut chunk = [0u8; 4096];
            while let Ok(n @ 1..) = stderr.read(&mut chunk) {
                let mut kept = sink.lock().expect("stderr buffer");
                let room = STDERR_KEPT.saturating_sub(kept.len());
                kept.extend_from_slice(&chunk[..n.min(room)]);
            }
        });
        Stderr { kept, reader }
    }

    /// Kills the child, reads its stderr to the end, and panics with `what` and that stderr.
    fn fail(self, child: &mut Child, what: &str) -> ! {
        let _ = child.kill();
        let _ = child.wait();
        let _ = self.reader.join();
        let stderr =
            String::from_utf8_lossy(&self.kept.lock().expect("stderr buffer")).into_owned();
        panic!("the test target {what}; its stderr:\n{stderr}")
    }
}
