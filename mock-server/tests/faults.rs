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
        assert_eq!(response.status(), StatusCode::OK);
        let body: Value = response.json().await.unwrap();
        body["access_token"].as_str().unwrap().to_owned()
    }

    async fn user(&self, tag: &str) -> User {
        let email = format!("{tag}@example.test");
        let response = self.register_raw(&email, PASSWORD).await;
        assert_eq!(response.status(), StatusCode::CREATED);
        let body: Value = response.json().await.unwrap();
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
        assert_eq!(response.status(), StatusCode::OK);
    }

    async fn faults(&self) -> FaultsView {
        let response = self
            .http
            .get(self.server.url("/__admin/faults"))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        response.json().await.unwrap()
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
        assert_eq!(response.status(), StatusCode::OK);
        let body: Value = response.json().await.unwrap();
        names(&body["data"])
    }

    async fn journal(&self, since: u64) -> Vec<JournalEntry> {
        let response = self
            .http
            .get(self.server.url(&format!("/__admin/journal?since={since}")))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(response.headers()["content-type"], "application/x-ndjson");
        let text = response.text().await.unwrap();
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
        assert_eq!(entry.fault, "shared-identity");
        assert_eq!(entry.method, "POST");
        assert_eq!(entry.route, "/api/v1/cities");
        assert_eq!(entry.status, Some(201));
        assert_eq!(entry.owner.as_deref(), Some(users[winner].id.as_str()));
        assert_ne!(entry.user, entry.owner);
        assert!(entry.end_ms >= entry.start_ms && entry.end_unix_ms >= entry.start_unix_ms);
        assert!(entry.city_id.is_some());
    }
    // The winner's list carried the others' cities: a cross-user read, journalled even though the
    // fault is off by now, because the leaked data is still there.
    let reads: Vec<&JournalEntry> = journal
        .iter()
        .filter(|e| e.kind == AccessKind::Read && e.cross_user)
        .collect();
    assert_eq!(reads.len(), 1, "{journal:#?}");
    assert_eq!(reads[0].user.as_deref(), Some(users[winner].id.as_str()));
    assert_eq!(reads[0].route, "/api/v1/cities");

    let stats = harness.stats().await;
    assert_eq!(counter(&stats, "cross_user_writes"), (USERS - 1) as u64);
    assert_eq!(counter(&stats, "cross_user_reads"), 1);
    assert!(counter(&stats, "shared-identity") >= (USERS - 1) as u64);
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
    assert_eq!(leaks, USERS - 1);
}

#[tokio::test]
async fn without_shared_identity_concurrent_users_keep_their_own_cities() {
    let harness = &Harness::start().await;
    let users = harness.users(USERS).await;
    let reads = concurrent_create_then_read(harness, &users).await;
    assert!(reads.iter().all(|s| *s == StatusCode::OK), "{reads:?}");
    let lists = join_all(users.iter().map(|user| harness.list(user))).await;
    for (i, list) in lists.iter().enumerate() {
        assert_eq!(list, &[marker(i)]);
    }
    assert!(harness.journal(0).await.is_empty());
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
    assert_eq!(missing, USERS - 1);
    assert_eq!(owner_reads.len(), 1);
    let (owner, body) = &owner_reads[0];
    assert_ne!(
        body["data"]["name"],
        marker(*owner),
        "the owner reads someone else's city"
    );

    let stats = harness.stats().await;
    assert_eq!(counter(&stats, "cross_user_writes"), (USERS - 1) as u64);
    assert_eq!(counter(&stats, "cross_user_reads"), 1);
    assert_eq!(counter(&stats, "racy-id"), USERS as u64);
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
    assert_eq!(distinct.len(), USERS);
    for (i, (user, id)) in users.iter().zip(&created).enumerate() {
        let (status, body) = harness.show(user, id).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(body["data"]["name"], marker(i));
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
    assert_eq!(harness.list(&users[0]).await, [marker(0)]);
    assert_eq!(harness.show(&users[0], &first_city).await.0, StatusCode::OK);

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
            .all(|(status, body)| *status == StatusCode::OK && body["data"]["name"] == marker(0))
    );
    let stats = harness.stats().await;
    assert_eq!(counter(&stats, "cross_user_reads"), 2 * (USERS - 1) as u64);
    let journal = harness.journal(0).await;
    assert!(journal.iter().all(|e| e.fault == "unscoped-cache"));
    assert!(
        journal
            .iter()
            .filter(|e| e.cross_user)
            .all(|e| e.owner.as_deref() == Some(users[0].id.as_str()))
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
    assert_eq!(harness.list(&users[0]).await, [marker(0)]);
    let lists = join_all(users.iter().map(|user| harness.list(user))).await;
    for (i, list) in lists.iter().enumerate() {
        assert_eq!(list, &[marker(i)]);
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
            .all(|(status, _)| *status == StatusCode::NOT_FOUND)
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
    assert!(statuses.contains(&StatusCode::UNAUTHORIZED));
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
        assert_eq!(response.status(), StatusCode::CREATED);
        let body: Value = response.json().await.unwrap();
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
        1
    );
    assert_eq!(
        statuses
            .iter()
            .filter(|s| **s == StatusCode::CONFLICT)
            .count(),
        USERS - 1
    );
    let users = join_all(["ann", "bob"].map(|tag| harness.user(tag))).await;
    assert_ne!(users[0].id, users[1].id);
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
        assert_eq!(*read, StatusCode::NOT_FOUND);
        assert!(list.is_empty(), "{list:?}");
    }
    let journal = harness.journal(0).await;
    assert!(
        journal
            .iter()
            .all(|e| e.fault == "stale-read" && !e.cross_user)
    );
    assert!(journal.iter().any(|e| e.status == Some(404)));

    // Switched off, reads go to the primary again: every write is there.
    harness.disable_all().await;
    for ((id, _, _), user) in results.iter().zip(&users) {
        assert_eq!(harness.show(user, id).await.0, StatusCode::OK);
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
    assert_eq!(response.status(), StatusCode::OK);
    let response = harness
        .http
        .delete(harness.server.api_url(&format!("/cities/{deleted}")))
        .bearer_auth(&users[0].token)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::NO_CONTENT);

    let (status, body) = harness.show(&users[0], &renamed).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["data"]["name"], "old-name");
    assert_eq!(harness.show(&users[0], &deleted).await.0, StatusCode::OK);
    // The replica does not lift the ownership check.
    assert_eq!(
        harness.show(&users[1], &deleted).await.0,
        StatusCode::NOT_FOUND
    );
    assert_eq!(harness.journal(0).await.len(), 2);
}

#[tokio::test]
async fn without_stale_read_a_read_right_after_a_create_finds_it() {
    let harness = &Harness::start().await;
    let users = harness.users(USERS).await;
    let reads = concurrent_create_then_read(harness, &users).await;
    assert!(reads.iter().all(|s| *s == StatusCode::OK));
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
        assert_eq!(*status, StatusCode::OK);
        assert_eq!(body["data"]["name"], marker((i + 1) % USERS));
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
    assert_eq!(renamed.status(), StatusCode::OK);
    let deleted = harness
        .http
        .delete(harness.server.api_url(&format!("/cities/{}", ids[2])))
        .bearer_auth(&users[0].token)
        .send()
        .await
        .unwrap();
    assert_eq!(deleted.status(), StatusCode::NO_CONTENT);
    harness.disable_all().await;
    assert_eq!(harness.list(&users[1]).await, ["renamed-by-u0"]);
    assert!(harness.list(&users[2]).await.is_empty());

    let stats = harness.stats().await;
    // Ten foreign reads, then u1 listing the city u0 renamed.
    assert_eq!(counter(&stats, "cross_user_reads"), USERS as u64 + 1);
    assert_eq!(counter(&stats, "cross_user_writes"), 2);
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
    assert!(reads.iter().all(|(s, _)| *s == StatusCode::NOT_FOUND));
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
    assert_eq!(harness.list(&user).await.len(), 1);
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
            .all(|e| e.fault == "lost-update" && !e.cross_user)
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
    assert_eq!(harness.list(&user).await.len(), USERS);
    for id in &ids {
        assert_eq!(harness.show(&user, id).await.0, StatusCode::OK);
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
        assert_eq!(response.unwrap().status(), StatusCode::SERVICE_UNAVAILABLE);
    }
    assert_eq!(get(quick).await.unwrap().status(), StatusCode::OK);
    // Every request that waited on the starved pool is journalled once it is answered (the one
    // whose client gave up may be, too).
    let journal = harness.journal(0).await;
    assert!((2..=3).contains(&journal.len()), "{journal:#?}");
    assert!(journal.iter().all(|e| e.status == Some(503)));
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
    assert!(statuses.iter().all(|s| *s == StatusCode::OK));
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
    assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
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
        let response = response.unwrap();
        assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["error"]["code"], "injected_error");
    }
    // Registration and login still work, so a load test can get going.
    let user = harness.user("still-works").await;
    let (status, _) = harness.create(&user, "never-stored").await;
    assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
    harness.disable_all().await;
    assert!(harness.list(&user).await.is_empty(), "nothing was written");
    assert_eq!(
        harness.journal(0).await.len(),
        USERS + 1,
        "one entry per injected error"
    );
    let stats = harness.stats().await;
    assert_eq!(stats.requests["GET /json"][&500], USERS as u64);
    assert_eq!(stats.requests["POST /api/v1/cities"][&500], 1);
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
    assert_eq!(runs[0], runs[1]);
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
            .all(|r| r.unwrap().status() == StatusCode::OK)
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
    assert!(broken);
    harness.disable_all().await;
    assert_eq!(harness.list(&user).await, ["landed"]);
    let journal = harness.journal(0).await;
    assert_eq!(journal.len(), USERS + 1);
    assert!(
        journal
            .iter()
            .all(|e| e.fault == "reset" && e.status.is_none())
    );
    // The server is fine afterwards.
    assert!(fetch_json(&harness.http, &url).await.is_ok());
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
        StatusCode::NOT_FOUND
    );

    let response = harness
        .put_faults(json!({"enable": ["bola:p=1,seed=3"], "header": true}))
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    let view: FaultsView = response.json().await.unwrap();
    let bola = view.faults.iter().find(|f| f.name == "bola").unwrap();
    assert!(bola.enabled && view.header);
    assert_eq!(bola.params["seed"], "3");

    let response = harness
        .http
        .get(harness.server.api_url(&format!("/cities/{city}")))
        .bearer_auth(&users[1].token)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()["x-racebench-faults"], "bola");

    harness.put_faults(json!({"disable": ["bola"]})).await;
    assert_eq!(
        harness.show(&users[1], &city).await.0,
        StatusCode::NOT_FOUND
    );
    let view = harness.faults().await;
    assert!(view.faults.iter().all(|f| !f.enabled));
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
            "slow-body"
        ]
    );
    let racy = &view.faults[1];
    assert!(racy.enabled);
    assert_eq!(racy.params["window"], "7ms");
    assert_eq!(racy.params["p"], "1");
    assert_eq!(view.faults[7].params["size"], "5");
    assert_eq!(view.faults[7].params["overflow"], "5");
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
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(harness.faults().await.faults.iter().all(|f| !f.enabled));
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
    assert_eq!(all.iter().map(|e| e.seq).collect::<Vec<_>>(), [1, 2, 3]);
    assert_eq!(all[0].route, "/json");
    assert_eq!(all[0].kind, AccessKind::Read);
    assert_eq!(all[0].status, Some(500));
    assert_eq!(harness.journal(2).await.len(), 1);
    assert_eq!(counter(&harness.stats().await, "error-rate"), 3);

    let reset = harness
        .http
        .post(harness.server.url("/__admin/reset"))
        .send()
        .await
        .unwrap();
    assert_eq!(reset.status(), StatusCode::NO_CONTENT);
    assert!(harness.journal(0).await.is_empty());
    assert_eq!(counter(&harness.stats().await, "error-rate"), 0);
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
    assert_eq!(seqs, [4, 5]);
    assert_eq!(counter(&harness.stats().await, "journal_dropped"), 3);
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
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("between 0 and 1"));
}

#[test]
fn the_faults_subcommand_prints_the_catalogue() {
    let output = binary().arg("faults").output().unwrap();
    assert_eq!(output.status.code(), Some(0));
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
    ] {
        assert!(text.contains(name), "{name}");
    }
    assert!(text.contains("window") && text.contains("barrier") && text.contains("overflow"));
}
