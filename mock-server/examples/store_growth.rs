//! How long the slowest create takes while the store grows to millions of cities, for a shard
//! count as dashmap picks it by default (4 x cores, a power of two) and for `store::SHARDS`.
//! A shard rehashes when it fills; with few shards each holds many entries and its rehash holds the
//! shard's write lock for a long time, stalling every create that hits it.
//!
//! Run with:
//! ```text
//! cargo run --release -p mock-server --example store_growth -- 5000000 2
//! ```
//! Arguments: cities to create (5,000,000), threads creating them (2).

use std::{
    sync::Arc,
    time::{Duration, Instant},
};

use mock_server::store::{Caps, CityRecord, SHARDS, Store};
use shared::api::City;
use uuid::Uuid;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let total: usize = args
        .first()
        .map_or(5_000_000, |n| n.parse().expect("a count"));
    let threads: usize = args.get(1).map_or(2, |n| n.parse().expect("a count"));
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let default_shards = (cores * 4).next_power_of_two();
    for shards in [default_shards, SHARDS] {
        let (worst, slow, elapsed) = grow(shards, total, threads);
        println!(
            "{shards:>4} shards: {total} creates by {threads} threads in {elapsed:.1?}; \
             worst create {worst:.2?}; creates over 1 ms: {slow}"
        );
    }
}

/// Creates `total` cities (record and owner list, as `POST /cities` does) from `threads`
/// threads; the worst single create, how many took over 1 ms, and the total time.
fn grow(shards: usize, total: usize, threads: usize) -> (Duration, usize, Duration) {
    let store = Arc::new(Store::with_shards(
        Caps {
            max_users: usize::MAX,
            max_records: usize::MAX,
        },
        shards,
    ));
    let owners: Vec<Uuid> = (0..1000).map(|_| Uuid::new_v4()).collect();
    let owners = Arc::new(owners);
    let started = Instant::now();
    let workers: Vec<_> = (0..threads)
        .map(|thread| {
            let store = store.clone();
            let owners = owners.clone();
            std::thread::spawn(move || {
                let mut worst = Duration::ZERO;
                let mut slow = 0;
                for n in (thread..total).step_by(threads) {
                    let owner = owners[n % owners.len()];
                    let id = Uuid::new_v4().to_string();
                    let record = CityRecord::own(
                        owner,
                        City {
                            id: id.clone(),
                            name: format!("city {n}"),
                            created_at: "2026-12-01T00:00:00Z".to_owned(),
                        },
                    );
                    let one = Instant::now();
                    store.insert_city_record(record);
                    store.push_city_id(owner, id);
                    let took = one.elapsed();
                    worst = worst.max(took);
                    slow += usize::from(took > Duration::from_millis(1));
                }
                (worst, slow)
            })
        })
        .collect();
    let (mut worst, mut slow) = (Duration::ZERO, 0);
    for worker in workers {
        let (w, s) = worker.join().expect("worker");
        worst = worst.max(w);
        slow += s;
    }
    (worst, slow, started.elapsed())
}
