//! The OpenAPI document as `describe` reads it: loaded from a file or a URL (JSON or YAML, 3.0 or
//! 3.1, one untyped tree so that both versions read the same), `$ref`s followed on demand, and the
//! few questions inference asks of a schema (its properties, which are required, whether one is
//! a string) answered over both versions' spellings (`nullable: true` and `anyOf [T, null]`).

use std::{path::Path, sync::Arc, time::Duration};

use bytes::Bytes;
use hyper::Method;
use serde_json::Value;

use crate::client::{Client, Target};

/// Why the document could not be read.
#[derive(Debug, thiserror::Error)]
pub enum DocumentError {
    #[error("cannot read {0}: {1}")]
    Read(String, String),
    #[error("{0} is neither JSON nor YAML: {1}")]
    Parse(String, String),
    #[error("{0} is not an OpenAPI 3 document (no `openapi: 3.x` and `paths`)")]
    NotOpenApi(String),
}

/// A parsed OpenAPI 3.0 or 3.1 document.
#[derive(Debug, Clone)]
pub struct Document {
    pub root: Value,
    /// Where it came from, for messages.
    pub source: String,
}

/// One operation: `POST /items/` and its object.
#[derive(Debug, Clone, Copy)]
pub struct Operation<'a> {
    pub method: &'a str,
    pub path: &'a str,
    pub op: &'a Value,
    /// The path item's own parameters, shared by its operations.
    pub shared: &'a Value,
}

/// How long fetching the document may take.
const FETCH_LIMIT: Duration = Duration::from_secs(30);

impl Document {
    /// Reads `source`: an `http(s)://` URL or a file.
    pub async fn load(source: &str) -> Result<Self, DocumentError> {
        let text = if source.starts_with("http://") || source.starts_with("https://") {
            fetch(source).await?
        } else {
            std::fs::read(Path::new(source))
                .map_err(|e| DocumentError::Read(source.to_owned(), e.to_string()))?
                .into()
        };
        Self::parse(source, &text)
    }

    /// Parses a document's text (JSON, else YAML).
    pub fn parse(source: &str, text: &[u8]) -> Result<Self, DocumentError> {
        let root: Value = match serde_json::from_slice(text) {
            Ok(value) => value,
            Err(_) => serde_yaml_ng::from_slice(text)
                .map_err(|e| DocumentError::Parse(source.to_owned(), e.to_string()))?,
        };
        let version = root.get("openapi").and_then(Value::as_str).unwrap_or("");
        if !version.starts_with('3') || !root.get("paths").is_some_and(Value::is_object) {
            return Err(DocumentError::NotOpenApi(source.to_owned()));
        }
        Ok(Self {
            root,
            source: source.to_owned(),
        })
    }

    /// Every operation, paths in the document's key order (sorted), methods in CRUD order.
    pub fn operations(&self) -> Vec<Operation<'_>> {
        let mut all = Vec::new();
        let Some(paths) = self.root.get("paths").and_then(Value::as_object) else {
            return all;
        };
        for (path, item) in paths {
            let item = self.resolve(item);
            for method in ["post", "get", "put", "patch", "delete"] {
                if let Some(op) = item.get(method) {
                    all.push(Operation {
                        method,
                        path,
                        op,
                        shared: item.get("parameters").unwrap_or(&Value::Null),
                    });
                }
            }
        }
        all
    }

    /// Follows a local `$ref` (`#/components/schemas/Item`), repeatedly; anything else as it is.
    pub fn resolve<'a>(&'a self, mut value: &'a Value) -> &'a Value {
        for _ in 0..16 {
            let Some(reference) = value.get("$ref").and_then(Value::as_str) else {
                return value;
            };
            match reference
                .strip_prefix('#')
                .and_then(|pointer| self.root.pointer(pointer))
            {
                Some(target) => value = target,
                None => return value,
            }
        }
        value
    }

    /// The schema behind `anyOf`/`oneOf` `[T, null]` and a one-branch `allOf [T]`: the first
    /// non-null branch. A longer `allOf` stays: [`Document::properties`] merges its branches.
    pub fn schema<'a>(&'a self, schema: &'a Value) -> &'a Value {
        let schema = self.resolve(schema);
        let merged = schema
            .get("allOf")
            .and_then(Value::as_array)
            .is_some_and(|branches| branches.len() > 1);
        for key in ["allOf", "anyOf", "oneOf"] {
            if key == "allOf" && merged {
                continue;
            }
            if schema.get("properties").is_none()
                && let Some(branches) = schema.get(key).and_then(Value::as_array)
                && let Some(first) = branches
                    .iter()
                    .map(|b| self.resolve(b))
                    .find(|b| b.get("type").and_then(Value::as_str) != Some("null"))
            {
                return self.schema(first);
            }
        }
        schema
    }

    /// The properties of an object schema, in key order (an `allOf`'s branches in turn).
    pub fn properties<'a>(&'a self, schema: &'a Value) -> Vec<(&'a str, &'a Value)> {
        let schema = self.schema(schema);
        if let Some(branches) = schema.get("allOf").and_then(Value::as_array) {
            return branches.iter().flat_map(|b| self.properties(b)).collect();
        }
        schema
            .get("properties")
            .and_then(Value::as_object)
            .map(|props| {
                props
                    .iter()
                    .map(|(name, prop)| (name.as_str(), self.schema(prop)))
                    .collect()
            })
            .unwrap_or_default()
    }

    /// The required properties of an object schema.
    pub fn required<'a>(&'a self, schema: &'a Value) -> Vec<&'a str> {
        let schema = self.schema(schema);
        if let Some(branches) = schema.get("allOf").and_then(Value::as_array) {
            return branches.iter().flat_map(|b| self.required(b)).collect();
        }
        schema
            .get("required")
            .and_then(Value::as_array)
            .map(|names| names.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default()
    }

    /// The request body's schema and media types (`application/json` first if offered).
    pub fn request<'a>(&'a self, op: &'a Value) -> Option<(&'a Value, Vec<&'a str>)> {
        let content = self
            .resolve(op.get("requestBody")?)
            .get("content")?
            .as_object()?;
        let types: Vec<&str> = content.keys().map(String::as_str).collect();
        let preferred = content
            .get("application/json")
            .or_else(|| content.values().next())?;
        Some((self.schema(preferred.get("schema")?), types))
    }

    /// The documented statuses of `op` (numeric keys only), ascending.
    pub fn statuses(&self, op: &Value) -> Vec<u16> {
        let mut statuses: Vec<u16> = op
            .get("responses")
            .and_then(Value::as_object)
            .map(|r| r.keys().filter_map(|k| k.parse().ok()).collect())
            .unwrap_or_default();
        statuses.sort_unstable();
        statuses
    }

    /// The 2xx statuses of `op` (`[200]` when none is documented).
    pub fn success(&self, op: &Value) -> Vec<u16> {
        let ok: Vec<u16> = self
            .statuses(op)
            .into_iter()
            .filter(|s| (200..300).contains(s))
            .collect();
        if ok.is_empty() { vec![200] } else { ok }
    }

    /// The JSON schema of the first 2xx answer of `op`, if documented.
    pub fn answer<'a>(&'a self, op: &'a Value) -> Option<&'a Value> {
        let responses = op.get("responses")?.as_object()?;
        let (_, response) = responses.iter().find(|(k, _)| k.starts_with('2'))?;
        let content = self.resolve(response).get("content")?.as_object()?;
        let media = content
            .get("application/json")
            .or_else(|| content.values().next())?;
        Some(self.schema(media.get("schema")?))
    }

    /// The parameters of an operation (its own and its path item's), resolved.
    pub fn parameters<'a>(&'a self, operation: &Operation<'a>) -> Vec<&'a Value> {
        [
            operation.shared,
            operation.op.get("parameters").unwrap_or(&Value::Null),
        ]
        .into_iter()
        .filter_map(Value::as_array)
        .flatten()
        .map(|p| self.resolve(p))
        .collect()
    }

    /// The `type` of a schema (`string`, `integer`...), reading 3.1's `[T, "null"]` too.
    pub fn type_of<'a>(&'a self, schema: &'a Value) -> &'a str {
        match self.schema(schema).get("type") {
            Some(Value::String(kind)) => kind,
            Some(Value::Array(kinds)) => kinds
                .iter()
                .filter_map(Value::as_str)
                .find(|k| *k != "null")
                .unwrap_or(""),
            _ => "",
        }
    }

    /// Whether a property is the server's to fill (`readOnly`).
    pub fn read_only(&self, schema: &Value) -> bool {
        self.schema(schema).get("readOnly") == Some(&Value::Bool(true))
    }

    /// `servers[0].url`'s path (`/api/v1`), which every path is below; `""` when none.
    pub fn server_path(&self) -> String {
        let url = self
            .root
            .pointer("/servers/0/url")
            .and_then(Value::as_str)
            .unwrap_or("");
        let path = match url.split_once("://") {
            Some((_, rest)) => rest.find('/').map_or("", |i| &rest[i..]),
            None => url,
        };
        path.trim_end_matches('/').to_owned()
    }
}

/// GETs `url` with loadgen's own client and returns the body of a 2xx answer.
async fn fetch(url: &str) -> Result<Bytes, DocumentError> {
    let failed = |why: String| DocumentError::Read(url.to_owned(), why);
    let target = Arc::new(Target::resolve(url).await.map_err(failed)?);
    let mut client = Client::to(&target);
    // The whole URL is the target's base path (less a trailing slash): ask for exactly it.
    let tail = if url.ends_with('/') { "/" } else { "" };
    let mut request = target.request(Method::GET, tail, Bytes::new());
    request.headers_mut().insert(
        hyper::header::ACCEPT,
        hyper::header::HeaderValue::from_static(
            "application/json, application/yaml;q=0.9, */*;q=0.5",
        ),
    );
    let response = tokio::time::timeout(FETCH_LIMIT, client.send(request))
        .await
        .map_err(|_| failed(format!("no answer within {FETCH_LIMIT:?}")))?
        .map_err(|e| failed(e.to_string()))?;
    if !response.status.is_success() {
        return Err(failed(format!("it answered {}", response.status)));
    }
    Ok(response.body)
}
