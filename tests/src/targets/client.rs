//! A small client for the framework targets' HTTP shapes (targets/README.md), so a test reads as what it
//! does: sign up, create, read, list. It asserts the set-up steps (signup, login) succeed, and
//! hands every other answer back as status + JSON for the test to judge.

use reqwest::StatusCode;
use serde_json::{Value, json};

use super::{Framework, PythonTarget};

/// Every test account's password (long enough for both targets' validation).
pub const PASSWORD: &str = "correct-horse-battery";

/// A signed-up, logged-in user.
#[derive(Debug, Clone)]
pub struct Account {
    /// The name the account was made with (email local part, or username).
    pub name: String,
    /// The user id the signup answered (a uuid string on FastAPI, an integer on DRF).
    pub id: Value,
    authorization: String,
}

/// An answer: its status and its body as JSON (`Null` when the body is not JSON).
#[derive(Debug, Clone)]
pub struct Answer {
    pub status: StatusCode,
    pub body: Value,
}

/// Speaks one target's shapes.
#[derive(Debug, Clone)]
pub struct Client {
    framework: Framework,
    base_url: String,
    http: reqwest::Client,
}

impl Client {
    /// A client for `target`; it follows no redirect, so a test sees 301/307 as they are.
    pub fn new(target: &PythonTarget) -> Client {
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("reqwest client builds");
        Client {
            framework: target.framework,
            base_url: target.base_url.clone(),
            http,
        }
    }

    /// The records collection (with its trailing slash).
    pub fn collection(&self) -> String {
        match self.framework {
            Framework::FastApi => format!("{}/api/v1/items/", self.base_url),
            Framework::Drf => format!("{}/api/notes/", self.base_url),
            Framework::Express => format!("{}/api/posts", self.base_url),
        }
    }

    /// Where `who` lists its records (the collection, or the Express target's per-user list).
    fn own_list(&self, who: &Account) -> String {
        match self.framework {
            Framework::Express => format!("{}/api/users/{}/posts", self.base_url, text(&who.id)),
            _ => self.collection(),
        }
    }

    fn item(&self, id: &Value) -> String {
        let id = text(id);
        match self.framework {
            Framework::FastApi => format!("{}/api/v1/items/{id}", self.base_url),
            Framework::Drf => format!("{}/api/notes/{id}/", self.base_url),
            Framework::Express => format!("{}/api/posts/{id}", self.base_url),
        }
    }

    /// Registers `name` and logs in; panics with the answer when either step fails.
    pub async fn sign_up(&self, name: &str) -> Account {
        let (register, expected) = match self.framework {
            Framework::FastApi => (
                self.http
                    .post(format!("{}/api/v1/users/signup", self.base_url))
                    .json(&json!({"email": email(name), "password": PASSWORD, "full_name": name})),
                StatusCode::OK,
            ),
            Framework::Drf => (
                self.http
                    .post(format!("{}/api/register/", self.base_url))
                    .json(&json!({"username": name, "email": email(name), "password": PASSWORD})),
                StatusCode::CREATED,
            ),
            Framework::Express => (
                self.http
                    .post(format!("{}/api/users", self.base_url))
                    .json(&json!({"username": name, "password": PASSWORD})),
                StatusCode::CREATED,
            ),
        };
        let registered = answer(register).await;
        assert_eq!(
            registered.status, expected,
            "signup of {name}: {registered:?}"
        );
        let id = registered.body["id"].clone();
        assert!(
            !id.is_null(),
            "signup of {name} answers the user id: {registered:?}"
        );
        let (login, token_field, scheme) = match self.framework {
            Framework::FastApi => (
                self.http
                    .post(format!("{}/api/v1/login/access-token", self.base_url))
                    .form(&[("username", email(name).as_str()), ("password", PASSWORD)]),
                "access_token",
                "Bearer",
            ),
            Framework::Drf => (
                self.http
                    .post(format!("{}/api-token-auth/", self.base_url))
                    .json(&json!({"username": name, "password": PASSWORD})),
                "token",
                "Token",
            ),
            Framework::Express => (
                self.http
                    .post(format!("{}/api/login", self.base_url))
                    .json(&json!({"username": name, "password": PASSWORD})),
                "token",
                "Bearer",
            ),
        };
        let logged_in = answer(login).await;
        assert_eq!(
            logged_in.status,
            StatusCode::OK,
            "login of {name}: {logged_in:?}"
        );
        let token = logged_in.body[token_field]
            .as_str()
            .unwrap_or_else(|| panic!("login of {name} answers {token_field}: {logged_in:?}"));
        Account {
            name: name.to_owned(),
            id,
            authorization: format!("{scheme} {token}"),
        }
    }

    /// Creates a record titled `title` as `who` (on the Express target, naming `who` as its
    /// owner: ownership there is a client-set field the guard checks).
    pub async fn create(&self, who: &Account, title: &str) -> Answer {
        let body = match self.framework {
            Framework::Express => json!({"title": title, "ownerId": who.id}),
            _ => json!({"title": title}),
        };
        let request = self.http.post(self.collection()).json(&body);
        answer(request.header("authorization", &who.authorization)).await
    }

    /// Reads record `id` as `who`.
    pub async fn read(&self, who: &Account, id: &Value) -> Answer {
        let request = self.http.get(self.item(id));
        answer(request.header("authorization", &who.authorization)).await
    }

    /// The first page of `who`'s records.
    pub async fn list(&self, who: &Account) -> Answer {
        let request = self.http.get(self.own_list(who));
        answer(request.header("authorization", &who.authorization)).await
    }

    /// `who` as the `me` endpoint sees them.
    pub async fn me(&self, who: &Account) -> Answer {
        let path = match self.framework {
            Framework::FastApi => "/api/v1/users/me",
            Framework::Drf => "/api/me/",
            Framework::Express => "/api/me",
        };
        let request = self.http.get(format!("{}{path}", self.base_url));
        answer(request.header("authorization", &who.authorization)).await
    }

    /// A record's owner field (`owner_id` on FastAPI, `owner` on DRF, `ownerId` on Express: not in
    /// its create's answer).
    pub fn owner<'a>(&self, record: &'a Value) -> &'a Value {
        match self.framework {
            Framework::FastApi => &record["owner_id"],
            Framework::Drf => &record["owner"],
            Framework::Express => &record["ownerId"],
        }
    }

    /// A list answer's records (`data` on FastAPI, `results` on DRF, `items` on Express) and its
    /// count (`total` on Express).
    pub fn page<'a>(&self, list: &'a Value) -> (&'a [Value], u64) {
        let (records, count) = match self.framework {
            Framework::FastApi => (&list["data"], &list["count"]),
            Framework::Drf => (&list["results"], &list["count"]),
            Framework::Express => (&list["items"], &list["total"]),
        };
        let records = records.as_array().map_or(&[][..], Vec::as_slice);
        (records, count.as_u64().unwrap_or(u64::MAX))
    }

    /// The status a foreign record is answered with (FastAPI's 403, DRF's and Express's 404).
    pub fn not_yours(&self) -> StatusCode {
        match self.framework {
            Framework::FastApi => StatusCode::FORBIDDEN,
            Framework::Drf | Framework::Express => StatusCode::NOT_FOUND,
        }
    }
}

/// An id as it goes into a path (a JSON string without its quotes).
fn text(id: &Value) -> String {
    id.as_str().map_or_else(|| id.to_string(), str::to_owned)
}

/// An address both Python targets' email validation accepts.
pub fn email(name: &str) -> String {
    format!("{name}@example.com")
}

async fn answer(request: reqwest::RequestBuilder) -> Answer {
    let response = request.send().await.expect("the target answers");
    let status = response.status();
    let bytes = response.bytes().await.expect("the answer's body arrives");
    let body = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    Answer { status, body }
}
