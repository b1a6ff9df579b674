//! The fault catalogue, from the outside: for every fault, the symptom with the fault on under
//! concurrency and its absence with the fault off; the run-time switch; the journal; the CLI.
//!
//! Robust by design: concurrent requests are lined up with `barrier=K` (the server holds the first
//! K requests at the racy pause and releases them together), so each interleaving is forced, not
//! hoped for. Time-based faults use windows far wider than the test needs (a 30 s cache TTL, a
//! 30 s replication lag).

use std::{
    process::Command,
    time::{Duration, Instant},
};

use futures::future::join_all;
use mock_server::{Config, testing::TestServer};
use reqwest::{Client, StatusCode};
use serde_json::{Value, json};
use shared::admin::{AccessKind, FaultsView, JournalEntry, Stats};

const PASSWORD: &str = "abcdefghi";
/// Concurrent users in the race tests.
const USERS: usize = 10;

struct Harness {
    server: TestServer,
    http: Client,
}

#[derive(Debug, Clone)]
struct User {
    token: String,
    id: String,
}

impl Harness {
    async fn start() -> Self {
        Self::with(Config::default()).await
    }

    async fn with(config: Config) -> Self {
        Self {
            server: mock_server::testing::spawn(config).await,
            http: Client::builder()
                .timeout(Duration::from_secs(20))
                .build()
                .unwrap(),
        }
    }

    async fn register_raw(&self, email: &str, password: &str) -> reqwest::Response {
        self.http
            .post(self.server.api_url("/auth/register"))
            .json(&json!({"email": email, "password": password}))
            .send()
            .await
            .unwrap()
    }

    async fn login_raw(&self, email: &str, password: &str) -> reqwest::Response {
        self.http
            .post(self.server.api_url("/auth/token"))
            .form(&[("username", email), ("password", password)])
            .send()
            .await
            .unwrap()
    }

    async fn token(&self, email: &str, password: &str) -> String {
        let response = self.login_raw(email, password).await;
        let body = expect_status(response, StatusCode::OK, &format!("{email} logs in")).await;
        let body: Value = serde_json::from_str(&body).unwrap();
        body["access_token"].as_str().unwrap().to_owned()
    }

    async fn user(&self, tag: &str) -> User {
        let email = format!("{tag}@example.test");
        let response = self.register_raw(&email, PASSWORD).await;
        let body =
            expect_status(response, StatusCode::CREATED, &format!("{email} registers")).await;
        let body: Value = serde_json::from_str(&body).unwrap();
        let id = body["data"]["id"].as_str().unwrap().to_owned();
        let token = self.token(&email, PASSWORD).await;
        User { token, id }
    }

    async fn users(&self, count: usize) -> Vec<User> {
        let mut users = Vec::new();
        for i in 0..count {
            users.push(self.user(&format!("u{i}")).await);
        }
        users
    }

    async fn put_faults(&self, body: Value) -> reqwest::Response {
        self.http
            .put(self.server.url("/__admin/faults"))
            .json(&body)
            .send()
            .await
            .unwrap()
    }

    async fn enable(&self, spec: &str) {
        let response = self.put_faults(json!({"enable": [spec]})).await;
        assert_eq!(response.status(), StatusCode::OK, "{spec}");
    }

    async fn disable_all(&self) {
        let response = self.put_faults(json!({"disable": ["*"]})).await;
        expect_status(response, StatusCode::OK, "disabling every fault").await;
    }

    async fn faults(&self) -> FaultsView {
        let response = self
            .http
            .get(self.server.url("/__admin/faults"))
            .send()
            .await
            .unwrap();
        let body = expect_status(response, StatusCode::OK, "GET /__admin/faults").await;
        serde_json::from_str(&body).unwrap()
    }

    async fn create(&self, user: &User, name: &str) -> (StatusCode, Value) {
        let response = self
            .http
            .post(self.server.api_url("/cities"))
            .bearer_auth(&user.token)
            .json(&json!({"name": name}))
            .send()
            .await
            .unwrap();
        (response.status(), response.json().await.unwrap())
    }

    /// Creates a city and returns its id.
    async fn create_ok(&self, user: &User, name: &str) -> String {
        let (status, body) = self.create(user, name).await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        body["data"]["id"].as_str().unwrap().to_owned()
    }

    async fn show(&self, user: &User, id: &str) -> (StatusCode, Value) {
        let response = self
            .http
            .get(self.server.api_url(&format!("/cities/{id}")))
            .bearer_auth(&user.token)
            .send()
            .await
            .unwrap();
        (response.status(), response.json().await.unwrap())
    }

    /// Names of the cities `GET /cities` shows `user`.
    async fn list(&self, user: &User) -> Vec<String> {
        let response = self
            .http
            .get(self.server.api_url("/cities"))
            .bearer_auth(&user.token)
            .send()
            .await
            .unwrap();
        let body = expect_status(response, StatusCode::OK, "GET /cities").await;
        let body: Value = serde_json::from_str(&body).unwrap();
        names(&body["data"])
    }

    async fn journal(&self, since: u64) -> Vec<JournalEntry> {
        let response = self
            .http
            .get(self.server.url(&format!("/__admin/journal?since={since}")))
            .send()
            .await
            .unwrap();
        let content_type = response.headers()["content-type"].clone();
        let text = expect_status(response, StatusCode::OK, "GET /__admin/journal").await;
        assert_eq!(
            content_type, "application/x-ndjson",
            "the journal is served as NDJSON: {text}"
        );
        text.lines()
            .map(|line| serde_json::from_str(line).unwrap())
            .collect()
    }

    /// Waits until the server is serving at least `count` requests with a fault scope (the
    /// `in_flight` gauge): server-side proof that requests arrived, instead of a sleep.
    async fn wait_in_flight(&self, count: u64) {
        loop {
            let stats = self.stats().await;
            if stats.faults[shared::admin::fault_counters::IN_FLIGHT] >= count {
                return;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }

    async fn stats(&self) -> Stats {
        self.http
            .get(self.server.url("/__admin/stats"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    }
}

/// Reads `response`'s body and asserts its status is `expected`; the message names `why` and shows
/// the status and body that came back. Returns the body.
async fn expect_status(response: reqwest::Response, expected: StatusCode, why: &str) -> String {
    let status = response.status();
    let body = response.text().await.unwrap();
    assert_eq!(status, expected, "{why}: got {status} with body {body}");
    body
}

fn names(cities: &Value) -> Vec<String> {
    cities
        .as_array()
        .unwrap()
        .iter()
        .map(|city| city["name"].as_str().unwrap().to_owned())
        .collect()
}

fn counter(stats: &Stats, key: &str) -> u64 {
    stats.faults.get(key).copied().unwrap_or(0)
}

/// A city name that says who created it, as a load test's marker would.
fn marker(user: usize) -> String {
    format!("city-of-u{user}")
}

// ---------------------------------------------------------------------------------------------
// shared-identity

/// Every user creates one city at the same moment, then reads it back.
async fn concurrent_create_then_read(harness: &Harness, users: &[User]) -> Vec<StatusCode> {
    let ids = join_all(
        users
            .iter()
            .enumerate()
            .map(|(i, user)| async move { harness.create_ok(user, &marker(i)).await }),
    )
    .await;
    let mut statuses = Vec::new();
    for (user, id) in users.iter().zip(&ids) {
        statuses.push(harness.show(user, id).await.0);
    }
    statuses
}

#[tokio::test]
async fn shared_identity_puts_concurrent_creates_into_one_users_account() {
    let harness = &Harness::start().await;
    let users = harness.users(USERS).await;
    harness
        .enable(&format!("shared-identity:window=2ms,barrier={USERS}"))
        .await;

    let reads = concurrent_create_then_read(harness, &users).await;
    harness.disable_all().await;

    // All ten stored their id on the shared object before any read it back: every create went
    // to whoever stored last; nine users' own reads are 404.
    let missing = reads
        .iter()
        .filter(|s| **s == StatusCode::NOT_FOUND)
        .count();
    assert_eq!(missing, USERS - 1, "{reads:?}");
    let winner = reads.iter().position(|s| *s == StatusCode::OK).unwrap();
    let mut listed = harness.list(&users[winner]).await;
    listed.sort();
    let mut all: Vec<String> = (0..USERS).map(marker).collect();
    all.sort();
    assert_eq!(
        listed, all,
        "the last writer's account holds everyone's cities"
    );

    let journal = harness.journal(0).await;
    let writes: Vec<&JournalEntry> = journal
        .iter()
        .filter(|e| e.kind == AccessKind::Write && e.cross_user)
        .collect();
    assert_eq!(writes.len(), USERS - 1, "{journal:#?}");
    for entry in &writes {
        assert_eq!(
            entry.fault, "shared-identity",
            "a cross-user write is blamed on shared-identity: {entry:#?}"
        );
        assert_eq!(
            entry.method, "POST",
            "the cross-user write is the create (POST): {entry:#?}"
        );
        assert_eq!(
            entry.route, "/api/v1/cities",
            "the cross-user write is on the cities route: {entry:#?}"
        );
        assert_eq!(
            entry.status,
            Some(201),
            "the leaked create was answered 201 Created: {entry:#?}"
        );
        assert_eq!(
            entry.owner.as_deref(),
            Some(users[winner].id.as_str()),
            "the leaked city is owned by the last writer u{winner}: {entry:#?}"
        );
        assert_ne!(
            entry.user, entry.owner,
            "a cross-user write's writer differs from the city's owner: {entry:#?}"
        );
        assert!(
            entry.end_ms >= entry.start_ms && entry.end_unix_ms >= entry.start_unix_ms,
            "a journal entry ends no earlier than it starts, on both clocks: {entry:#?}"
        );
        assert!(
            entry.city_id.is_some(),
            "a cross-user write names the city it stored: {entry:#?}"
        );
    }
    // The winner's list carried the others' cities: a cross-user read, journalled even though the
    // fault is off by now, because the leaked data is still there.
    let reads: Vec<&JournalEntry> = journal
        .iter()
        .filter(|e| e.kind == AccessKind::Read && e.cross_user)
        .collect();
    assert_eq!(reads.len(), 1, "{journal:#?}");
    assert_eq!(
        reads[0].user.as_deref(),
        Some(users[winner].id.as_str()),
        "the cross-user read is the winner u{winner}'s own request: {journal:#?}"
    );
    assert_eq!(
        reads[0].route, "/api/v1/cities",
        "the cross-user read is the winner's city list: {journal:#?}"
    );

    let stats = harness.stats().await;
    assert_eq!(
        counter(&stats, "cross_user_writes"),
        (USERS - 1) as u64,
        "every create but the winner's is counted as a cross-user write: {stats:?}"
    );
    assert_eq!(
        counter(&stats, "cross_user_reads"),
        1,
        "one cross-user read is counted (the winner's list): {stats:?}"
    );
    assert!(
        counter(&stats, "shared-identity") >= (USERS - 1) as u64,
        "shared-identity counted at least every leaked create: {stats:?}"
    );
}

#[tokio::test]
async fn shared_identity_serves_concurrent_readers_another_users_list() {
    let harness = &Harness::start().await;
    let users = harness.users(USERS).await;
    for (i, user) in users.iter().enumerate() {
        harness.create_ok(user, &marker(i)).await;
    }
    harness
        .enable(&format!("shared-identity:barrier={USERS}"))
        .await;

    let lists = join_all(users.iter().map(|user| harness.list(user))).await;

    let foreign = lists
        .iter()
        .enumerate()
        .filter(|(i, list)| **list != [marker(*i)])
        .count();
    assert_eq!(foreign, USERS - 1, "{lists:?}");
    let leaks = harness
        .journal(0)
        .await
        .into_iter()
        .filter(|e| e.cross_user && e.kind == AccessKind::Read)
        .count();
    assert_eq!(
        leaks,
        USERS - 1,
        "every reader but one is journalled as a cross-user read: {lists:?}"
    );
}

#[tokio::test]
async fn without_shared_identity_concurrent_users_keep_their_own_cities() {
    let harness = &Harness::start().await;
    let users = harness.users(USERS).await;
    let reads = concurrent_create_then_read(harness, &users).await;
    assert!(reads.iter().all(|s| *s == StatusCode::OK), "{reads:?}");
    let lists = join_all(users.iter().map(|user| harness.list(user))).await;
    for (i, list) in lists.iter().enumerate() {
        assert_eq!(
            list,
            &[marker(i)],
            "with no fault on, u{i} lists only its own city: {lists:?}"
        );
    }
    let journal = harness.journal(0).await;
    assert!(
        journal.is_empty(),
        "with no fault on nothing is journalled: {journal:#?}"
    );
}

// ---------------------------------------------------------------------------------------------
// racy-id

#[tokio::test]
async fn racy_id_gives_concurrent_creates_one_id_and_the_owner_reads_a_foreign_city() {
    let harness = &Harness::start().await;
    let users = harness.users(USERS).await;
    harness
        .enable(&format!("racy-id:window=2ms,barrier={USERS}"))
        .await;

    let created = join_all(
        users
            .iter()
            .enumerate()
            .map(|(i, user)| async move { harness.create_ok(user, &marker(i)).await }),
    )
    .await;
    harness.disable_all().await;

    assert!(created.iter().all(|id| id == "1"), "{created:?}");
    let mut owner_reads = Vec::new();
    let mut missing = 0;
    for (i, user) in users.iter().enumerate() {
        match harness.show(user, "1").await {
            (StatusCode::OK, body) => owner_reads.push((i, body)),
            (StatusCode::NOT_FOUND, _) => missing += 1,
            other => panic!("{other:?}"),
        }
    }
    // The first insert owns city 1; each later one overwrote its content (an upsert).
    assert_eq!(
        missing,
        USERS - 1,
        "all but the first insert's owner get 404 for city 1 (their create overwrote a city they do not own)"
    );
    assert_eq!(
        owner_reads.len(),
        1,
        "exactly one user (the first inserter) owns city 1: {owner_reads:?}"
    );
    let (owner, body) = &owner_reads[0];
    assert_ne!(
        body["data"]["name"],
        marker(*owner),
        "the owner reads someone else's city"
    );

    let stats = harness.stats().await;
    assert_eq!(
        counter(&stats, "cross_user_writes"),
        (USERS - 1) as u64,
        "each overwriting create is counted as a cross-user write: {stats:?}"
    );
    assert_eq!(
        counter(&stats, "cross_user_reads"),
        1,
        "one cross-user read is counted (the owner reading the overwritten city): {stats:?}"
    );
    assert_eq!(
        counter(&stats, "racy-id"),
        USERS as u64,
        "racy-id fired on every concurrent create: {stats:?}"
    );
}

#[tokio::test]
async fn without_racy_id_concurrent_creates_get_distinct_ids() {
    let harness = &Harness::start().await;
    let users = harness.users(USERS).await;
    let created = join_all(
        users
            .iter()
            .enumerate()
            .map(|(i, user)| async move { harness.create_ok(user, &marker(i)).await }),
    )
    .await;
    let mut distinct = created.clone();
    distinct.sort();
    distinct.dedup();
    assert_eq!(
        distinct.len(),
        USERS,
        "without racy-id every concurrent create gets its own id: {created:?}"
    );
    for (i, (user, id)) in users.iter().zip(&created).enumerate() {
        let (status, body) = harness.show(user, id).await;
        assert_eq!(
            status,
            StatusCode::OK,
            "u{i} reads its own city {id}: {body}"
        );
        assert_eq!(
            body["data"]["name"],
            marker(i),
            "u{i}'s city {id} holds the name u{i} gave it: {body}"
        );
    }
}

// ---------------------------------------------------------------------------------------------
// unscoped-cache

#[tokio::test]
async fn unscoped_cache_serves_every_user_the_first_users_answers() {
    let harness = &Harness::start().await;
    let users = harness.users(USERS).await;
    let first_city = harness.create_ok(&users[0], &marker(0)).await;
    for (i, user) in users.iter().enumerate().skip(1) {
        harness.create_ok(user, &marker(i)).await;
    }
    // A TTL far longer than the test: the first answer stays cached throughout.
    harness.enable("unscoped-cache:ttl=60s").await;
    assert_eq!(
        harness.list(&users[0]).await,
        [marker(0)],
        "the first list (which the cache keeps) is u0's own"
    );
    assert_eq!(
        harness.show(&users[0], &first_city).await.0,
        StatusCode::OK,
        "u0 reads its own city {first_city} (the answer the cache keeps)"
    );

    let lists = join_all(users[1..].iter().map(|user| harness.list(user))).await;
    let shows = join_all(
        users[1..]
            .iter()
            .map(|user| harness.show(user, &first_city)),
    )
    .await;

    assert!(lists.iter().all(|list| *list == [marker(0)]), "{lists:?}");
    assert!(
        shows
            .iter()
            .all(|(status, body)| *status == StatusCode::OK && body["data"]["name"] == marker(0)),
        "unscoped-cache: every other user reading city {first_city} gets u0's cached answer: {shows:?}"
    );
    let stats = harness.stats().await;
    assert_eq!(
        counter(&stats, "cross_user_reads"),
        2 * (USERS - 1) as u64,
        "every other user's list and show is a cross-user read of u0's cached answers: {stats:?}"
    );
    let journal = harness.journal(0).await;
    assert!(
        journal.iter().all(|e| e.fault == "unscoped-cache"),
        "every journalled access is blamed on unscoped-cache: {journal:#?}"
    );
    assert!(
        journal
            .iter()
            .filter(|e| e.cross_user)
            .all(|e| e.owner.as_deref() == Some(users[0].id.as_str())),
        "every cross-user read is of u0's cached data: {journal:#?}"
    );
}

#[tokio::test]
async fn without_unscoped_cache_each_user_gets_their_own_answers() {
    let harness = &Harness::start().await;
    let users = harness.users(USERS).await;
    let first_city = harness.create_ok(&users[0], &marker(0)).await;
    for (i, user) in users.iter().enumerate().skip(1) {
        harness.create_ok(user, &marker(i)).await;
    }
    assert_eq!(
        harness.list(&users[0]).await,
        [marker(0)],
        "without the cache u0 lists its own city"
    );
    let lists = join_all(users.iter().map(|user| harness.list(user))).await;
    for (i, list) in lists.iter().enumerate() {
        assert_eq!(
            list,
            &[marker(i)],
            "without unscoped-cache u{i} lists only its own city: {lists:?}"
        );
    }
    let shows = join_all(
        users[1..]
            .iter()
            .map(|user| harness.show(user, &first_city)),
    )
    .await;
    assert!(
        shows
            .iter()
            .all(|(status, _)| *status == StatusCode::NOT_FOUND),
        "without unscoped-cache every other user's read of u0's city {first_city} is 404: {shows:?}"
    );
}

// ---------------------------------------------------------------------------------------------
// register-race

#[tokio::test]
async fn register_race_lets_one_email_register_twice() {
    let harness = &Harness::start().await;
    harness.enable("register-race:barrier=2").await;
    let responses = join_all(
        ["first-password", "second-password"]
            .map(|password| harness.register_raw("twice@example.test", password)),
    )
    .await;
    assert!(
        responses.iter().all(|r| r.status() == StatusCode::CREATED),
        "{responses:?}"
    );
    // One of the two can no longer log in: the other's insert replaced the account row.
    let logins = join_all(
        ["first-password", "second-password"]
            .map(|password| harness.login_raw("twice@example.test", password)),
    )
    .await;
    let statuses: Vec<StatusCode> = logins.iter().map(|r| r.status()).collect();
    assert_eq!(
        statuses.iter().filter(|s| **s == StatusCode::OK).count(),
        1,
        "{statuses:?}"
    );
    assert!(
        statuses.contains(&StatusCode::UNAUTHORIZED),
        "the user whose account row was replaced gets 401 at login: {statuses:?}"
    );
    let journal = harness.journal(0).await;
    assert!(
        journal
            .iter()
            .any(|e| e.fault == "register-race" && e.cross_user && e.kind == AccessKind::Write),
        "{journal:#?}"
    );
}

#[tokio::test]
async fn register_race_makes_two_users_share_one_account() {
    let harness = &Harness::start().await;
    harness.enable("register-race:barrier=2").await;
    let responses = join_all(
        ["ann@example.test", "bob@example.test"].map(|email| harness.register_raw(email, PASSWORD)),
    )
    .await;
    let mut ids = Vec::new();
    for response in responses {
        let body = expect_status(
            response,
            StatusCode::CREATED,
            "register-race: both concurrent registrations succeed",
        )
        .await;
        let body: Value = serde_json::from_str(&body).unwrap();
        ids.push(body["data"]["id"].as_str().unwrap().to_owned());
    }
    assert_eq!(ids[0], ids[1], "both got the same account number");

    let ann = User {
        token: harness.token("ann@example.test", PASSWORD).await,
        id: ids[0].clone(),
    };
    let bob = User {
        token: harness.token("bob@example.test", PASSWORD).await,
        id: ids[1].clone(),
    };
    harness.create_ok(&ann, "ann-city").await;
    assert_eq!(
        harness.list(&bob).await,
        ["ann-city"],
        "bob sees ann's city"
    );
    let journal = harness.journal(0).await;
    let logins: Vec<&JournalEntry> = journal
        .iter()
        .filter(|e| e.route == "/api/v1/auth/token" && e.cross_user)
        .collect();
    assert_eq!(logins.len(), 1, "{journal:#?} {ann:?} {bob:?}");
}

#[tokio::test]
async fn without_register_race_a_concurrent_duplicate_is_409() {
    let harness = &Harness::start().await;
    let responses = join_all((0..USERS).map(|i| async move {
        harness
            .register_raw("once@example.test", &format!("password-{i}"))
            .await
    }))
    .await;
    let statuses: Vec<StatusCode> = responses.iter().map(|r| r.status()).collect();
    assert_eq!(
        statuses
            .iter()
            .filter(|s| **s == StatusCode::CREATED)
            .count(),
        1,
        "without register-race exactly one of the concurrent duplicate registrations is 201: {statuses:?}"
    );
    assert_eq!(
        statuses
            .iter()
            .filter(|s| **s == StatusCode::CONFLICT)
            .count(),
        USERS - 1,
        "without register-race every other concurrent duplicate is 409 Conflict: {statuses:?}"
    );
    let users = join_all(["ann", "bob"].map(|tag| harness.user(tag))).await;
    assert_ne!(
        users[0].id, users[1].id,
        "two users registered one after the other get distinct ids: {users:?}"
    );
}

// ---------------------------------------------------------------------------------------------
// stale-read

#[tokio::test]
async fn stale_read_answers_404_right_after_a_create() {
    let harness = &Harness::start().await;
    let users = harness.users(USERS).await;
    harness
        .enable(&format!("stale-read:lag=30s,barrier={USERS}"))
        .await;

    let results = join_all(users.iter().enumerate().map(|(i, user)| async move {
        let id = harness.create_ok(user, &marker(i)).await;
        let read = harness.show(user, &id).await.0;
        (id, read, harness.list(user).await)
    }))
    .await;
    for (_, read, list) in &results {
        assert_eq!(
            *read,
            StatusCode::NOT_FOUND,
            "stale-read: the owner's read right after its create misses the replica (404)"
        );
        assert!(list.is_empty(), "{list:?}");
    }
    let journal = harness.journal(0).await;
    assert!(
        journal
            .iter()
            .all(|e| e.fault == "stale-read" && !e.cross_user),
        "stale-read journals only the owners' own stale reads, none cross-user: {journal:#?}"
    );
    assert!(
        journal.iter().any(|e| e.status == Some(404)),
        "a 404 from the stale replica is journalled: {journal:#?}"
    );

    // Switched off, reads go to the primary again: every write is there.
    harness.disable_all().await;
    for ((id, _, _), user) in results.iter().zip(&users) {
        assert_eq!(
            harness.show(user, id).await.0,
            StatusCode::OK,
            "with stale-read off, the primary has city {id}"
        );
    }
}

#[tokio::test]
async fn stale_read_shows_the_old_state_after_a_rename_or_a_delete_to_its_owner_only() {
    let harness = &Harness::start().await;
    let users = harness.users(2).await;
    let renamed = harness.create_ok(&users[0], "old-name").await;
    let deleted = harness.create_ok(&users[0], "doomed").await;
    harness.enable("stale-read:lag=30s").await;

    let response = harness
        .http
        .put(harness.server.api_url(&format!("/cities/{renamed}")))
        .bearer_auth(&users[0].token)
        .json(&json!({"name": "new-name"}))
        .send()
        .await
        .unwrap();
    expect_status(response, StatusCode::OK, "the owner renames its city").await;
    let response = harness
        .http
        .delete(harness.server.api_url(&format!("/cities/{deleted}")))
        .bearer_auth(&users[0].token)
        .send()
        .await
        .unwrap();
    expect_status(
        response,
        StatusCode::NO_CONTENT,
        "the owner deletes its city",
    )
    .await;

    let (status, body) = harness.show(&users[0], &renamed).await;
    assert_eq!(
        status,
        StatusCode::OK,
        "stale-read: the owner still reads the renamed city {renamed} from the replica: {body}"
    );
    assert_eq!(
        body["data"]["name"], "old-name",
        "stale-read: the replica still holds the old name: {body}"
    );
    assert_eq!(
        harness.show(&users[0], &deleted).await.0,
        StatusCode::OK,
        "stale-read: the owner still reads the deleted city {deleted} from the replica"
    );
    // The replica does not lift the ownership check.
    assert_eq!(
        harness.show(&users[1], &deleted).await.0,
        StatusCode::NOT_FOUND,
        "the replica does not lift the ownership check: another user's read of {deleted} is 404"
    );
    assert_eq!(
        harness.journal(0).await.len(),
        2,
        "the owner's two stale reads are journalled, the other user's 404 is not"
    );
}

#[tokio::test]
async fn without_stale_read_a_read_right_after_a_create_finds_it() {
    let harness = &Harness::start().await;
    let users = harness.users(USERS).await;
    let reads = concurrent_create_then_read(harness, &users).await;
    assert!(
        reads.iter().all(|s| *s == StatusCode::OK),
        "without stale-read each user reads its city right after creating it: {reads:?}"
    );
}

// ---------------------------------------------------------------------------------------------
// bola

#[tokio::test]
async fn bola_lets_users_read_rename_and_delete_each_others_cities() {
    let harness = &Harness::start().await;
    let users = harness.users(USERS).await;
    let mut ids = Vec::new();
    for (i, user) in users.iter().enumerate() {
        ids.push(harness.create_ok(user, &marker(i)).await);
    }
    harness.enable(&format!("bola:barrier={USERS}")).await;

    // Each user asks for the next user's city, all at once.
    let reads = join_all(
        users
            .iter()
            .enumerate()
            .map(|(i, user)| harness.show(user, &ids[(i + 1) % USERS])),
    )
    .await;
    for (i, (status, body)) in reads.iter().enumerate() {
        assert_eq!(
            *status,
            StatusCode::OK,
            "bola: u{i} reads the next user's city: {body}"
        );
        assert_eq!(
            body["data"]["name"],
            marker((i + 1) % USERS),
            "bola: u{i} gets the next user's city content: {body}"
        );
    }

    // Deterministic: one request at a time shows it too.
    let renamed = harness
        .http
        .put(harness.server.api_url(&format!("/cities/{}", ids[1])))
        .bearer_auth(&users[0].token)
        .json(&json!({"name": "renamed-by-u0"}))
        .send()
        .await
        .unwrap();
    expect_status(renamed, StatusCode::OK, "bola: u0 renames u1's city").await;
    let deleted = harness
        .http
        .delete(harness.server.api_url(&format!("/cities/{}", ids[2])))
        .bearer_auth(&users[0].token)
        .send()
        .await
        .unwrap();
    expect_status(
        deleted,
        StatusCode::NO_CONTENT,
        "bola: u0 deletes u2's city",
    )
    .await;
    harness.disable_all().await;
    assert_eq!(
        harness.list(&users[1]).await,
        ["renamed-by-u0"],
        "u1's city holds the name u0 gave it under bola"
    );
    assert!(
        harness.list(&users[2]).await.is_empty(),
        "the city u0 deleted under bola is gone from u2's list"
    );

    let stats = harness.stats().await;
    // Ten foreign reads, then u1 listing the city u0 renamed.
    assert_eq!(
        counter(&stats, "cross_user_reads"),
        USERS as u64 + 1,
        "ten foreign reads plus u1 listing the city u0 renamed are counted: {stats:?}"
    );
    assert_eq!(
        counter(&stats, "cross_user_writes"),
        2,
        "u0's rename and delete of others' cities are counted as cross-user writes: {stats:?}"
    );
}

#[tokio::test]
async fn without_bola_another_users_city_is_404() {
    let harness = &Harness::start().await;
    let users = harness.users(USERS).await;
    let mut ids = Vec::new();
    for (i, user) in users.iter().enumerate() {
        ids.push(harness.create_ok(user, &marker(i)).await);
    }
    let reads = join_all(
        users
            .iter()
            .enumerate()
            .map(|(i, user)| harness.show(user, &ids[(i + 1) % USERS])),
    )
    .await;
    assert!(
        reads.iter().all(|(s, _)| *s == StatusCode::NOT_FOUND),
        "without bola every read of another user's city is 404: {reads:?}"
    );
}

// ---------------------------------------------------------------------------------------------
// anonymous-fallback

impl Harness {
    /// `GET /cities` with `authorization` as the whole header value (`None`: no header).
    async fn list_as(&self, authorization: Option<&str>) -> (StatusCode, Value) {
        let mut request = self.http.get(self.server.api_url("/cities"));
        if let Some(value) = authorization {
            request = request.header("authorization", value);
        }
        let response = request.send().await.unwrap();
        (response.status(), response.json().await.unwrap())
    }
}

#[tokio::test]
async fn anonymous_fallback_serves_a_request_without_a_valid_token_as_the_last_user() {
    let harness = &Harness::start().await;
    let users = harness.users(2).await;
    harness.create_ok(&users[1], &marker(1)).await;
    harness.enable("anonymous-fallback").await;
    // u1 is the last user authenticated.
    assert_eq!(harness.list(&users[1]).await, [marker(1)], "u1's own list");

    for authorization in [None, Some("Bearer not-a-token"), Some("Bearer a.b.c")] {
        let (status, body) = harness.list_as(authorization).await;
        assert_eq!(
            status,
            StatusCode::OK,
            "anonymous-fallback: {authorization:?} is served: {body}"
        );
        assert_eq!(
            names(&body["data"]),
            [marker(1)],
            "anonymous-fallback: {authorization:?} gets u1's list"
        );
    }
    let created = harness
        .http
        .post(harness.server.api_url("/cities"))
        .json(&json!({"name": "made-by-nobody"}))
        .send()
        .await
        .unwrap();
    expect_status(
        created,
        StatusCode::CREATED,
        "anonymous-fallback: a create without a token",
    )
    .await;
    assert_eq!(
        harness.list(&users[1]).await,
        [marker(1), "made-by-nobody".to_owned()],
        "the anonymous create landed in u1's account"
    );
}

#[tokio::test]
async fn without_anonymous_fallback_a_request_without_a_valid_token_is_401() {
    let harness = &Harness::start().await;
    let users = harness.users(1).await;
    harness.create_ok(&users[0], &marker(0)).await;
    harness.list(&users[0]).await;
    for authorization in [None, Some("Bearer not-a-token"), Some("Bearer a.b.c")] {
        let (status, body) = harness.list_as(authorization).await;
        assert_eq!(
            status,
            StatusCode::UNAUTHORIZED,
            "{authorization:?} is refused: {body}"
        );
    }
}

// ---------------------------------------------------------------------------------------------
// delete-resurrect

impl Harness {
    async fn rename(&self, user: &User, id: &str, name: &str) -> StatusCode {
        self.http
            .put(self.server.api_url(&format!("/cities/{id}")))
            .bearer_auth(&user.token)
            .json(&json!({"name": name}))
            .send()
            .await
            .unwrap()
            .status()
    }

    async fn delete(&self, user: &User, id: &str) -> StatusCode {
        self.http
            .delete(self.server.api_url(&format!("/cities/{id}")))
            .bearer_auth(&user.token)
            .send()
            .await
            .unwrap()
            .status()
    }
}

#[tokio::test]
async fn delete_resurrect_lets_a_rename_in_flight_undo_a_delete() {
    let harness = &Harness::start().await;
    let users = harness.users(1).await;
    let user = &users[0];
    let id = harness.create_ok(user, &marker(0)).await;
    // A window far wider than the delete needs to land inside it.
    harness.enable("delete-resurrect:window=3s").await;

    let rename = harness.rename(user, &id, "renamed");
    let delete = async {
        // The rename is in the server (server-side proof), then past its read.
        harness.wait_in_flight(1).await;
        tokio::time::sleep(Duration::from_millis(300)).await;
        harness.delete(user, &id).await
    };
    let (renamed, deleted) = tokio::join!(rename, delete);
    assert_eq!(
        deleted,
        StatusCode::NO_CONTENT,
        "the delete is acknowledged"
    );
    assert_eq!(renamed, StatusCode::OK, "the rename read the city first");
    let (status, body) = harness.show(user, &id).await;
    assert_eq!(
        status,
        StatusCode::OK,
        "delete-resurrect: the deleted city is back: {body}"
    );
    assert_eq!(body["data"]["name"], "renamed", "as the rename wrote it");
}

#[tokio::test]
async fn without_delete_resurrect_a_deleted_city_stays_deleted_whatever_the_order() {
    let harness = &Harness::start().await;
    let users = harness.users(1).await;
    let user = &users[0];
    for round in 0..5 {
        let id = harness.create_ok(user, &marker(round)).await;
        let (renamed, deleted) = tokio::join!(
            harness.rename(user, &id, "renamed"),
            harness.delete(user, &id)
        );
        assert_eq!(
            deleted,
            StatusCode::NO_CONTENT,
            "the delete is acknowledged"
        );
        assert!(
            renamed == StatusCode::OK || renamed == StatusCode::NOT_FOUND,
            "the rename came first or found nothing: {renamed}"
        );
        let (status, body) = harness.show(user, &id).await;
        assert_eq!(
            status,
            StatusCode::NOT_FOUND,
            "a deleted city stays deleted: {body}"
        );
    }
}

// ---------------------------------------------------------------------------------------------
// lost-update

#[tokio::test]
async fn lost_update_drops_concurrent_creates_by_one_user() {
    let harness = &Harness::start().await;
    let user = harness.user("solo").await;
    harness
        .enable(&format!("lost-update:window=2ms,barrier={USERS}"))
        .await;

    let ids = join_all((0..USERS).map(|i| {
        let user = &user;
        async move { harness.create_ok(user, &marker(i)).await }
    }))
    .await;
    harness.disable_all().await;

    // Every create read the same empty list; each write-back replaced the previous one.
    assert_eq!(
        harness.list(&user).await.len(),
        1,
        "lost-update: only one of the concurrent creates' write-backs remains in the list"
    );
    let mut found = 0;
    for id in &ids {
        if harness.show(&user, id).await.0 == StatusCode::OK {
            found += 1;
        }
    }
    assert_eq!(found, 1, "nine acknowledged creates are gone");
    let journal = harness.journal(0).await;
    assert_eq!(journal.len(), USERS - 1, "{journal:#?}");
    assert!(
        journal
            .iter()
            .all(|e| e.fault == "lost-update" && !e.cross_user),
        "lost-update journals only same-user entries blamed on lost-update: {journal:#?}"
    );
}

#[tokio::test]
async fn without_lost_update_concurrent_creates_by_one_user_all_stay() {
    let harness = &Harness::start().await;
    let user = harness.user("solo").await;
    let ids = join_all((0..USERS).map(|i| {
        let user = &user;
        async move { harness.create_ok(user, &marker(i)).await }
    }))
    .await;
    assert_eq!(
        harness.list(&user).await.len(),
        USERS,
        "without lost-update all concurrent creates by one user stay in the list"
    );
    for id in &ids {
        assert_eq!(
            harness.show(&user, id).await.0,
            StatusCode::OK,
            "without lost-update city {id} stays readable"
        );
    }
}

// ---------------------------------------------------------------------------------------------
// pool-starvation

#[tokio::test]
async fn pool_starvation_hangs_every_request_until_switched_off() {
    let harness = &Harness::start().await;
    let user = harness.user("pool").await;
    harness
        .enable("pool-starvation:size=2,overflow=0,window=0,barrier=2")
        .await;
    let quick = Client::builder()
        .timeout(Duration::from_millis(500))
        .build()
        .unwrap();
    let get = |client: Client| {
        let url = harness.server.api_url("/cities");
        let token = user.token.clone();
        async move { client.get(url).bearer_auth(token).send().await }
    };

    // Two requests each take one of the two connections, then both wait for a second.
    let hung = tokio::spawn(join_all([
        get(harness.http.clone()),
        get(harness.http.clone()),
    ]));
    harness.wait_in_flight(2).await;
    // Both hold a connection and wait for a second once they passed the barrier; a third request
    // finds no connection and hangs (until the client's timeout) instead of being served.
    let later = get(quick.clone()).await;
    assert!(
        later.unwrap_err().is_timeout(),
        "a third request was answered although the pool is starved"
    );

    // Switching the fault off rebuilds the pool: the hung requests get 503, new ones work.
    harness.disable_all().await;
    let hung = tokio::time::timeout(Duration::from_secs(60), hung)
        .await
        .expect("the hung requests were not released by the switch-off (60 s liveness guard)")
        .unwrap();
    for response in hung {
        assert_eq!(
            response.unwrap().status(),
            StatusCode::SERVICE_UNAVAILABLE,
            "after the switch-off a hung request is released with 503"
        );
    }
    assert_eq!(
        get(quick).await.unwrap().status(),
        StatusCode::OK,
        "after the switch-off the rebuilt pool serves a new request"
    );
    // Every request that waited on the starved pool is journalled once it is answered (the one
    // whose client gave up may be, too).
    let journal = harness.journal(0).await;
    assert!((2..=3).contains(&journal.len()), "{journal:#?}");
    assert!(
        journal.iter().all(|e| e.status == Some(503)),
        "every journalled starved request was answered 503: {journal:#?}"
    );
}

#[tokio::test]
async fn without_pool_starvation_many_concurrent_requests_all_succeed() {
    let harness = &Harness::start().await;
    let user = harness.user("pool").await;
    let statuses = join_all((0..40).map(|_| async {
        harness
            .http
            .get(harness.server.api_url("/cities"))
            .bearer_auth(&user.token)
            .send()
            .await
            .unwrap()
            .status()
    }))
    .await;
    assert!(
        statuses.iter().all(|s| *s == StatusCode::OK),
        "without pool-starvation 40 concurrent requests all get 200: {statuses:?}"
    );
}

#[tokio::test]
async fn a_server_stops_gracefully_while_a_fault_holds_requests() {
    let harness = Harness::start().await;
    let user = harness.user("pool").await;
    harness
        .enable("pool-starvation:size=1,overflow=0,window=0,barrier=1")
        .await;
    let url = harness.server.api_url("/cities");
    let http = harness.http.clone();
    let token = user.token.clone();
    let hung = tokio::spawn(async move { http.get(url).bearer_auth(token).send().await });
    harness.wait_in_flight(1).await;
    tokio::time::timeout(Duration::from_secs(60), harness.server.stop())
        .await
        .expect(
            "graceful shutdown still waits on the request the pool holds (60 s liveness guard)",
        );
    let response = hung.await.unwrap().unwrap();
    assert_eq!(
        response.status(),
        StatusCode::SERVICE_UNAVAILABLE,
        "graceful shutdown answers the request the pool held with 503"
    );
}

// ---------------------------------------------------------------------------------------------
// error-rate, reset, slow-body

#[tokio::test]
async fn error_rate_answers_500_with_a_json_error_but_spares_auth() {
    let harness = &Harness::start().await;
    harness.enable("error-rate").await;
    let responses =
        join_all((0..USERS).map(|_| harness.http.get(harness.server.url("/json")).send())).await;
    for response in responses {
        let body = expect_status(
            response.unwrap(),
            StatusCode::INTERNAL_SERVER_ERROR,
            "error-rate: /json is answered 500",
        )
        .await;
        let body: Value = serde_json::from_str(&body).unwrap();
        assert_eq!(
            body["error"]["code"], "injected_error",
            "the injected 500 carries a JSON error with code injected_error: {body}"
        );
    }
    // Registration and login still work, so a load test can get going.
    let user = harness.user("still-works").await;
    let (status, _) = harness.create(&user, "never-stored").await;
    assert_eq!(
        status,
        StatusCode::INTERNAL_SERVER_ERROR,
        "error-rate: a create is answered 500 even for a logged-in user"
    );
    harness.disable_all().await;
    assert!(harness.list(&user).await.is_empty(), "nothing was written");
    assert_eq!(
        harness.journal(0).await.len(),
        USERS + 1,
        "one entry per injected error"
    );
    let stats = harness.stats().await;
    assert_eq!(
        stats.requests["GET /json"][&500], USERS as u64,
        "every injected /json error is counted as a 500: {:?}",
        stats.requests
    );
    assert_eq!(
        stats.requests["POST /api/v1/cities"][&500], 1,
        "the injected create error is counted as a 500: {:?}",
        stats.requests
    );
}

#[tokio::test]
async fn error_rate_with_p_and_seed_repeats_the_same_pattern() {
    let mut runs = Vec::new();
    for _ in 0..2 {
        let harness = &Harness::start().await;
        harness.enable("error-rate:p=0.5,seed=7").await;
        let mut pattern = Vec::new();
        for _ in 0..40 {
            let response = harness
                .http
                .get(harness.server.url("/json"))
                .send()
                .await
                .unwrap();
            pattern.push(response.status().as_u16());
        }
        runs.push(pattern);
    }
    assert_eq!(
        runs[0], runs[1],
        "error-rate with the same p and seed gives the same pattern in two runs"
    );
    assert!(
        runs[0].contains(&200) && runs[0].contains(&500),
        "{:?}",
        runs[0]
    );
}

#[tokio::test]
async fn without_error_rate_json_answers_200() {
    let harness = &Harness::start().await;
    let statuses =
        join_all((0..USERS).map(|_| harness.http.get(harness.server.url("/json")).send())).await;
    assert!(
        statuses
            .into_iter()
            .all(|r| r.unwrap().status() == StatusCode::OK),
        "without error-rate every /json request gets 200"
    );
}

/// Sends `GET /json` and reads the whole body; `Err` when the connection broke.
async fn fetch_json(http: &Client, url: &str) -> Result<String, reqwest::Error> {
    http.get(url).send().await?.text().await
}

#[tokio::test]
async fn reset_drops_the_connection_without_a_complete_response() {
    let harness = &Harness::start().await;
    let user = harness.user("reset").await;
    harness.enable(&format!("reset:barrier={USERS}")).await;
    let url = harness.server.url("/json");
    let results = join_all((0..USERS).map(|_| fetch_json(&harness.http, &url))).await;
    assert!(results.iter().all(Result::is_err), "{results:?}");
    // The handler ran before the connection dropped: the create landed.
    let created = harness
        .http
        .post(harness.server.api_url("/cities"))
        .bearer_auth(&user.token)
        .json(&json!({"name": "landed"}))
        .send()
        .await;
    let broken = match created {
        Err(_) => true,
        Ok(response) => response.text().await.is_err(),
    };
    assert!(
        broken,
        "reset: the create's connection breaks before a complete response"
    );
    harness.disable_all().await;
    assert_eq!(
        harness.list(&user).await,
        ["landed"],
        "reset: the create ran before its connection was dropped, so the city landed"
    );
    let journal = harness.journal(0).await;
    assert_eq!(
        journal.len(),
        USERS + 1,
        "one reset entry per /json request plus the create: {journal:#?}"
    );
    assert!(
        journal
            .iter()
            .all(|e| e.fault == "reset" && e.status.is_none()),
        "every journalled reset entry has no status (no response was sent): {journal:#?}"
    );
    // The server is fine afterwards.
    assert!(
        fetch_json(&harness.http, &url).await.is_ok(),
        "the server serves /json again once reset is off"
    );
}

#[tokio::test]
async fn slow_body_dribbles_the_body_out_over_the_duration() {
    let harness = &Harness::start().await;
    harness
        .enable(&format!("slow-body:duration=3s,barrier={USERS}"))
        .await;
    let url = harness.server.url("/json");
    let started = Instant::now();
    let bodies = join_all((0..USERS).map(|_| fetch_json(&harness.http, &url))).await;
    let elapsed = started.elapsed();
    for body in bodies {
        let body: Value = serde_json::from_str(&body.unwrap()).unwrap();
        assert_eq!(
            body["code"], 1,
            "the dribbled body is the whole, intact answer"
        );
    }
    // A lower bound only: the server sleeps 0.3 s before each of the 10 pieces, which no load
    // can shorten.
    assert!(
        elapsed >= Duration::from_millis(2700),
        "the body came in {elapsed:?}, faster than the 3 s it is dribbled over"
    );
    let journal = harness.journal(0).await;
    assert_eq!(
        journal.len(),
        USERS,
        "one slow-body entry per request: {journal:#?}"
    );

    harness.disable_all().await;
    fetch_json(&harness.http, &url).await.unwrap();
    assert_eq!(
        harness.journal(0).await.len(),
        USERS,
        "a request after the switch-off was dribbled too"
    );
}

// ---------------------------------------------------------------------------------------------
// The run-time switch, the header, the journal

#[tokio::test]
async fn a_fault_switched_at_run_time_applies_to_the_next_request() {
    let harness = &Harness::start().await;
    let users = harness.users(2).await;
    let city = harness.create_ok(&users[0], "mine").await;
    assert_eq!(
        harness.show(&users[1], &city).await.0,
        StatusCode::NOT_FOUND,
        "before bola is switched on another user's city is 404"
    );

    let response = harness
        .put_faults(json!({"enable": ["bola:p=1,seed=3"], "header": true}))
        .await;
    let body = expect_status(response, StatusCode::OK, "PUT /__admin/faults enables bola").await;
    let view: FaultsView = serde_json::from_str(&body).unwrap();
    let bola = view.faults.iter().find(|f| f.name == "bola").unwrap();
    assert!(
        bola.enabled && view.header,
        "PUT answers bola enabled and the header on: {view:?}"
    );
    assert_eq!(
        bola.params["seed"], "3",
        "PUT answers the seed it was given: {bola:?}"
    );

    let response = harness
        .http
        .get(harness.server.api_url(&format!("/cities/{city}")))
        .bearer_auth(&users[1].token)
        .send()
        .await
        .unwrap();
    let header = response.headers().get("x-racebench-faults").cloned();
    expect_status(response, StatusCode::OK, "bola: u1 reads u0's city").await;
    assert_eq!(
        header.as_ref().map(|value| value.to_str().unwrap()),
        Some("bola"),
        "with header on, the answer names the fault that fired"
    );

    harness.put_faults(json!({"disable": ["bola"]})).await;
    assert_eq!(
        harness.show(&users[1], &city).await.0,
        StatusCode::NOT_FOUND,
        "with bola disabled another user's city is 404 again"
    );
    let view = harness.faults().await;
    assert!(
        view.faults.iter().all(|f| !f.enabled),
        "after disabling bola no fault is enabled: {view:?}"
    );
    let bola = view.faults.iter().find(|f| f.name == "bola").unwrap();
    assert_eq!(bola.params["seed"], "3", "parameters are kept while off");
}

#[tokio::test]
async fn get_faults_lists_the_whole_catalogue_with_parameters() {
    let harness = Harness::with(Config {
        faults: mock_server::faults::FaultConfig {
            enabled: vec!["racy-id:window=7ms".parse().unwrap()],
            ..Default::default()
        },
        ..Config::default()
    })
    .await;
    let view = harness.faults().await;
    let names: Vec<&str> = view.faults.iter().map(|f| f.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "shared-identity",
            "racy-id",
            "unscoped-cache",
            "register-race",
            "stale-read",
            "bola",
            "lost-update",
            "pool-starvation",
            "error-rate",
            "reset",
            "slow-body",
            "anonymous-fallback",
            "delete-resurrect",
        ],
        "GET /__admin/faults lists the whole catalogue in catalogue order"
    );
    let racy = &view.faults[1];
    assert!(
        racy.enabled,
        "racy-id enabled at start is shown enabled: {racy:?}"
    );
    assert_eq!(
        racy.params["window"], "7ms",
        "the window given at start is shown: {racy:?}"
    );
    assert_eq!(
        racy.params["p"], "1",
        "parameters not given show their default (p=1): {racy:?}"
    );
    assert_eq!(
        view.faults[7].params["size"], "5",
        "pool-starvation shows its default size 5: {:?}",
        view.faults[7]
    );
    assert_eq!(
        view.faults[7].params["overflow"], "5",
        "pool-starvation shows its default overflow 5: {:?}",
        view.faults[7]
    );
}

#[tokio::test]
async fn unknown_faults_and_bad_parameters_are_422_and_change_nothing() {
    let harness = &Harness::start().await;
    let cases = [
        (
            json!({"enable": ["no-such-fault"]}),
            "unknown fault `no-such-fault`",
        ),
        (
            json!({"enable": ["bola", "racy-id:window=soon"]}),
            "bad `window` value",
        ),
        (json!({"enable": ["racy-id:p=2"]}), "between 0 and 1"),
        (json!({"enable": ["bola:ttl=1s"]}), "has no parameter `ttl`"),
        (json!({"disable": ["nope"]}), "unknown fault `nope`"),
    ];
    for (body, expected) in cases {
        let response = harness.put_faults(body.clone()).await;
        assert_eq!(
            response.status(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "{body}"
        );
        let error: Value = response.json().await.unwrap();
        let message = error["error"]["message"].as_str().unwrap();
        assert!(message.contains(expected), "{body}: {message}");
    }
    let response = harness.put_faults(json!({"enabel": ["bola"]})).await;
    expect_status(
        response,
        StatusCode::UNPROCESSABLE_ENTITY,
        "a misspelt field (enabel) is rejected",
    )
    .await;
    assert!(
        harness.faults().await.faults.iter().all(|f| !f.enabled),
        "a rejected PUT enabled nothing: {:?}",
        harness.faults().await
    );
}

#[tokio::test]
async fn the_journal_pages_with_since_and_reset_clears_it() {
    let harness = &Harness::start().await;
    harness.enable("error-rate").await;
    for _ in 0..3 {
        harness
            .http
            .get(harness.server.url("/json"))
            .send()
            .await
            .unwrap();
    }
    let all = harness.journal(0).await;
    assert_eq!(
        all.iter().map(|e| e.seq).collect::<Vec<_>>(),
        [1, 2, 3],
        "three injected errors are journalled with seq 1, 2, 3: {all:#?}"
    );
    assert_eq!(
        all[0].route, "/json",
        "the journal names the route /json: {all:#?}"
    );
    assert_eq!(
        all[0].kind,
        AccessKind::Read,
        "GET /json is journalled as a read: {all:#?}"
    );
    assert_eq!(
        all[0].status,
        Some(500),
        "the journal records the injected 500: {all:#?}"
    );
    assert_eq!(
        harness.journal(2).await.len(),
        1,
        "since=2 pages past the first two entries"
    );
    assert_eq!(
        counter(&harness.stats().await, "error-rate"),
        3,
        "error-rate is counted once per injected error"
    );

    let reset = harness
        .http
        .post(harness.server.url("/__admin/reset"))
        .send()
        .await
        .unwrap();
    expect_status(reset, StatusCode::NO_CONTENT, "POST /__admin/reset").await;
    let journal = harness.journal(0).await;
    assert!(journal.is_empty(), "reset clears the journal: {journal:#?}");
    assert_eq!(
        counter(&harness.stats().await, "error-rate"),
        0,
        "reset zeroes the fault counters"
    );
    harness
        .http
        .get(harness.server.url("/json"))
        .send()
        .await
        .unwrap();
    assert_eq!(
        harness.journal(0).await[0].seq,
        4,
        "sequence numbers keep counting"
    );
}

#[tokio::test]
async fn the_journal_keeps_the_newest_entries_up_to_its_size() {
    let harness = Harness::with(Config {
        faults: mock_server::faults::FaultConfig {
            enabled: vec!["error-rate".parse().unwrap()],
            journal_size: 2,
            ..Default::default()
        },
        ..Config::default()
    })
    .await;
    for _ in 0..5 {
        harness
            .http
            .get(harness.server.url("/json"))
            .send()
            .await
            .unwrap();
    }
    let seqs: Vec<u64> = harness.journal(0).await.iter().map(|e| e.seq).collect();
    assert_eq!(
        seqs,
        [4, 5],
        "a journal of size 2 keeps the newest two of five entries: {seqs:?}"
    );
    assert_eq!(
        counter(&harness.stats().await, "journal_dropped"),
        3,
        "the three entries pushed out are counted as dropped"
    );
}

// ---------------------------------------------------------------------------------------------
// The command line

fn binary() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_mock-server"));
    command.env_remove("RUST_LOG");
    for (key, _) in std::env::vars().filter(|(key, _)| key.starts_with("MOCK_")) {
        command.env_remove(key);
    }
    command
}

#[test]
fn a_bad_fault_at_start_is_one_line_and_exit_code_2() {
    for (args, expected) in [
        (
            vec!["--fault", "no-such-fault"],
            "unknown fault `no-such-fault`",
        ),
        (vec!["--fault", "racy-id:window=soon"], "bad `window` value"),
        (vec!["--fault", "bola:size=3"], "has no parameter `size`"),
    ] {
        let output = binary().args(&args).output().unwrap();
        assert_eq!(output.status.code(), Some(2), "{args:?}");
        let stderr = String::from_utf8(output.stderr).unwrap();
        assert_eq!(stderr.trim_end().lines().count(), 1, "{stderr}");
        assert!(stderr.contains(expected), "{stderr}");
    }
    let output = binary()
        .env("MOCK_FAULTS", "bola;racy-id:p=7")
        .output()
        .unwrap();
    assert_eq!(
        output.status.code(),
        Some(2),
        "a bad MOCK_FAULTS value is a set-up error, exit 2: {output:?}"
    );
    assert!(
        String::from_utf8_lossy(&output.stderr).contains("between 0 and 1"),
        "the MOCK_FAULTS error names the bad p (between 0 and 1): {output:?}"
    );
}

#[test]
fn the_faults_subcommand_prints_the_catalogue() {
    let output = binary().arg("faults").output().unwrap();
    assert_eq!(
        output.status.code(),
        Some(0),
        "mock-server faults exits 0: {output:?}"
    );
    let text = String::from_utf8(output.stdout).unwrap();
    for name in [
        "shared-identity",
        "racy-id",
        "unscoped-cache",
        "register-race",
        "stale-read",
        "bola",
        "lost-update",
        "pool-starvation",
        "error-rate",
        "reset",
        "slow-body",
        "anonymous-fallback",
        "delete-resurrect",
    ] {
        assert!(text.contains(name), "{name}");
    }
    assert!(
        text.contains("window") && text.contains("barrier") && text.contains("overflow"),
        "the catalogue shows the parameters window, barrier and overflow:\n{text}"
    );
}
