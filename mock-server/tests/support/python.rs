//! The test suite's Python venv (`target/pyenv`, built by `scripts/test-deps.sh`) for the outside
//! checks: openapi-spec-validator, Schemathesis, prometheus-client's parser, selenium.

use std::{
    io::Write,
    path::{Path, PathBuf},
    process::{Command, Output, Stdio},
};

/// The workspace root (`mock-server/..`).
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("mock-server sits in the workspace")
        .to_path_buf()
}

/// `$RACEBENCH_PYENV` or `<workspace>/target/pyenv`; panics with the fix when it is missing.
pub fn venv() -> PathBuf {
    let venv = std::env::var_os("RACEBENCH_PYENV")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace_root().join("target/pyenv"));
    assert!(
        venv.join("bin/python").exists(),
        "the test venv {} is missing: run scripts/test-deps.sh (make test does)",
        venv.display()
    );
    venv
}

/// A program of the venv (`python`, `schemathesis`, ...).
pub fn bin(name: &str) -> PathBuf {
    venv().join("bin").join(name)
}

/// Runs `python -c script args...` with `stdin` and returns its output.
pub fn run_python(script: &str, args: &[&str], stdin: &[u8]) -> Output {
    let mut child = Command::new(bin("python"))
        .arg("-c")
        .arg(script)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start the venv's python");
    child
        .stdin
        .take()
        .expect("piped stdin")
        .write_all(stdin)
        .expect("write to python's stdin");
    child.wait_with_output().expect("wait for python")
}

/// Output as text for an assertion message.
pub fn describe(output: &Output) -> String {
    format!(
        "exit {:?}\n--- stdout\n{}\n--- stderr\n{}",
        output.status.code(),
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}
