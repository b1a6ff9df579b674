//! What `loadgen json` puts on the wire and what it accepts back: `-H` headers, `--body-file`,
//! `--content-type`, Basic auth from the URL (and a `Host` without it), the default `User-Agent`,
//! the `--max-body` limit against an endless body, and HTTPS against a local rustls server whose
//! certificate is trusted with `--cacert` and refused without it.

mod common;

use std::{
    process::Stdio,
    sync::{Arc, Mutex},
    time::Duration,
};

use axum::{Router, body::Bytes, http::HeaderMap, routing::any};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::TcpListener,
};

/// What one request brought to the recording server.
#[derive(Debug, Clone)]
struct Arrived {
    method: String,
    headers: HeaderMap,
    body: Bytes,
}

/// An axum server on port 0 that records every request it gets and answers `{}`.
async fn recording_server() -> (std::net::SocketAddr, Arc<Mutex<Vec<Arrived>>>) {
    let arrived = Arc::new(Mutex::new(Vec::new()));
    let log = arrived.clone();
    let app = Router::new().fallback(any(
        move |method: axum::http::Method, headers: HeaderMap, body: Bytes| {
            let log = log.clone();
            async move {
                log.lock().unwrap().push(Arrived {
                    method: method.to_string(),
                    headers,
                    body,
                });
                "{}"
            }
        },
    ));
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    (addr, arrived)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn headers_a_body_file_and_basic_auth_arrive_as_given() {
    let (addr, arrived) = recording_server().await;
    let dir = common::temp_dir("requests-body");
    let body_file = dir.join("body.xml");
    std::fs::write(&body_file, "<city name=\"Lisbon\"/>").unwrap();
    let url = format!("http://alice:s%40cret@{addr}/cities");

    let report = common::run_json(
        &url,
        &[
            "--method",
            "POST",
            "--body-file",
            body_file.to_str().unwrap(),
            "--content-type",
            "application/xml",
            "-H",
            "X-Request-Tag: run-7",
            "--header",
            "Accept: application/json",
            "-H",
            "X-Request-Tag: second",
            "--loops",
            "2",
        ],
    )
    .await;

    assert_eq!(
        report.figures.requests.pass, 2,
        "{:?}",
        report.failure_reasons
    );
    let arrived = arrived.lock().unwrap().clone();
    assert_eq!(
        arrived.len(),
        3,
        "the preflight's probe, then two counted requests"
    );
    for request in &arrived {
        let header = |name: &str| {
            request
                .headers
                .get_all(name)
                .iter()
                .map(|v| v.to_str().unwrap().to_owned())
                .collect::<Vec<_>>()
        };
        assert_eq!(request.method, "POST", "--method POST is sent as given");
        assert_eq!(request.body, "<city name=\"Lisbon\"/>", "the file, as is");
        assert_eq!(
            header("content-type"),
            ["application/xml"],
            "--content-type is sent as the content-type header"
        );
        assert_eq!(
            header("x-request-tag"),
            ["run-7", "second"],
            "repeated -H kept in order"
        );
        assert_eq!(
            header("accept"),
            ["application/json"],
            "--accept is sent as the accept header"
        );
        // alice:s@cret, percent-decoded, in base64.
        assert_eq!(
            header("authorization"),
            ["Basic YWxpY2U6c0BjcmV0"],
            "userinfo in --url is sent as basic auth"
        );
        assert_eq!(header("host"), [addr.to_string()], "no userinfo in Host");
        assert_eq!(
            header("user-agent"),
            [format!("loadgen/{}", env!("CARGO_PKG_VERSION"))],
            "the default user agent names loadgen and its version"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_header_flag_replaces_a_default_of_the_same_name() {
    let (addr, arrived) = recording_server().await;
    let url = format!("http://u:p@{addr}/json");

    common::run_json(
        &url,
        &[
            "-H",
            "User-Agent: probe/1",
            "-H",
            "Authorization: Bearer T",
            "--loops",
            "1",
        ],
    )
    .await;

    let arrived = arrived.lock().unwrap().clone();
    let last = arrived.last().expect("a request arrived");
    let all = |name: &str| last.headers.get_all(name).iter().count();
    assert_eq!(
        last.headers["user-agent"], "probe/1",
        "-H user-agent replaces the default user agent"
    );
    assert_eq!(
        last.headers["authorization"], "Bearer T",
        "-H authorization replaces any other authorization"
    );
    assert_eq!(
        (all("user-agent"), all("authorization")),
        (1, 1),
        "replaced, not added"
    );
    assert!(
        last.headers.get("content-type").is_none(),
        "no body, no type"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_endless_body_stops_at_max_body_as_body_too_large_and_closes_the_connection() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/json", listener.local_addr().unwrap());
    let connections = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counter = connections.clone();
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            counter.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            tokio::spawn(async move {
                let mut head = [0u8; 4096];
                let _ = socket.read(&mut head).await;
                let chunk = format!("4000\r\n{}\r\n", "x".repeat(0x4000));
                let start = "HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n";
                if socket.write_all(start.as_bytes()).await.is_err() {
                    return;
                }
                // Never ends, until the client hangs up.
                while socket.write_all(chunk.as_bytes()).await.is_ok() {}
            });
        }
    });

    let report = common::run_json(&url, &["--max-body", "64KiB", "--loops", "3"]).await;

    let requests = report.figures.requests;
    assert_eq!(
        (requests.total, requests.exception),
        (3, 3),
        "each of the 3 requests with a body over --max-body is an exception: {requests:?}"
    );
    assert_eq!(
        report.failure_reasons[0].reason,
        "body_too_large: the response body exceeds --max-body 64 KiB",
        "the failure reason names --max-body and its size: {:?}",
        report.failure_reasons
    );
    assert_eq!(
        connections.load(std::sync::atomic::Ordering::SeqCst),
        1 + 3,
        "the preflight's, then a fresh connection per request: each too-large one was closed"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_declared_length_over_max_body_is_refused_before_reading() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/json", listener.local_addr().unwrap());
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            tokio::spawn(async move {
                let mut head = [0u8; 4096];
                let _ = socket.read(&mut head).await;
                // Declares 10 GB and sends nothing more: only the header can say it is too large.
                let answer = "HTTP/1.1 200 OK\r\ncontent-length: 10000000000\r\n\r\n";
                let _ = socket.write_all(answer.as_bytes()).await;
                let _ = socket.read(&mut head).await;
            });
        }
    });

    let report = common::run_json(&url, &["--loops", "1", "--timeout", "1h"]).await;

    assert_eq!(
        report.figures.requests.exception, 1,
        "a declared length over --max-body is an exception: {:?}",
        report.failure_reasons
    );
    assert!(
        report.failure_reasons[0]
            .reason
            .starts_with("body_too_large"),
        "{:?}",
        report.failure_reasons
    );
}

/// A private CA and a server certificate for 127.0.0.1 signed by it.
struct Pki {
    ca_pem: String,
    chain: Vec<CertificateDer<'static>>,
    key: PrivateKeyDer<'static>,
}

fn pki() -> Pki {
    use rcgen::{BasicConstraints, CertificateParams, IsCa, KeyPair};
    let ca_key = KeyPair::generate().unwrap();
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let ca = ca_params.self_signed(&ca_key).unwrap();
    let key = KeyPair::generate().unwrap();
    let leaf = CertificateParams::new(vec!["127.0.0.1".to_owned(), "localhost".to_owned()])
        .unwrap()
        .signed_by(&key, &ca, &ca_key)
        .unwrap();
    Pki {
        ca_pem: ca.pem(),
        chain: vec![leaf.der().clone()],
        key: PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der())),
    }
}

/// A rustls HTTPS server on port 0 answering `{}` and closing each connection after one answer,
/// so every request of a run makes a new TLS handshake; counts the resumed ones.
async fn tls_server(pki: &Pki) -> (String, Arc<std::sync::atomic::AtomicUsize>) {
    let config = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_no_client_auth()
    .with_single_cert(pki.chain.clone(), pki.key.clone_key())
    .unwrap();
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("https://{}/json", listener.local_addr().unwrap());
    let resumed = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counter = resumed.clone();
    tokio::spawn(async move {
        while let Ok((socket, _)) = listener.accept().await {
            let (acceptor, counter) = (acceptor.clone(), counter.clone());
            tokio::spawn(async move {
                let Ok(mut tls) = acceptor.accept(socket).await else {
                    return;
                };
                if tls.get_ref().1.handshake_kind() == Some(rustls::HandshakeKind::Resumed) {
                    counter.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                }
                let mut head = [0u8; 4096];
                let _ = tls.read(&mut head).await;
                let answer = "HTTP/1.1 200 OK\r\ncontent-length: 2\r\nconnection: close\r\n\r\n{}";
                let _ = tls.write_all(answer.as_bytes()).await;
                let _ = tls.shutdown().await;
            });
        }
    });
    (url, resumed)
}

/// The certificate most tutorials make, `openssl req -x509 -newkey rsa:2048 -nodes -subj
/// /CN=localhost -addext subjectAltName=DNS:localhost,IP:127.0.0.1`: self-signed, and (as
/// OpenSSL's default configuration writes it) `CA:TRUE`, which webpki refuses as a server's own.
fn self_signed_ca_true() -> Pki {
    use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, KeyPair};
    let key = KeyPair::generate().unwrap();
    let mut params =
        CertificateParams::new(vec!["localhost".to_owned(), "127.0.0.1".to_owned()]).unwrap();
    params
        .distinguished_name
        .push(DnType::CommonName, "localhost");
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let certificate = params.self_signed(&key).unwrap();
    Pki {
        ca_pem: certificate.pem(),
        chain: vec![certificate.der().clone()],
        key: PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der())),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn https_with_cacert_trusts_the_self_signed_certificate_the_server_presents() {
    let pki = self_signed_ca_true();
    let (url, _) = tls_server(&pki).await;
    let dir = common::temp_dir("requests-tls-self-signed");
    let cert = dir.join("c.pem");
    std::fs::write(&cert, &pki.ca_pem).unwrap();

    let report =
        common::run_json(&url, &["--cacert", cert.to_str().unwrap(), "--loops", "2"]).await;

    assert_eq!(
        report.figures.requests.pass, 2,
        "the exact certificate in --cacert is trusted, as curl does: {:?}",
        report.failure_reasons
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn https_with_cacert_still_refuses_another_self_signed_certificate() {
    let (url, _) = tls_server(&self_signed_ca_true()).await;
    let dir = common::temp_dir("requests-tls-other-self-signed");
    let other = dir.join("other.pem");
    std::fs::write(&other, self_signed_ca_true().ca_pem).unwrap();

    let out = tokio::time::timeout(
        Duration::from_secs(60),
        common::binary()
            .args([
                "json",
                &url,
                "--loops",
                "1",
                "--cacert",
                other.to_str().unwrap(),
            ])
            .output(),
    )
    .await
    .expect("loadgen finishes")
    .expect("loadgen runs");

    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        out.status.code(),
        Some(2),
        "a certificate that is not the one in the file is not trusted: {stderr}"
    );
    assert!(
        stderr.contains("invalid peer certificate"),
        "the handshake's refusal is named: {stderr}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn https_with_cacert_passes_and_resumes_tls_sessions() {
    let pki = pki();
    let (url, resumed) = tls_server(&pki).await;
    let dir = common::temp_dir("requests-tls-ok");
    let ca = dir.join("ca.pem");
    std::fs::write(&ca, &pki.ca_pem).unwrap();

    let report = common::run_json(
        &url,
        &[
            "--cacert",
            ca.to_str().unwrap(),
            "--users",
            "2",
            "--loops",
            "3",
        ],
    )
    .await;

    assert_eq!(
        report.figures.requests.pass, 6,
        "{:?}",
        report.failure_reasons
    );
    assert!(
        resumed.load(std::sync::atomic::Ordering::SeqCst) >= 1,
        "reconnects resume the shared session cache instead of a full handshake"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn https_without_cacert_exits_2_naming_the_certificate_problem() {
    let pki = pki();
    let (url, _) = tls_server(&pki).await;

    let out = tokio::time::timeout(
        Duration::from_secs(60),
        common::binary()
            .args(["json", "--url", &url, "--loops", "1"])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .output(),
    )
    .await
    .expect("loadgen finishes")
    .expect("loadgen runs");

    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        out.status.code(),
        Some(2),
        "an untrusted certificate is a set-up error: {stderr}"
    );
    assert_eq!(stderr.lines().count(), 1, "one line: {stderr}");
    assert!(
        stderr.contains(&format!(
            "cannot reach {url}: tls: invalid peer certificate: UnknownIssuer"
        )) && stderr.contains("--cacert"),
        "names the certificate problem and the setting: {stderr}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn https_with_insecure_accepts_the_unknown_certificate() {
    let pki = pki();
    let (url, _) = tls_server(&pki).await;

    let report = common::run_json(&url, &["--insecure", "--loops", "2"]).await;

    assert_eq!(
        report.figures.requests.pass, 2,
        "{:?}",
        report.failure_reasons
    );
}
