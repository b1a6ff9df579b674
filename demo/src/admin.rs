//! The calls the demo makes to mock-server's admin API (`/__admin`): switch the `/json` delay,
//! list and switch faults, forget every user between acts. Bodies are `shared::admin`'s types.

use std::time::Duration;

use reqwest::{Client, RequestBuilder, Response};
use shared::admin::{FaultsUpdate, FaultsView, RuntimeConfig};

use crate::error::Error;

/// Each admin call is local and small: a slow one is a broken server.
const TIMEOUT: Duration = Duration::from_secs(5);

/// A client for one server's admin API.
#[derive(Debug, Clone)]
pub struct Admin {
    http: Client,
    /// `http://127.0.0.1:PORT/__admin`.
    base: String,
}

impl Admin {
    /// For the server at `url` (`http://127.0.0.1:PORT`).
    pub fn new(url: &str) -> Self {
        Self {
            http: Client::builder()
                .timeout(TIMEOUT)
                .build()
                .expect("a plain HTTP client builds"),
            base: format!("{url}{}", shared::paths::ADMIN),
        }
    }

    /// `GET /__admin/health`.
    pub async fn health(&self) -> Result<(), Error> {
        send(
            self.http.get(format!("{}/health", self.base)),
            "GET /health",
        )
        .await?;
        Ok(())
    }

    /// `PUT /__admin/config {"delay": SPEC}`: the `/json` delay from the next request on.
    pub async fn set_delay(&self, delay: &str) -> Result<(), Error> {
        let body = RuntimeConfig {
            delay: Some(delay.to_owned()),
        };
        let request = self.http.put(format!("{}/config", self.base)).json(&body);
        send(request, &format!("PUT /config delay {delay}")).await?;
        Ok(())
    }

    /// `GET /__admin/faults`: the catalogue, in its order, with what is on.
    pub async fn faults(&self) -> Result<FaultsView, Error> {
        let response = send(
            self.http.get(format!("{}/faults", self.base)),
            "GET /faults",
        )
        .await?;
        response.json().await.map_err(|e| Error::Admin {
            what: "GET /faults".to_owned(),
            message: e.to_string(),
        })
    }

    /// `PUT /__admin/faults`: `disable` (names or `*`) then `enable` (`NAME[:k=v,...]`).
    pub async fn switch_faults(&self, enable: &[String], disable: &[&str]) -> Result<(), Error> {
        let body = FaultsUpdate {
            enable: enable.to_vec(),
            disable: disable.iter().map(|name| (*name).to_owned()).collect(),
            header: None,
        };
        let request = self.http.put(format!("{}/faults", self.base)).json(&body);
        send(request, "PUT /faults").await?;
        Ok(())
    }

    /// `POST /__admin/reset`: forgets every user, city, cache and journal entry.
    pub async fn reset(&self) -> Result<(), Error> {
        send(
            self.http.post(format!("{}/reset", self.base)),
            "POST /reset",
        )
        .await?;
        Ok(())
    }
}

/// Sends `request`; a transport error or a non-2xx status is an [`Error::Admin`] with the body.
async fn send(request: RequestBuilder, what: &str) -> Result<Response, Error> {
    let failed = |message: String| Error::Admin {
        what: what.to_owned(),
        message,
    };
    let response = request.send().await.map_err(|e| failed(e.to_string()))?;
    let status = response.status();
    if status.is_success() {
        return Ok(response);
    }
    let body = response.text().await.unwrap_or_default();
    Err(failed(format!("{status}: {}", body.trim())))
}
