//! Validation of `loadgen run FILE.toml`: the file's TOML read into raw structs, then checked and
//! compiled into a [`Script`] (templates parsed, variables resolved in file order), the stages and
//! the thresholds. Every mistake is one line naming the request and the key.

use std::{collections::BTreeMap, path::Path, time::Duration};

use hyper::{Method, StatusCode, Uri, header::HeaderName, header::HeaderValue};
use serde::Deserialize;
use shared::duration::{DurationRange, parse_duration};

use super::{Plan, PlanError, ScenarioPlan, invalid, output_plan, run_id_of, workload_plan};
use crate::{
    cli::RunArgs,
    plan::Model,
    plan::stages::{Stage, Stages},
    scenario::file::{
        Expected, Extract, FieldCheck, Order, Request, Script, StatusCheck,
        template::{BUILTINS, Names, Template},
    },
    thresholds::Threshold,
};

/// `loadgen run` settings.
#[derive(Debug, Clone)]
pub struct FilePlan {
    pub script: Script,
}

/// The file as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct RawFile {
    base_url: Option<String>,
    #[serde(default)]
    order: RawOrder,
    think_time: Option<String>,
    #[serde(default)]
    thresholds: Vec<String>,
    #[serde(default)]
    setup: Vec<RawRequest>,
    #[serde(default)]
    requests: Vec<RawRequest>,
    #[serde(default)]
    stages: Vec<RawStage>,
    #[serde(default)]
    ramp: RawRamp,
}

/// What `[[stages]]` targets.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "kebab-case")]
enum RawRamp {
    /// Users (closed model).
    #[default]
    Users,
    /// Iterations started per second (open model, on --max-users users).
    Rate,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "kebab-case")]
enum RawOrder {
    #[default]
    Sequence,
    Weighted,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct RawRequest {
    name: String,
    method: Option<String>,
    path: Option<String>,
    url: Option<String>,
    #[serde(default)]
    headers: BTreeMap<String, String>,
    body: Option<String>,
    content_type: Option<String>,
    #[serde(default)]
    check: RawCheck,
    #[serde(default)]
    extract: BTreeMap<String, String>,
    weight: Option<u64>,
    think_time: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCheck {
    status: Option<RawStatus>,
    #[serde(default)]
    json: BTreeMap<String, toml::Value>,
}

#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum RawStatus {
    One(u16),
    Many(Vec<u16>),
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawStage {
    duration: String,
    target: u64,
}

pub fn plan(args: RunArgs) -> Result<Plan, PlanError> {
    let raw = read(&args.file)?;
    let file = args.file.display().to_string();
    let base_url = match (args.base_url, raw.base_url) {
        (Some(url), _) | (None, Some(url)) => url,
        (None, None) => {
            return invalid(format!(
                "{file}: no base URL: set `base-url` in the file or pass --base-url"
            ));
        }
    };
    let origin = origin_of(&base_url).ok_or_else(|| {
        PlanError(format!(
            "base URL `{base_url}` must be http://HOST[:PORT][/PATH]"
        ))
    })?;
    let think_time = match &raw.think_time {
        Some(text) => range(text, "think-time")?,
        None => DurationRange::ZERO,
    };
    if raw.requests.is_empty() {
        return invalid(format!(
            "{file}: no [[requests]]: an iteration needs at least one"
        ));
    }
    let mut names = Names::default();
    let mut compile = |list: Vec<RawRequest>, part: &str| -> Result<Vec<Request>, PlanError> {
        list.into_iter()
            .enumerate()
            .map(|(index, raw)| {
                let at = format!("{part}[{index}] `{}`", raw.name);
                request(raw, &mut names, &origin, think_time)
                    .map_err(|error| PlanError(format!("{file}: {at}: {error}")))
            })
            .collect()
    };
    let setup = compile(raw.setup, "setup")?;
    let requests = compile(raw.requests, "requests")?;
    let order = match raw.order {
        RawOrder::Sequence => Order::Sequence,
        RawOrder::Weighted => Order::Weighted {
            total: requests.iter().map(|r| r.weight).sum(),
        },
    };
    if order == (Order::Weighted { total: 0 }) {
        return invalid(format!(
            "{file}: order = \"weighted\" needs a weight above 0"
        ));
    }
    let max_users = args.workload.max_users;
    let users_given = args.workload.users.is_some();
    let run_id = run_id_of(&args.workload.dist)?.as_str().to_owned();
    let mut workload = workload_plan(args.workload)?;
    if !raw.stages.is_empty() {
        let stages = stages(raw.stages).map_err(|e| PlanError(format!("{file}: {e}")))?;
        match workload.model {
            Model::Open { .. } => {
                return invalid(format!(
                    "{file}: stages set the load; drop --rate (ramp = \"rate\" ramps the rate)"
                ));
            }
            Model::Closed { loops: Some(_), .. } => {
                return invalid(format!(
                    "{file}: stages set the length of the run; drop --loops"
                ));
            }
            Model::Closed { .. } => {}
        }
        if users_given {
            return invalid(format!(
                "{file}: stages set the number of users (their peak is {}); drop --users",
                stages.peak()
            ));
        }
        if workload.duration.is_some() {
            return invalid(format!(
                "{file}: stages set the length of the run; drop --duration"
            ));
        }
        if workload.spawn_rate.is_some() {
            return invalid(format!(
                "{file}: stages set when users start; drop --spawn-rate"
            ));
        }
        workload.model = match raw.ramp {
            RawRamp::Users => Model::Closed {
                users: stages.peak() as usize,
                loops: None,
            },
            RawRamp::Rate => {
                if !workload.wait.is_zero() {
                    return invalid(format!(
                        "{file}: --wait applies to the closed model; the stages set the pace"
                    ));
                }
                if max_users == 0 {
                    return invalid("--max-users must be at least 1");
                }
                Model::Open {
                    rate: stages.peak() as f64,
                    max_users,
                }
            }
        };
        workload.duration = Some(stages.total());
        workload.stages = Some(stages);
    }
    let mut thresholds = args.output.threshold.clone();
    for text in &raw.thresholds {
        thresholds.push(
            Threshold::parse(text).map_err(|e| PlanError(format!("{file}: thresholds: {e}")))?,
        );
    }
    Ok(Plan {
        url: base_url,
        run_id,
        scenario: ScenarioPlan::File(Box::new(FilePlan {
            script: Script {
                setup,
                requests,
                order,
                names,
            },
        })),
        workload,
        output: output_plan(&args.output)?,
        thresholds,
    })
}

fn read(path: &Path) -> Result<RawFile, PlanError> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        let shown = path.display().to_string();
        if crate::cli::mistakes::looks_like_url(&shown) {
            PlanError(format!(
                "`loadgen run` takes a scenario file, not a URL: for one URL, `loadgen json {shown}`; \
                 with a file, `loadgen run FILE --base-url {shown}`"
            ))
        } else {
            PlanError(format!("cannot read {shown}: {e}"))
        }
    })?;
    toml::from_str(&text).map_err(|e| {
        PlanError(format!(
            "invalid scenario file {}: {}",
            path.display(),
            e.message().trim()
        ))
    })
}

/// `http://host:port` of a URL, or `None` when it is not an absolute http URL.
fn origin_of(url: &str) -> Option<String> {
    let uri: Uri = url.parse().ok()?;
    let scheme = uri.scheme_str()?;
    let authority = uri.authority()?;
    Some(format!("{scheme}://{authority}"))
}

fn range(text: &str, key: &str) -> Result<DurationRange, PlanError> {
    text.parse()
        .map_err(|e| PlanError(format!("{key} `{text}`: {e}")))
}

fn request(
    raw: RawRequest,
    names: &mut Names,
    origin: &str,
    think_time: DurationRange,
) -> Result<Request, String> {
    if raw.name.trim().is_empty() {
        return Err("name must not be empty".into());
    }
    let method = raw.method.as_deref().unwrap_or("GET");
    let method = Method::from_bytes(method.to_ascii_uppercase().as_bytes())
        .map_err(|_| format!("`{method}` is not an HTTP method"))?;
    let (path, absolute) = match (raw.path, raw.url) {
        (Some(path), None) => (path, false),
        (None, Some(url)) => match url.strip_prefix(origin) {
            Some(rest) if rest.starts_with('/') => (rest.to_owned(), true),
            _ => {
                return Err(format!(
                    "url `{url}` is not on the base URL's origin {origin} (one target per run)"
                ));
            }
        },
        _ => return Err("set exactly one of `path` (relative to the base URL) or `url`".into()),
    };
    if !path.starts_with('/') {
        return Err(format!("path `{path}` must start with /"));
    }
    let path = Template::parse(&path, names)?;
    let mut headers = Vec::new();
    for (name, value) in &raw.headers {
        let header = HeaderName::from_bytes(name.as_bytes())
            .map_err(|_| format!("`{name}` is not a header name"))?;
        headers.push((header, Template::parse(value, names)?));
    }
    let body = raw
        .body
        .as_deref()
        .map(|body| Template::parse(body, names))
        .transpose()?;
    let content_type = match (&raw.content_type, &body) {
        (Some(text), _) => Some(
            HeaderValue::from_str(text).map_err(|_| format!("content-type `{text}` is invalid"))?,
        ),
        (None, Some(_)) => Some(HeaderValue::from_static("application/json")),
        (None, None) => None,
    };
    let status = match raw.check.status {
        None => StatusCheck::Success,
        Some(RawStatus::One(code)) => StatusCheck::OneOf(vec![status(code)?]),
        Some(RawStatus::Many(codes)) => {
            StatusCheck::OneOf(codes.into_iter().map(status).collect::<Result<_, _>>()?)
        }
    };
    let mut json = Vec::new();
    for (pointer, value) in raw.check.json {
        if !pointer.starts_with('/') {
            return Err(format!(
                "check.json key `{pointer}` must be a JSON pointer such as /data/name"
            ));
        }
        let expected = match value {
            toml::Value::String(text) => Expected::Text(Template::parse(&text, names)?),
            other => Expected::Value(
                serde_json::to_value(other).map_err(|e| format!("check.json `{pointer}`: {e}"))?,
            ),
        };
        json.push(FieldCheck { pointer, expected });
    }
    // Extracted names exist from the next request on (and in this one's checks: harmless).
    let mut extract = Vec::new();
    for (name, pointer) in raw.extract {
        if BUILTINS.contains(&name.as_str()) {
            return Err(format!("extract `{name}`: that name is built in"));
        }
        if !pointer.is_empty() && !pointer.starts_with('/') {
            return Err(format!(
                "extract `{name}` = `{pointer}` must be a JSON pointer such as /data/id"
            ));
        }
        extract.push(Extract {
            slot: names.declare(&name),
            pointer,
        });
    }
    let weight = raw.weight.unwrap_or(1);
    let think_time = match &raw.think_time {
        Some(text) => range(text, "think-time").map_err(|e| e.0)?,
        None => think_time,
    };
    Ok(Request {
        name: raw.name,
        method,
        path,
        absolute,
        headers,
        body,
        content_type,
        status,
        json,
        extract,
        weight,
        think_time,
    })
}

fn status(code: u16) -> Result<StatusCode, String> {
    StatusCode::from_u16(code).map_err(|_| format!("check.status {code} is not a status code"))
}

fn stages(raw: Vec<RawStage>) -> Result<Stages, String> {
    let stages = raw
        .into_iter()
        .enumerate()
        .map(|(index, stage)| {
            let duration: Duration = parse_duration(&stage.duration)
                .map_err(|e| format!("stages[{index}].duration `{}`: {e}", stage.duration))?;
            Ok(Stage {
                duration,
                target: stage.target,
            })
        })
        .collect::<Result<Vec<_>, String>>()?;
    Stages::new(stages)
}
