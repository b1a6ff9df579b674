//! The framework test targets (`targets/fastapi`, `targets/drf`, `targets/express`) over real
//! HTTP: each is correct with the bug switch off, and with `RACEBENCH_BUG=shared-identity` two
//! users' creates, forced to pause together by `RACEBENCH_BARRIER=2`, land in one account (on the
//! Express target's `guard-owner` mode, one of them is refused with 403). These tests pin the
//! targets' behaviour that the loadgen tests against them rely on. Needs `scripts/test-deps.sh`.

use e2e::targets::client::{Account, Client};
use e2e::{Framework, PythonTarget};
use reqwest::StatusCode;
use serde_json::Value;

const SHARED_IDENTITY: (&str, &str) = ("RACEBENCH_BUG", "shared-identity");
/// The first two requests that reach the identity pause wait for each other.
const TWO_PAUSE_TOGETHER: (&str, &str) = ("RACEBENCH_BARRIER", "2");

/// A user creates, reads and lists their own record; the other user cannot read it.
async fn users_see_only_their_own_records(framework: Framework) {
    let target = PythonTarget::start(framework, &[]);
    let api = Client::new(&target);
    let alice = api.sign_up("alice").await;
    let bob = api.sign_up("bob").await;

    let me = api.me(&alice).await;
    assert_eq!(me.status, StatusCode::OK, "me answers the caller: {me:?}");
    assert_eq!(me.body["id"], alice.id, "me is alice herself: {me:?}");

    let created = api.create(&alice, "alice's first").await;
    assert!(created.status.is_success(), "alice creates: {created:?}");
    assert_eq!(
        api.owner(&created.body),
        &alice.id,
        "the create is alice's: {created:?}"
    );
    let id = created.body["id"].clone();

    let read = api.read(&alice, &id).await;
    assert_eq!(
        read.status,
        StatusCode::OK,
        "alice reads her record: {read:?}"
    );
    assert_eq!(
        read.body["title"], "alice's first",
        "the read is her record: {read:?}"
    );

    let list = api.list(&alice).await;
    assert_eq!(list.status, StatusCode::OK, "alice lists: {list:?}");
    let (records, count) = api.page(&list.body);
    assert_eq!(count, 1, "alice's list counts her one record: {list:?}");
    assert_eq!(records.len(), 1, "alice's list holds one record: {list:?}");
    assert_eq!(
        records[0]["id"], id,
        "alice's list holds her record: {list:?}"
    );

    let foreign = api.read(&bob, &id).await;
    assert_eq!(
        foreign.status,
        api.not_yours(),
        "bob cannot read alice's record: {foreign:?}"
    );
    let bobs = api.list(&bob).await;
    assert_eq!(api.page(&bobs.body).1, 0, "bob's list is empty: {bobs:?}");
}

/// alice and bob create at once, both held at the identity pause until the other arrives.
async fn concurrent_creates(framework: Framework, bug: &[(&str, &str)]) -> [(Account, Value); 2] {
    let mut env = vec![TWO_PAUSE_TOGETHER];
    env.extend_from_slice(bug);
    let target = PythonTarget::start(framework, &env);
    let api = Client::new(&target);
    // Signup and login take no identity pause: the two creates are the barrier's two parties.
    let alice = api.sign_up("alice").await;
    let bob = api.sign_up("bob").await;
    let (by_alice, by_bob) =
        tokio::join!(api.create(&alice, "by alice"), api.create(&bob, "by bob"));
    assert!(
        by_alice.status.is_success(),
        "alice's create passes: {by_alice:?}"
    );
    assert!(
        by_bob.status.is_success(),
        "bob's create passes: {by_bob:?}"
    );
    [
        (alice, api.owner(&by_alice.body).clone()),
        (bob, api.owner(&by_bob.body).clone()),
    ]
}

/// The correct twin pauses just as long, with the same barrier, yet each create stays home.
async fn paused_together_creates_stay_in_their_own_accounts(framework: Framework) {
    let [(alice, alices_owner), (bob, bobs_owner)] = concurrent_creates(framework, &[]).await;
    assert_eq!(
        alices_owner, alice.id,
        "alice's create is alice's (correct twin)"
    );
    assert_eq!(bobs_owner, bob.id, "bob's create is bob's (correct twin)");
}

/// With one process-wide identity holder, the later writer's id is read back by both requests.
async fn shared_identity_puts_a_create_in_the_other_users_account(framework: Framework) {
    let [(alice, alices_owner), (bob, bobs_owner)] =
        concurrent_creates(framework, &[SHARED_IDENTITY]).await;
    let leaked = alices_owner == bob.id || bobs_owner == alice.id;
    assert!(
        leaked,
        "both creates stored their caller on the one shared object before either read it back, \
         so one of them must carry the other user's id as owner: alice {} got owner {alices_owner}, \
         bob {} got owner {bobs_owner}",
        alice.id, bob.id
    );
}

#[tokio::test]
async fn fastapi_users_see_only_their_own_items() {
    users_see_only_their_own_records(Framework::FastApi).await;
}

#[tokio::test]
async fn drf_users_see_only_their_own_notes() {
    users_see_only_their_own_records(Framework::Drf).await;
}

#[tokio::test]
async fn fastapi_correct_twin_keeps_paused_together_creates_in_their_own_accounts() {
    paused_together_creates_stay_in_their_own_accounts(Framework::FastApi).await;
}

#[tokio::test]
async fn drf_correct_twin_keeps_paused_together_creates_in_their_own_accounts() {
    paused_together_creates_stay_in_their_own_accounts(Framework::Drf).await;
}

#[tokio::test]
async fn fastapi_shared_identity_bug_puts_a_create_in_the_other_users_account() {
    shared_identity_puts_a_create_in_the_other_users_account(Framework::FastApi).await;
}

#[tokio::test]
async fn drf_shared_identity_bug_puts_a_create_in_the_other_users_account() {
    shared_identity_puts_a_create_in_the_other_users_account(Framework::Drf).await;
}

#[tokio::test]
async fn fastapi_collection_without_its_trailing_slash_redirects_with_307() {
    let target = PythonTarget::start(Framework::FastApi, &[]);
    let answer = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client builds")
        .get(target.url("/api/v1/items"))
        .send()
        .await
        .expect("the target answers");
    assert_eq!(
        answer.status(),
        StatusCode::TEMPORARY_REDIRECT,
        "FastAPI's redirect_slashes"
    );
    let location = answer
        .headers()
        .get("location")
        .and_then(|l| l.to_str().ok());
    assert_eq!(
        location,
        Some(target.url("/api/v1/items/").as_str()),
        "the redirect adds the slash"
    );
}

#[tokio::test]
async fn fastapi_rejects_a_dot_test_email_with_422() {
    let target = PythonTarget::start(Framework::FastApi, &[]);
    let answer = reqwest::Client::new()
        .post(target.url("/api/v1/users/signup"))
        .json(&serde_json::json!({"email": "x@y.test", "password": "long-enough-1", "full_name": "x"}))
        .send()
        .await
        .expect("the target answers");
    assert_eq!(
        answer.status(),
        StatusCode::UNPROCESSABLE_ENTITY,
        "pydantic's EmailStr refuses the reserved .test domain"
    );
}

/// On the Express target alice and bob create at once, both held at the guard's pause until the
/// other arrives; `bug` names the mode. Answers alice's and bob's create answers.
async fn express_creates_paused_together(
    bug: &[(&str, &str)],
) -> (
    e2e::targets::FrameworkTarget,
    Client,
    [(Account, e2e::targets::client::Answer); 2],
) {
    let mut env = vec![TWO_PAUSE_TOGETHER];
    env.extend_from_slice(bug);
    let target = PythonTarget::start(Framework::Express, &env);
    let api = Client::new(&target);
    let alice = api.sign_up("alice").await;
    let bob = api.sign_up("bob").await;
    let (by_alice, by_bob) =
        tokio::join!(api.create(&alice, "by alice"), api.create(&bob, "by bob"));
    (target, api, [(alice, by_alice), (bob, by_bob)])
}

#[tokio::test]
async fn express_users_see_only_their_own_posts_and_paused_together_creates_stay_home() {
    let (_target, api, [(alice, by_alice), (bob, by_bob)]) =
        express_creates_paused_together(&[]).await;
    for (who, created) in [(&alice, &by_alice), (&bob, &by_bob)] {
        assert_eq!(
            created.status,
            StatusCode::CREATED,
            "{}'s create passes the guard (correct twin): {created:?}",
            who.name
        );
        let read = api.read(who, &created.body["id"]).await;
        assert_eq!(
            read.status,
            StatusCode::OK,
            "{} reads it: {read:?}",
            who.name
        );
        assert_eq!(
            api.owner(&read.body),
            &who.id,
            "{}'s post is {}'s: {read:?}",
            who.name,
            who.name
        );
        let list = api.list(who).await;
        let (records, count) = api.page(&list.body);
        assert_eq!(
            (records.len(), count),
            (1, 1),
            "{}'s list holds its one post: {list:?}",
            who.name
        );
    }
    let foreign = api.read(&bob, &by_alice.body["id"]).await;
    assert_eq!(
        foreign.status,
        api.not_yours(),
        "bob cannot read alice's post: {foreign:?}"
    );
    let me = api.me(&alice).await;
    assert_eq!(me.body["id"], alice.id, "me is alice herself: {me:?}");
}

#[tokio::test]
async fn express_guard_owner_bug_refuses_one_of_two_paused_together_creates_with_403() {
    let (_target, _api, [(_, by_alice), (_, by_bob)]) =
        express_creates_paused_together(&[("RACEBENCH_BUG", "guard-owner")]).await;
    let statuses = [by_alice.status, by_bob.status];
    assert!(
        statuses.contains(&StatusCode::FORBIDDEN) && statuses.contains(&StatusCode::CREATED),
        "both creates stored their caller on the shared holder before the guard read it back, so \
         the guard took one of them for the other and refused it: {by_alice:?} {by_bob:?}"
    );
}

#[tokio::test]
async fn express_shared_identity_bug_puts_a_create_in_the_other_users_list() {
    let (_target, api, [(alice, by_alice), (bob, by_bob)]) =
        express_creates_paused_together(&[SHARED_IDENTITY]).await;
    assert!(
        by_alice.status.is_success() && by_bob.status.is_success(),
        "the guard (not racy in this mode) lets both creates through: {by_alice:?} {by_bob:?}"
    );
    assert!(
        by_alice.body["ownerId"].is_null(),
        "a create's answer shows no owner, so the race shows later: {by_alice:?}"
    );
    let alices = api.list(&alice).await;
    let bobs = api.list(&bob).await;
    let counts = [api.page(&alices.body).1, api.page(&bobs.body).1];
    assert!(
        counts == [2, 0] || counts == [0, 2],
        "the create handler read the caller back after its await: both posts went to the later \
         writer: alice's list {alices:?}, bob's list {bobs:?}"
    );
}
