//! An in-process mock server on `127.0.0.1:0`, for tests in this and other crates.
//!
//! ```ignore
//! let server = mock_server::testing::spawn(Config::default()).await;
//! let url = server.url("/json");
//! ```

use std::net::SocketAddr;

use tokio::{sync::oneshot, task::JoinHandle};

use crate::{AppState, Config};

/// A running server; dropping it shuts the server down.
#[derive(Debug)]
pub struct TestServer {
    pub addr: SocketAddr,
    /// The server's state, for tests that look behind the API.
    pub state: AppState,
    shutdown: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<std::io::Result<()>>>,
}

/// Starts a server with `config` on a free loopback port (the `bind` field is ignored).
pub async fn spawn(config: Config) -> TestServer {
    let listener = crate::bind("127.0.0.1:0".parse().expect("valid address"))
        .await
        .expect("bind a loopback port");
    let addr = listener.local_addr().expect("bound address");
    let state = AppState::new(&config);
    let (shutdown, stopped) = oneshot::channel::<()>();
    let task = tokio::spawn(crate::run(
        listener,
        state.clone(),
        config.limits,
        async move {
            let _ = stopped.await;
        },
    ));
    TestServer {
        addr,
        state,
        shutdown: Some(shutdown),
        task: Some(task),
    }
}

impl TestServer {
    /// `http://127.0.0.1:PORT{path}`.
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// `http://127.0.0.1:PORT/api/v1{path}`.
    pub fn api_url(&self, path: &str) -> String {
        format!("http://{}{}{path}", self.addr, shared::paths::API_V1)
    }

    /// Stops accepting, waits for in-flight requests to finish.
    pub async fn stop(mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
    }
}
