//! Templates: `{name}` placeholders in paths and in JSON bodies, filled from what a virtual user
//! knows (its email, password, run, index, the record's marker and id, its account id).
//!
//! In a JSON body a string that is exactly one placeholder takes the value's JSON type (an account
//! id learned as a number stays a number: `"userId" = "{account_id}"` sends `"userId": 7`);
//! otherwise placeholders are replaced inside the text. An unknown placeholder is left as it is.

use serde_json::Value;

/// The values a template may use. Unset values leave their placeholder.
#[derive(Debug, Clone, Default)]
pub struct Vars<'a> {
    pub run: Option<&'a str>,
    pub user: Option<usize>,
    pub email: Option<&'a str>,
    pub password: Option<&'a str>,
    pub marker: Option<&'a str>,
    pub id: Option<&'a str>,
    pub account_id: Option<&'a Value>,
}

impl Vars<'_> {
    fn value(&self, name: &str) -> Option<Value> {
        let text = |s: Option<&str>| s.map(|s| Value::String(s.to_owned()));
        match name {
            "run" => text(self.run),
            "user" => self.user.map(|u| Value::String(u.to_string())),
            "email" => text(self.email),
            "password" => text(self.password),
            "marker" => text(self.marker),
            "id" => text(self.id),
            "account_id" => self.account_id.cloned(),
            _ => None,
        }
    }

    /// `template` with every known placeholder replaced by its text.
    pub fn fill(&self, template: &str) -> String {
        let mut out = String::with_capacity(template.len() + 32);
        let mut rest = template;
        while let Some(open) = rest.find('{') {
            out.push_str(&rest[..open]);
            let after = &rest[open + 1..];
            match after.find('}') {
                Some(close) if is_name(&after[..close]) => {
                    match self.value(&after[..close]) {
                        Some(value) => out.push_str(&as_text(&value)),
                        None => out.push_str(&rest[open..open + close + 2]),
                    }
                    rest = &after[close + 1..];
                }
                _ => {
                    out.push('{');
                    rest = after;
                }
            }
        }
        out.push_str(rest);
        out
    }

    /// A path: `template` filled, with no doubled slash.
    pub fn path(&self, template: &str) -> String {
        join_slashes(&self.fill(template))
    }

    /// A JSON body from a TOML table of templates.
    pub fn body(&self, table: &toml::Table) -> Value {
        let value = serde_json::to_value(table).unwrap_or(Value::Null);
        self.json(value)
    }

    fn json(&self, value: Value) -> Value {
        match value {
            Value::String(text) => {
                let whole = text
                    .strip_prefix('{')
                    .and_then(|t| t.strip_suffix('}'))
                    .filter(|name| is_name(name));
                match whole.and_then(|name| self.value(name)) {
                    Some(value) => value,
                    None => Value::String(self.fill(&text)),
                }
            }
            Value::Array(items) => Value::Array(items.into_iter().map(|v| self.json(v)).collect()),
            Value::Object(map) => {
                Value::Object(map.into_iter().map(|(k, v)| (k, self.json(v))).collect())
            }
            other => other,
        }
    }
}

fn is_name(name: &str) -> bool {
    !name.is_empty() && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

/// A JSON scalar as text (`"a"` -> `a`, `7` -> `7`); `None` for null, arrays and objects.
pub fn scalar(value: &Value) -> Option<String> {
    match value {
        Value::String(text) => Some(text.clone()),
        Value::Number(number) => Some(number.to_string()),
        _ => None,
    }
}

fn as_text(value: &Value) -> String {
    scalar(value).unwrap_or_else(|| value.to_string())
}

/// Collapses doubled slashes (`/items/` + `/3` never gives `/items//3`), keeping the query as is.
pub fn join_slashes(path: &str) -> String {
    let (path, query) = match path.split_once('?') {
        Some((path, query)) => (path, Some(query)),
        None => (path, None),
    };
    let mut out = String::with_capacity(path.len() + 1);
    for c in path.chars() {
        if !(c == '/' && out.ends_with('/')) {
            out.push(c);
        }
    }
    if let Some(query) = query {
        out.push('?');
        out.push_str(query);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_fill_paths_and_bodies() {
        let account = serde_json::json!(7);
        let vars = Vars {
            run: Some("rb1"),
            user: Some(3),
            marker: Some("rb1.u3.c1"),
            id: Some("42"),
            account_id: Some(&account),
            ..Vars::default()
        };
        assert_eq!(
            vars.fill("{run}.u{user}@example.com"),
            "rb1.u3@example.com",
            "fill replaces every known variable"
        );
        assert_eq!(vars.path("/items/{id}/"), "/items/42/", "path fills the id");
        assert_eq!(
            vars.path("/items//{id}"),
            "/items/42",
            "path joins doubled slashes"
        );
        assert_eq!(
            vars.path("/users/{account_id}/cities"),
            "/users/7/cities",
            "path fills the account id"
        );
        assert_eq!(
            vars.fill("{nope} {email} {"),
            "{nope} {email} {",
            "fill leaves unknown and unfilled variables and a stray brace alone"
        );
        let body: toml::Table =
            toml::from_str("title = \"{marker}\"\nuserId = \"{account_id}\"\nnote = \"by {user}\"")
                .unwrap();
        assert_eq!(
            vars.body(&body),
            serde_json::json!({"title": "rb1.u3.c1", "userId": 7, "note": "by 3"}),
            "the body template fills every variable, nested too"
        );
    }

    #[test]
    fn doubled_slashes_collapse_outside_the_query() {
        assert_eq!(
            join_slashes("/a//b///c"),
            "/a/b/c",
            "join_slashes collapses runs of slashes"
        );
        assert_eq!(
            join_slashes("/a//?next=//x"),
            "/a/?next=//x",
            "join_slashes leaves the query alone"
        );
    }
}
