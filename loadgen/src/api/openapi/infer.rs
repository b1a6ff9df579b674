//! From an OpenAPI [`Document`] to an [`Inferred`] API description: the signup, the login and how
//! its token is sent, the records (collection, item, marker, owner, list, paging, update and
//! delete) and the meanings of the item's statuses. Each choice names the operation it came from;
//! what the document does not say is left as a [`Line::Missing`] with the candidates seen.
//! Pure: no I/O, so the rules are tested on small documents.

use serde_json::Value;

use super::{
    document::{Document, Operation},
    output::{Inferred, Section},
};

/// Choices that are not the document's to make.
const EMAIL: &str = "{run}.u{user}@example.com";
const PASSWORD: &str = "pw-{run}-{user}";
const USERNAME: &str = "{run}.u{user}";

/// Property names, in order of preference.
const TOKEN_FIELDS: [&str; 5] = ["access_token", "accessToken", "token", "key", "jwt_token"];
const MARKER_FIELDS: [&str; 6] = ["name", "title", "text", "label", "subject", "body"];
const OWNER_FIELDS: [&str; 8] = [
    "owner_id",
    "user_id",
    "userId",
    "ownerId",
    "owner",
    "created_by",
    "createdBy",
    "user",
];
const ID_FIELDS: [&str; 4] = ["id", "uuid", "pk", "_id"];
const ENVELOPES: [&str; 4] = ["data", "result", "item", "record"];
const LIST_FIELDS: [&str; 5] = ["data", "results", "items", "records", "content"];
/// (size, start, first position) paging pairs.
const PAGING: [(&str, &str, u64); 6] = [
    ("limit", "skip", 0),
    ("limit", "offset", 0),
    ("$limit", "$skip", 0),
    ("page_size", "page", 1),
    ("per_page", "page", 1),
    ("size", "page", 0),
];

/// How the describe was asked for.
#[derive(Debug, Clone, Default)]
pub struct Ask {
    /// `--resource NAME`: the collection to test.
    pub resource: Option<String>,
    /// The base URL's path (`/api/v1`): stripped from the document's paths.
    pub base_path: String,
}

/// `METHOD /path (operationId)`, as comments name an operation.
fn named(op: &Operation) -> String {
    match op.op.get("operationId").and_then(Value::as_str) {
        Some(id) => format!("{} {} ({id})", op.method.to_uppercase(), op.path),
        None => format!("{} {}", op.method.to_uppercase(), op.path),
    }
}

/// Infers the whole description.
pub fn infer(doc: &Document, ask: &Ask) -> Inferred {
    let ops = doc.operations();
    let strip = |path: &str| -> String {
        let full = format!("{}{path}", doc.server_path());
        match full.strip_prefix(ask.base_path.trim_end_matches('/')) {
            Some(rest) if rest.starts_with('/') => rest.to_owned(),
            _ => full,
        }
    };
    let login = find_login(doc, &ops);
    let signup = find_signup(doc, &ops, login.as_ref().map(|l| l.op.path));
    let (records, resource) = records(doc, &ops, ask, &strip);
    let mut accounts = Section::new("accounts");
    let signup_username = accounts_section(doc, &ops, signup.as_ref(), &mut accounts, &strip);
    let mut login_section = Section::new("login");
    login_section_of(
        doc,
        &ops,
        login.as_ref(),
        signup_username,
        &mut login_section,
        &strip,
    );
    let meanings = meanings(doc, &ops, resource.as_ref());
    let mut header = vec![
        format!(
            "API description written by `loadgen describe` from {}.",
            doc.source
        ),
        "Every choice names the operation it came from; `NOT INFERRED` lines need a value.".into(),
        "Reference: docs/guide/isolation.md, \"The API description\".".into(),
    ];
    if !ask.base_path.is_empty() {
        header.push(format!(
            "Paths are below the base URL's path {}.",
            ask.base_path
        ));
    }
    Inferred {
        header,
        sections: vec![accounts, login_section, records, meanings],
        resource: resource.map(|r| r.name),
    }
}

// --- accounts --------------------------------------------------------------------------------

fn has_any<'a>(names: &[&'a str], wanted: &[&str]) -> Option<&'a str> {
    wanted
        .iter()
        .find_map(|w| names.iter().find(|n| n.eq_ignore_ascii_case(w)).copied())
}

/// Whether the schema takes credentials: a password and an email or user name.
fn credentials(doc: &Document, schema: &Value) -> bool {
    let names: Vec<&str> = doc.properties(schema).iter().map(|(n, _)| *n).collect();
    has_any(&names, &["password", "password1"]).is_some()
        && has_any(&names, &["email", "username", "login", "user_name"]).is_some()
}

/// Whether an operation can be called without credentials.
fn open(doc: &Document, op: &Value) -> bool {
    let security = op.get("security").or_else(|| doc.root.get("security"));
    match security.and_then(Value::as_array) {
        None => true,
        Some(list) => {
            list.is_empty()
                || list
                    .iter()
                    .any(|r| r.as_object().is_some_and(|o| o.is_empty()))
        }
    }
}

fn find_signup<'a>(
    doc: &'a Document,
    ops: &[Operation<'a>],
    login_path: Option<&str>,
) -> Option<Operation<'a>> {
    let mut found: Vec<Operation> = ops
        .iter()
        .filter(|o| o.method == "post" && Some(o.path) != login_path && open(doc, o.op))
        .filter(|o| doc.request(o.op).is_some_and(|(s, _)| credentials(doc, s)))
        .copied()
        .collect();
    // A path that says so first.
    found.sort_by_key(|o| {
        let path = o.path.to_ascii_lowercase();
        !["signup", "sign-up", "register", "users"]
            .iter()
            .any(|w| path.contains(w))
    });
    found.into_iter().next()
}

/// A value a required field accepts, from its schema.
fn fill(doc: &Document, name: &str, schema: &Value) -> toml::Value {
    let schema = doc.schema(schema);
    if let Some(first) = schema
        .get("enum")
        .and_then(Value::as_array)
        .and_then(|e| e.first())
        .or_else(|| schema.get("const"))
        .or_else(|| schema.get("default"))
        .or_else(|| schema.get("example"))
        && let Ok(value) = toml::Value::try_from(first)
    {
        return value;
    }
    let format = schema.get("format").and_then(Value::as_str).unwrap_or("");
    match doc.type_of(schema) {
        "integer" | "number" => toml::Value::Integer(
            schema
                .get("minimum")
                .and_then(Value::as_i64)
                .unwrap_or(1)
                .max(1),
        ),
        "boolean" => toml::Value::Boolean(false),
        "array" => toml::Value::Array(Vec::new()),
        "object" => toml::Value::Table(toml::Table::new()),
        _ if format == "email" => EMAIL.into(),
        _ if format == "uuid" => "00000000-0000-4000-8000-000000000000".into(),
        _ if format == "date" => "2024-01-01".into(),
        _ if format == "date-time" => "2024-01-01T00:00:00Z".into(),
        _ if name.contains("name") => "racebench {user}".into(),
        _ => "racebench".into(),
    }
}

/// Fills `[accounts]`; returns the user name template when the signup takes one.
fn accounts_section(
    doc: &Document,
    ops: &[Operation],
    signup: Option<&Operation>,
    section: &mut Section,
    strip: &dyn Fn(&str) -> String,
) -> Option<String> {
    let Some(signup) = signup else {
        let candidates = ops
            .iter()
            .filter(|o| o.method == "post" && doc.request(o.op).is_some())
            .map(named)
            .collect();
        section.missing(
            "register-path",
            "no unauthenticated POST takes an email or user name and a password; point it at the signup, or use source = \"file\" with accounts.file",
            candidates,
        );
        return None;
    };
    let from = format!("from {}", named(signup));
    let (schema, _) = doc.request(signup.op).expect("a signup has a body");
    let required = doc.required(schema);
    let mut body = toml::Table::new();
    let mut username = None;
    for (name, prop) in doc.properties(schema) {
        let lower = name.to_ascii_lowercase();
        let value: toml::Value = if lower.starts_with("password") || lower == "confirm_password" {
            PASSWORD.into()
        } else if lower == "email" {
            "{email}".into()
        } else if ["username", "login", "user_name"].contains(&lower.as_str()) {
            username = Some(USERNAME.to_owned());
            USERNAME.into()
        } else if required.contains(&name) && !doc.read_only(prop) {
            fill(doc, name, prop)
        } else {
            continue;
        };
        body.insert(name.to_owned(), value);
    }
    section.set("register-path", strip(signup.path), from.clone());
    section.set("register-method", "POST", "");
    section.set(
        "register-body",
        body,
        format!("{from}: its required fields"),
    );
    section.set(
        "email",
        EMAIL,
        "reserved domains like .test are refused by many validators",
    );
    section.set("password", PASSWORD, "");
    let created = doc.success(signup.op);
    section.set("created", statuses(&created), format!("{from}: documented"));
    let mut exists: Vec<u16> = doc
        .statuses(signup.op)
        .into_iter()
        .filter(|s| [400, 409].contains(s))
        .collect();
    for s in [400, 409] {
        if !exists.contains(&s) {
            exists.push(s);
        }
    }
    exists.sort_unstable();
    section.set(
        "exists",
        statuses(&exists),
        "a duplicate signup answers 400 (Django, FastAPI) or 409",
    );
    let id = doc
        .answer(signup.op)
        .and_then(|answer| pointer_to(doc, answer, &ID_FIELDS));
    match id {
        Some(id) => section.set("account-id", id, format!("{from}: its answer")),
        None => section.set("account-id", "", format!("{from}: its answer has no id")),
    }
    username
}

// --- login -----------------------------------------------------------------------------------

fn find_login<'a>(doc: &'a Document, ops: &[Operation<'a>]) -> Option<Login<'a>> {
    // The OAuth2 password flow names its token URL.
    if let Some(schemes) = doc
        .root
        .pointer("/components/securitySchemes")
        .and_then(Value::as_object)
    {
        for (name, scheme) in schemes {
            let scheme = doc.resolve(scheme);
            if let Some(url) = scheme
                .pointer("/flows/password/tokenUrl")
                .and_then(Value::as_str)
            {
                let url = url
                    .split_once("://")
                    .map_or(url, |(_, rest)| rest.find('/').map_or("/", |i| &rest[i..]));
                let full = |path: &str| format!("{}{path}", doc.server_path());
                if let Some(op) = ops.iter().find(|o| {
                    o.method == "post"
                        && (full(o.path) == url
                            || o.path.trim_start_matches('/') == url.trim_start_matches('/'))
                }) {
                    return Some(Login {
                        op: *op,
                        oauth2: Some(name.clone()),
                    });
                }
            }
        }
    }
    // A POST whose answer carries a token.
    let mut found: Vec<Operation> = ops
        .iter()
        .filter(|o| {
            o.method == "post"
                && doc
                    .request(o.op)
                    .is_some_and(|(s, _)| credentials(doc, s) || has_password(doc, s))
        })
        .copied()
        .collect();
    found.sort_by_key(|o| {
        let tokenish = doc
            .answer(o.op)
            .is_some_and(|a| pointer_to(doc, a, &TOKEN_FIELDS).is_some());
        let path = o.path.to_ascii_lowercase();
        let named = ["login", "token", "auth", "session", "signin"]
            .iter()
            .any(|w| path.contains(w));
        let signup = ["signup", "register"].iter().any(|w| path.contains(w));
        (!tokenish, !named, signup)
    });
    found
        .into_iter()
        .next()
        .filter(|o| {
            let path = o.path.to_ascii_lowercase();
            !["signup", "register"].iter().any(|w| path.contains(w))
                || doc
                    .answer(o.op)
                    .is_some_and(|a| pointer_to(doc, a, &TOKEN_FIELDS).is_some())
        })
        .map(|op| Login { op, oauth2: None })
}

fn has_password(doc: &Document, schema: &Value) -> bool {
    doc.properties(schema)
        .iter()
        .any(|(n, _)| n.eq_ignore_ascii_case("password"))
}

/// The login operation and the OAuth2 scheme that named it.
struct Login<'a> {
    op: Operation<'a>,
    oauth2: Option<String>,
}

fn login_section_of(
    doc: &Document,
    ops: &[Operation],
    login: Option<&Login>,
    signup_username: Option<String>,
    section: &mut Section,
    strip: &dyn Fn(&str) -> String,
) {
    match login {
        None => {
            let candidates = ops
                .iter()
                .filter(|o| o.method == "post")
                .map(named)
                .collect();
            section.missing(
                "path",
                "no OAuth2 password flow and no POST taking a password whose answer carries a token",
                candidates,
            );
        }
        Some(login) => {
            let from = format!("from {}", named(&login.op));
            let how = match &login.oauth2 {
                Some(scheme) => format!("the OAuth2 password flow's tokenUrl ({scheme})"),
                None => from.clone(),
            };
            section.set("path", strip(login.op.path), how);
            let (schema, types) = doc.request(login.op.op).expect("a login has a body");
            let form = login.oauth2.is_some()
                || !types.contains(&"application/json")
                    && types.contains(&"application/x-www-form-urlencoded");
            section.set(
                "encoding",
                if form { "form" } else { "json" },
                format!("{from}: {}", types.join(", ")),
            );
            let names: Vec<&str> = doc.properties(schema).iter().map(|(n, _)| *n).collect();
            let field =
                has_any(&names, &["username", "email", "login", "user_name"]).unwrap_or("username");
            section.set("username-field", field, from.clone());
            let username = match (field.eq_ignore_ascii_case("email"), &signup_username) {
                (false, Some(template)) => template.clone(),
                _ => "{email}".to_owned(),
            };
            section.set(
                "username",
                username,
                "what the signup registered under that name",
            );
            let password = has_any(&names, &["password"]).unwrap_or("password");
            section.set("password-field", password, "");
            let required = doc.required(schema);
            let mut extra = toml::Table::new();
            for (name, prop) in doc.properties(schema) {
                if name != field
                    && name != password
                    && required.contains(&name)
                    && !doc.read_only(prop)
                {
                    extra.insert(name.to_owned(), fill(doc, name, prop));
                }
            }
            if !extra.is_empty() {
                section.set("extra", extra, format!("{from}: its other required fields"));
            }
            section.set(
                "ok",
                statuses(&doc.success(login.op.op)),
                format!("{from}: documented"),
            );
            let answer = doc.answer(login.op.op);
            match answer.and_then(|a| pointer_to(doc, a, &TOKEN_FIELDS)) {
                Some(token) => section.set("token", token, format!("{from}: its answer")),
                None if login.oauth2.is_some() => section.set(
                    "token",
                    "/access_token",
                    "the OAuth2 token answer (RFC 6749 5.1)",
                ),
                None => section.missing(
                    "token",
                    format!("{from}: its answer has none of {}", TOKEN_FIELDS.join(", ")),
                    answer
                        .map(|a| {
                            doc.properties(a)
                                .into_iter()
                                .filter(|(_, p)| doc.type_of(p) == "string")
                                .map(|(n, _)| format!("/{n}"))
                                .collect()
                        })
                        .unwrap_or_default(),
                ),
            }
        }
    }
    send_section(doc, ops, section);
    if let Some(me) = ops.iter().find(|o| is_me(o)) {
        let from = format!("from {}", named(me));
        section.set("me-path", strip(me.path), from.clone());
        let id = doc
            .answer(me.op)
            .and_then(|a| pointer_to(doc, a, &ID_FIELDS))
            .unwrap_or_else(|| "/id".into());
        section.set("me-id", id, format!("{from}: its answer"));
    }
}

fn is_me(op: &Operation) -> bool {
    let path = op.path.trim_end_matches('/').to_ascii_lowercase();
    op.method == "get"
        && !path.contains('{')
        && ["/me", "/user", "/whoami", "/users/current", "/profile"]
            .iter()
            .any(|end| path.ends_with(end))
}

/// How the token is sent, from the security scheme the records' operations name.
fn send_section(doc: &Document, ops: &[Operation], section: &mut Section) {
    let schemes = doc
        .root
        .pointer("/components/securitySchemes")
        .and_then(Value::as_object);
    let used = ops
        .iter()
        .filter_map(|o| o.op.get("security").or_else(|| doc.root.get("security")))
        .filter_map(Value::as_array)
        .flatten()
        .filter_map(Value::as_object)
        .flat_map(|r| r.keys())
        .next()
        .cloned();
    let chosen = match (schemes, used) {
        (Some(schemes), Some(name)) => schemes.get(&name).map(|s| (name, doc.resolve(s))),
        (Some(schemes), None) => schemes
            .iter()
            .next()
            .map(|(n, s)| (n.clone(), doc.resolve(s))),
        _ => None,
    };
    let Some((name, scheme)) = chosen else {
        section.set(
            "send",
            "header",
            "the document has no securitySchemes: Bearer assumed",
        );
        section.set("header", "authorization", "");
        section.set("scheme", "Bearer", "");
        return;
    };
    let from = format!("from securitySchemes.{name}");
    let kind = scheme.get("type").and_then(Value::as_str).unwrap_or("");
    let location = scheme.get("in").and_then(Value::as_str).unwrap_or("");
    let header = scheme.get("name").and_then(Value::as_str).unwrap_or("");
    let http = scheme
        .get("scheme")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_ascii_lowercase();
    match (kind, location) {
        ("oauth2", _) | ("openIdConnect", _) => {
            section.set("send", "header", format!("{from} ({kind})"));
            section.set("header", "authorization", "");
            section.set("scheme", "Bearer", "");
        }
        ("http", _) if http == "bearer" => {
            section.set("send", "header", format!("{from} (http bearer)"));
            section.set("header", "authorization", "");
            section.set("scheme", "Bearer", "");
        }
        ("apiKey", "cookie") => {
            section.set("send", "cookie", format!("{from} (cookie {header})"));
            section.set("token", "", "the session rides in the cookie");
        }
        ("apiKey", "header") if header.eq_ignore_ascii_case("authorization") => {
            section.set(
                "send",
                "header",
                format!("{from} (apiKey in Authorization)"),
            );
            section.set("header", "authorization", "");
            let description = scheme
                .get("description")
                .and_then(Value::as_str)
                .unwrap_or("");
            match prefix_of(description) {
                Some(prefix) => section.set(
                    "scheme",
                    prefix,
                    format!("{from}: its description names the prefix"),
                ),
                None => section.missing(
                    "scheme",
                    format!(
                        "{from}: an Authorization API key whose prefix the document does not name"
                    ),
                    vec!["\"Bearer\"".into(), "\"Token\"".into(), "\"\"".into()],
                ),
            }
        }
        ("apiKey", "header") => {
            section.set("send", "header", format!("{from} (apiKey header)"));
            section.set("header", header.to_ascii_lowercase(), "");
            section.set("scheme", "", "the bare token");
        }
        _ => section.missing(
            "send",
            format!("{from}: a `{kind}` {http}{location} scheme loadgen cannot log in with"),
            vec!["\"header\"".into(), "\"cookie\"".into()],
        ),
    }
}

/// `prefix "Token"` in a scheme's description, else the word `Bearer` or `Token`.
fn prefix_of(description: &str) -> Option<String> {
    if let Some((_, rest)) = description.split_once("prefix \"")
        && let Some((prefix, _)) = rest.split_once('"')
    {
        return Some(prefix.to_owned());
    }
    ["Bearer", "Token", "JWT"]
        .iter()
        .find(|w| description.contains(*w))
        .map(|w| (*w).to_owned())
}

// --- records ---------------------------------------------------------------------------------

/// A collection: create and list on one path, and its item path.
#[derive(Debug, Clone)]
struct Resource<'a> {
    name: String,
    create: Operation<'a>,
    list: Operation<'a>,
    read: Option<Operation<'a>>,
    update: Option<Operation<'a>>,
    delete: Option<Operation<'a>>,
    item_path: Option<String>,
}

fn resources<'a>(ops: &[Operation<'a>]) -> Vec<Resource<'a>> {
    let find = |method: &str, path: &str| {
        ops.iter()
            .find(|o| o.method == method && o.path == path)
            .copied()
    };
    let mut found = Vec::new();
    for create in ops
        .iter()
        .filter(|o| o.method == "post" && !o.path.contains('{'))
    {
        let Some(list) = find("get", create.path) else {
            continue;
        };
        let base = create.path.trim_end_matches('/');
        // `/items/{id}` or `/items/{id}/`, one parameter.
        let item = ops
            .iter()
            .filter(|o| {
                o.path
                    .strip_prefix(base)
                    .and_then(|rest| rest.strip_prefix("/{"))
                    .and_then(|rest| rest.split_once('}'))
                    .is_some_and(|(name, tail)| {
                        !name.contains('/') && (tail.is_empty() || tail == "/")
                    })
            })
            .map(|o| o.path)
            .next();
        let at = |method: &str| item.and_then(|path| find(method, path));
        let name = base.rsplit('/').next().unwrap_or(base).to_owned();
        found.push(Resource {
            name,
            create: *create,
            list,
            read: at("get"),
            update: at("patch").or_else(|| at("put")),
            delete: at("delete"),
            item_path: item.map(str::to_owned),
        });
    }
    found
}

fn records<'a>(
    doc: &'a Document,
    ops: &[Operation<'a>],
    ask: &Ask,
    strip: &dyn Fn(&str) -> String,
) -> (Section, Option<Resource<'a>>) {
    let mut section = Section::new("records");
    let all = resources(ops);
    let names: Vec<String> = all.iter().map(|r| r.name.clone()).collect();
    let chosen = match &ask.resource {
        Some(wanted) => all
            .iter()
            .find(|r| r.name.eq_ignore_ascii_case(wanted) || r.create.path == wanted),
        None => all
            .iter()
            .find(|r| r.read.is_some() && r.update.is_some() && r.delete.is_some())
            .or_else(|| all.first()),
    };
    let Some(resource) = chosen.cloned() else {
        let why = match &ask.resource {
            Some(wanted) => format!("no collection named `{wanted}` with POST and GET"),
            None => "no path answers both POST (create) and GET (list)".into(),
        };
        section.missing("collection", why, names);
        return (section, None);
    };
    let r = &resource;
    let create_from = format!("from {}", named(&r.create));
    section.set("collection", strip(r.create.path), create_from.clone());
    match &r.item_path {
        Some(item) => {
            let template = item
                .split_once('{')
                .and_then(|(head, rest)| {
                    rest.split_once('}')
                        .map(|(_, tail)| format!("{head}{{id}}{tail}"))
                })
                .unwrap_or_else(|| item.clone());
            section.set("item", strip(&template), format!("from {item}"));
        }
        None => section.missing(
            "item",
            format!("no `{}/{{id}}` path", r.create.path.trim_end_matches('/')),
            Vec::new(),
        ),
    }
    section.set("create-method", "POST", "");
    // The create body: the marker, then every other required field.
    let Some((schema, _)) = doc.request(r.create.op) else {
        section.missing(
            "create-body",
            format!("{create_from}: no request body documented"),
            Vec::new(),
        );
        return (section, Some(resource));
    };
    let required = doc.required(schema);
    let props = doc.properties(schema);
    let writable: Vec<(&str, &Value)> = props
        .iter()
        .filter(|(_, p)| !doc.read_only(p))
        .copied()
        .collect();
    let strings = |only_required: bool| -> Vec<&str> {
        writable
            .iter()
            .filter(|(n, p)| doc.type_of(p) == "string" && (!only_required || required.contains(n)))
            .map(|(n, _)| *n)
            .collect()
    };
    let preferred = |names: &[&str]| -> Option<String> {
        MARKER_FIELDS
            .iter()
            .find_map(|w| names.iter().find(|n| n.eq_ignore_ascii_case(w)))
            .or_else(|| names.first())
            .map(|n| (*n).to_owned())
    };
    let marker = preferred(&strings(true)).or_else(|| preferred(&strings(false)));
    let Some(marker) = marker else {
        section.missing(
            "create-body",
            format!("{create_from}: the create schema has no string field to carry the marker"),
            writable.iter().map(|(n, _)| (*n).to_owned()).collect(),
        );
        return (section, Some(resource));
    };
    let mut body = toml::Table::new();
    body.insert(marker.clone(), "{marker}".into());
    for (name, prop) in &writable {
        if *name == marker || !required.contains(name) {
            continue;
        }
        let value = if OWNER_FIELDS.contains(name) {
            "{account_id}".into()
        } else {
            fill(doc, name, prop)
        };
        body.insert((*name).to_owned(), value);
    }
    section.set(
        "create-body",
        body,
        format!("{create_from}: `{marker}` carries the marker, then the required fields"),
    );
    section.set(
        "created",
        statuses(&doc.success(r.create.op)),
        format!("{create_from}: documented"),
    );
    // The record as answered.
    let answer = r
        .read
        .and_then(|read| doc.answer(read.op))
        .or_else(|| doc.answer(r.create.op));
    let answered_from = match r.read {
        Some(read) if doc.answer(read.op).is_some() => format!("from {}", named(&read)),
        _ => create_from.clone(),
    };
    match answer {
        Some(answer) => {
            let envelope = envelope_of(doc, answer);
            let record = envelope
                .map(|e| {
                    doc.properties(answer)
                        .into_iter()
                        .find(|(n, _)| *n == e)
                        .map(|(_, p)| p)
                        .unwrap_or(answer)
                })
                .unwrap_or(answer);
            let prefix = envelope.map(|e| format!("/{e}")).unwrap_or_default();
            record_pointers(
                doc,
                record,
                &prefix,
                &marker,
                &answered_from,
                ["id", "marker", "owner"],
                &mut section,
            );
        }
        None => section.missing(
            "id",
            format!("{answered_from}: no JSON answer documented"),
            Vec::new(),
        ),
    }
    // The list.
    let list_from = format!("from {}", named(&r.list));
    match doc.answer(r.list.op) {
        Some(answer) => {
            let (pointer, element) = list_of(doc, answer);
            match element {
                Some(element) => {
                    section.set(
                        "list",
                        pointer,
                        format!("{list_from}: the array of records"),
                    );
                    record_pointers(
                        doc,
                        element,
                        "",
                        &marker,
                        &list_from,
                        ["list-id", "list-marker", "list-owner"],
                        &mut section,
                    );
                }
                None => section.missing(
                    "list",
                    format!("{list_from}: no array of records in its answer"),
                    doc.properties(answer)
                        .iter()
                        .map(|(n, _)| format!("/{n}"))
                        .collect(),
                ),
            }
        }
        None => section.missing(
            "list",
            format!("{list_from}: no JSON answer documented"),
            Vec::new(),
        ),
    }
    paging(doc, &r.list, &list_from, &mut section);
    if let Some(read) = &r.read {
        section.set(
            "read-ok",
            statuses(&doc.success(read.op)),
            format!("from {}: documented", named(read)),
        );
    }
    match &r.update {
        Some(update) => {
            let from = format!("from {}", named(update));
            section.set("update-method", update.method.to_uppercase(), from.clone());
            let mut body = toml::Table::new();
            body.insert(marker.clone(), "{marker}".into());
            if update.method == "put"
                && let Some((schema, _)) = doc.request(update.op)
            {
                let required = doc.required(schema);
                for (name, prop) in doc.properties(schema) {
                    if name != marker && required.contains(&name) && !doc.read_only(prop) {
                        body.insert(name.to_owned(), fill(doc, name, prop));
                    }
                }
            }
            section.set("update-body", body, format!("{from}: the marker field"));
            section.set(
                "updated",
                statuses(&doc.success(update.op)),
                format!("{from}: documented"),
            );
        }
        None => section.missing(
            "update-method",
            "no PUT or PATCH on the item path (the update check stays off)",
            Vec::new(),
        ),
    }
    match &r.delete {
        Some(delete) => {
            let from = format!("from {}", named(delete));
            section.set("delete-method", "DELETE", from.clone());
            section.set(
                "deleted",
                statuses(&doc.success(delete.op)),
                format!("{from}: documented"),
            );
        }
        None => section.missing(
            "delete-method",
            "no DELETE on the item path (the delete check stays off)",
            Vec::new(),
        ),
    }
    (section, Some(resource))
}

/// The key wrapping a single record (`{"data": {...}}`), if the answer has no id of its own.
fn envelope_of<'a>(doc: &'a Document, answer: &'a Value) -> Option<&'a str> {
    let props = doc.properties(answer);
    if props.iter().any(|(n, _)| ID_FIELDS.contains(n)) {
        return None;
    }
    props
        .iter()
        .find(|(n, p)| ENVELOPES.contains(n) && doc.type_of(p) == "object")
        .map(|(n, _)| *n)
}

/// `id`, `marker` and `owner` pointers of a record schema, under `prefix`.
#[allow(clippy::too_many_arguments)]
fn record_pointers(
    doc: &Document,
    record: &Value,
    prefix: &str,
    marker: &str,
    from: &str,
    keys: [&'static str; 3],
    section: &mut Section,
) {
    let props = doc.properties(record);
    let names: Vec<&str> = props.iter().map(|(n, _)| *n).collect();
    match ID_FIELDS.iter().find(|f| names.contains(f)) {
        Some(id) => section.set(keys[0], format!("{prefix}/{id}"), from.to_owned()),
        None => section.missing(
            keys[0],
            format!("{from}: no id field"),
            names.iter().map(|n| format!("{prefix}/{n}")).collect(),
        ),
    }
    if names.contains(&marker) {
        section.set(keys[1], format!("{prefix}/{marker}"), from.to_owned());
    } else {
        section.missing(
            keys[1],
            format!("{from}: the answer does not show `{marker}`"),
            names.iter().map(|n| format!("{prefix}/{n}")).collect(),
        );
    }
    match OWNER_FIELDS.iter().find(|f| names.contains(f)) {
        Some(owner) => section.set(
            keys[2],
            format!("{prefix}/{owner}"),
            format!("{from}: the owner check compares it with the account id"),
        ),
        None => section.set(keys[2], "", format!("{from}: no owner field shown")),
    }
}

/// The pointer of the array of records in a list answer, and its element schema.
fn list_of<'a>(doc: &'a Document, answer: &'a Value) -> (String, Option<&'a Value>) {
    if doc.type_of(answer) == "array" {
        return (
            String::new(),
            doc.schema(answer).get("items").map(|i| doc.schema(i)),
        );
    }
    let props = doc.properties(answer);
    let arrays: Vec<&(&str, &Value)> = props
        .iter()
        .filter(|(_, p)| doc.type_of(p) == "array")
        .collect();
    let pick = LIST_FIELDS
        .iter()
        .find_map(|w| arrays.iter().find(|(n, _)| n == w))
        .or_else(|| arrays.first());
    match pick {
        Some((name, prop)) => (format!("/{name}"), prop.get("items").map(|i| doc.schema(i))),
        None => (String::new(), None),
    }
}

fn paging(doc: &Document, list: &Operation, from: &str, section: &mut Section) {
    let params = doc.parameters(list);
    let query: Vec<(&str, &Value)> = params
        .iter()
        .filter(|p| p.get("in").and_then(Value::as_str) == Some("query"))
        .filter_map(|p| {
            Some((
                p.get("name")?.as_str()?,
                p.get("schema").unwrap_or(&Value::Null),
            ))
        })
        .collect();
    let has = |name: &str| query.iter().find(|(n, _)| *n == name).map(|(_, s)| *s);
    let size_of = |schema: &Value| -> i64 {
        let schema = doc.schema(schema);
        let max = schema
            .get("maximum")
            .and_then(Value::as_i64)
            .unwrap_or(i64::MAX);
        100.min(max).max(1)
    };
    let mut paging = toml::Table::new();
    let note;
    if let Some((size, start, first)) = PAGING
        .iter()
        .find(|(s, p, _)| has(s).is_some() && has(p).is_some())
    {
        paging.insert("size-param".into(), (*size).into());
        paging.insert("size".into(), size_of(has(size).expect("found")).into());
        paging.insert("start-param".into(), (*start).into());
        paging.insert("start".into(), (*first as i64).into());
        note = format!("{from}: `{size}` and `{start}`");
    } else if let Some(size) = ["limit", "page_size", "per_page", "$limit"]
        .iter()
        .find(|s| has(s).is_some())
    {
        paging.insert("size-param".into(), (*size).into());
        paging.insert("size".into(), size_of(has(size).expect("found")).into());
        paging.insert("start-param".into(), "".into());
        paging.insert("start".into(), 0.into());
        note = format!("{from}: `{size}`");
    } else {
        let page = has("page").is_some();
        paging.insert("size-param".into(), "".into());
        paging.insert("size".into(), 10.into());
        paging.insert("start-param".into(), if page { "page" } else { "" }.into());
        paging.insert("start".into(), (if page { 1 } else { 0 }).into());
        note = format!(
            "{from}: {}the page size is not documented, so 10 is assumed (only lists of up to 10 own records are checked for completeness); set the server's",
            if page { "`page`; " } else { "" }
        );
    }
    section.set("paging", paging, note);
}

// --- meanings --------------------------------------------------------------------------------

fn meanings(doc: &Document, ops: &[Operation], resource: Option<&Resource>) -> Section {
    let mut section = Section::new("meanings");
    let item_ops: Vec<&Operation> = resource
        .and_then(|r| r.item_path.as_deref())
        .map(|path| ops.iter().filter(|o| o.path == path).collect())
        .unwrap_or_default();
    let mut documented: Vec<u16> = item_ops
        .iter()
        .flat_map(|o| doc.statuses(o.op))
        .filter(|s| [401, 403, 404, 410].contains(s))
        .collect();
    documented.sort_unstable();
    documented.dedup();
    let said = if documented.is_empty() {
        "the item path documents none of 401, 403, 404, 410: the usual answers".to_owned()
    } else {
        format!(
            "the item path documents {}",
            documented
                .iter()
                .map(u16::to_string)
                .collect::<Vec<_>>()
                .join(", ")
        )
    };
    section.set(
        "not-yours",
        statuses(&[403, 404]),
        format!("{said}; a server may answer either for another user's record"),
    );
    let mut gone = vec![404];
    if documented.contains(&410) {
        gone.push(410);
    }
    section.set("gone", statuses(&gone), "");
    section
}

fn statuses(list: &[u16]) -> toml::Value {
    toml::Value::Array(
        list.iter()
            .map(|s| toml::Value::Integer(i64::from(*s)))
            .collect(),
    )
}

/// `/field` (or `/data/field`) of the first of `wanted` the schema has, one envelope deep.
fn pointer_to(doc: &Document, schema: &Value, wanted: &[&str]) -> Option<String> {
    let props = doc.properties(schema);
    if let Some(name) = wanted.iter().find(|w| props.iter().any(|(n, _)| n == *w)) {
        return Some(format!("/{name}"));
    }
    props
        .iter()
        .filter(|(n, _)| ENVELOPES.contains(n))
        .find_map(|(n, p)| pointer_to(doc, p, wanted).map(|inner| format!("/{n}{inner}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn incomplete() -> Document {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../fixtures/openapi/incomplete.yaml"
        );
        let text = std::fs::read(path).expect("the fixture reads");
        Document::parse("incomplete.yaml", &text).expect("a YAML 3.0 document parses")
    }

    #[test]
    fn no_signup_and_an_unusual_token_field_are_listed_as_missing() {
        let inferred = infer(&incomplete(), &Ask::default());
        let missing = inferred.missing();
        assert_eq!(missing.len(), 2, "two pieces are missing: {missing:#?}");
        assert!(
            missing[0].starts_with("accounts.register-path: no unauthenticated POST"),
            "the signup is missing: {missing:#?}"
        );
        assert!(
            missing[1].starts_with("login.token:") && missing[1].contains("candidates: /jwt"),
            "the token field is missing, `jwt` offered: {missing:#?}"
        );
        let text = inferred.toml();
        assert!(
            text.contains("# register-path = ?   # NOT INFERRED")
                && text.contains("# token = ?   # NOT INFERRED"),
            "the missing pieces are commented placeholders:\n{text}"
        );
        let table: toml::Table = toml::from_str(&text).expect("the rest is valid TOML");
        let records = &table["records"];
        assert_eq!(records["collection"].as_str(), Some("/notes"), "{text}");
        assert_eq!(records["item"].as_str(), Some("/notes/{id}"), "{text}");
        assert_eq!(
            records["create-body"].to_string(),
            toml::Value::try_from(serde_json::json!({"text": "{marker}", "priority": "low"}))
                .unwrap()
                .to_string(),
            "the marker goes in `text`, the required enum takes its first value: {text}"
        );
        assert_eq!(
            records["id"].as_str(),
            Some("/id"),
            "allOf branches merge: {text}"
        );
        assert_eq!(records["owner"].as_str(), Some("/userId"), "{text}");
        assert_eq!(
            records["list"].as_str(),
            Some(""),
            "the list is the root array: {text}"
        );
        assert_eq!(records["update-method"].as_str(), Some("PATCH"), "{text}");
        assert_eq!(
            records["deleted"].as_array().map(Vec::len),
            Some(1),
            "{text}"
        );
        let paging = &records["paging"];
        assert_eq!(
            (
                paging["size-param"].as_str(),
                paging["size"].as_integer(),
                paging["start-param"].as_str()
            ),
            (Some("limit"), Some(50), Some("offset")),
            "offset/limit paging, the size capped by the maximum: {text}"
        );
        assert_eq!(table["login"]["scheme"].as_str(), Some("Bearer"), "{text}");
        assert_eq!(
            table["login"]["username"].as_str(),
            Some("{email}"),
            "{text}"
        );
    }

    #[test]
    fn resource_picks_a_collection_and_an_unknown_one_is_missing() {
        let ask = Ask {
            resource: Some("widgets".into()),
            ..Ask::default()
        };
        let inferred = infer(&incomplete(), &ask);
        assert!(
            inferred.missing().iter().any(|m| m
                .starts_with("records.collection: no collection named `widgets`")
                && m.contains("notes")),
            "an unknown resource is missing, the known ones offered: {:#?}",
            inferred.missing()
        );
    }
}
