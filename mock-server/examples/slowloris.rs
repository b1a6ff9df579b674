//! A slowloris flood against a running server, to measure what issue 10 asks: N connections each
//! send a request head one byte at a time and never finish it; meanwhile a fresh client times
//! `GET /json`, and the tool reports how long the server held the slow connections.
//!
//! Run with:
//! ```text
//! target/release/mock-server --bind 127.0.0.1:0 --header-timeout 10s &
//! cargo run --release -p mock-server --example slowloris -- 127.0.0.1:PORT 3000 100ms 40s
//! ```
//! Arguments: address, connections (3000), interval between bytes (100ms), how long to run (40s).

use std::{
    net::SocketAddr,
    sync::Arc,
    time::{Duration, Instant},
};

use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::TcpStream,
    sync::Mutex,
};

const HEAD: &[u8] = b"GET /json HTTP/1.1\r\nhost: slowloris.test\r\nuser-agent: slowloris\r\n\
x-padding: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n\
x-padding: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n\
x-padding: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n";

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let addr: SocketAddr = args
        .first()
        .expect("usage: slowloris HOST:PORT [CONNECTIONS] [INTERVAL] [DURATION]")
        .parse()
        .expect("an address such as 127.0.0.1:8020");
    let connections: usize = args.get(1).map_or(3000, |n| n.parse().expect("a count"));
    let interval = args
        .get(2)
        .map_or(Duration::from_millis(100), |text| parse(text));
    let duration = args
        .get(3)
        .map_or(Duration::from_secs(40), |text| parse(text));

    let started = Instant::now();
    // Per connection: how long the server held it after its first byte, if it closed it.
    let held: Arc<Mutex<Vec<Duration>>> = Arc::default();
    let mut refused = 0;
    for _ in 0..connections {
        let Ok(mut stream) = TcpStream::connect(addr).await else {
            refused += 1;
            continue;
        };
        let held = held.clone();
        tokio::spawn(async move {
            let first_byte = Instant::now();
            for byte in HEAD.iter().cycle() {
                if stream.write_all(&[*byte]).await.is_err() {
                    break;
                }
                // A close shows as a readable EOF (or a reset) while we trickle.
                let mut buf = [0u8; 512];
                if let Ok(Ok(0) | Err(_)) =
                    tokio::time::timeout(interval, stream.read(&mut buf)).await
                {
                    break;
                }
            }
            held.lock().await.push(first_byte.elapsed());
        });
    }
    println!(
        "{} slow connections opened in {:?} ({refused} refused at connect)",
        connections - refused,
        started.elapsed()
    );

    // A fresh client every second while the flood runs.
    let mut latencies = Vec::new();
    let mut failures = 0;
    while started.elapsed() < duration {
        tokio::time::sleep(Duration::from_secs(1)).await;
        match fresh_get(addr).await {
            Ok(latency) => latencies.push(latency),
            Err(error) => {
                failures += 1;
                eprintln!("fresh client failed: {error}");
            }
        }
    }
    latencies.sort();
    let closed = held.lock().await.clone();
    let mut sorted = closed.clone();
    sorted.sort();
    println!(
        "fresh GET /json: {} answered, {failures} failed; latency p50 {:?}, max {:?}",
        latencies.len(),
        latencies
            .get(latencies.len() / 2)
            .copied()
            .unwrap_or_default(),
        latencies.last().copied().unwrap_or_default(),
    );
    println!(
        "closed by the server within {duration:?}: {}/{}; held after the first byte: min {:?}, p50 {:?}, max {:?}",
        sorted.len(),
        connections - refused,
        sorted.first().copied().unwrap_or_default(),
        sorted.get(sorted.len() / 2).copied().unwrap_or_default(),
        sorted.last().copied().unwrap_or_default(),
    );
}

/// Connects, sends `GET /json`, reads the whole answer; the time it took.
async fn fresh_get(addr: SocketAddr) -> std::io::Result<Duration> {
    let started = Instant::now();
    let mut stream = TcpStream::connect(addr).await?;
    stream
        .write_all(b"GET /json HTTP/1.1\r\nhost: fresh.test\r\nconnection: close\r\n\r\n")
        .await?;
    let mut answer = Vec::new();
    tokio::time::timeout(Duration::from_secs(10), stream.read_to_end(&mut answer)).await??;
    if !answer.starts_with(b"HTTP/1.1 200") {
        return Err(std::io::Error::other(format!(
            "answer: {}",
            String::from_utf8_lossy(&answer)
        )));
    }
    Ok(started.elapsed())
}

fn parse(text: &str) -> Duration {
    shared::duration::parse_duration(text).expect("a duration such as 100ms or 40s")
}
