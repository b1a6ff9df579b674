//! Validation of `loadgen isolation` and `loadgen cities` flags into a [`CitiesPlan`].

use std::sync::Arc;

use super::{
    Output, Plan, PlanError, ScenarioPlan, invalid, output_plan, run_id_of, workload_plan,
};
use crate::{
    api::{
        Api, Description,
        description::{add_headers, parse_set},
        legacy::Shape,
    },
    cli::{Check, CitiesArgs},
    scenario::cities::Options,
};

/// `isolation`: the `anonymous` and `resurrect` checks run every this many iterations per user.
const BESIDE_EVERY: u64 = 5;

/// Which command: the general one, or the article's preset.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Preset {
    /// `loadgen isolation`: every check the description supports, unless skipped.
    Isolation,
    /// `loadgen cities`: only the checks asked for, as in the article.
    Cities,
}

/// `loadgen isolation` / `loadgen cities` settings.
#[derive(Debug, Clone)]
pub struct CitiesPlan {
    /// `isolation` or `cities`, as reports name the scenario.
    pub command: &'static str,
    pub options: Options,
}

pub fn plan(mut args: CitiesArgs, preset: Preset) -> Result<Plan, PlanError> {
    // `--openapi`: the description `describe` would write, through a file like `--api`.
    let inferred_file = match &args.openapi {
        Some(openapi) => {
            let path = inferred_api(openapi, &args)?;
            args.api = Some(path.clone());
            args.save_api.is_none().then_some(path)
        }
        None => None,
    };
    let legacy = match &args.scenario {
        Some(path) => Shape::load(path).map_err(PlanError)?,
        None => Shape::default(),
    };
    let legacy = legacy.or(Shape {
        register_path: args.register_path,
        token_path: args.token_path,
        cities_path: args.cities_path,
        token_request: args.token_request,
        token_field: args.token_field,
        envelope: args.envelope,
    });
    let mut overrides = legacy.overrides();
    for set in &args.set {
        overrides.push(parse_set(set).map_err(PlanError)?);
    }
    let description = Description::load_with(args.api.as_deref(), &overrides);
    if let Some(path) = inferred_file {
        let _ = std::fs::remove_file(path);
    }
    let mut description = description.map_err(PlanError)?;
    add_headers(&mut description.headers, &args.headers).map_err(PlanError)?;
    let skip = |check: Check| args.skip.contains(&check);
    if skip(Check::Owner) {
        description.records.owner.clear();
        description.records.list_owner.clear();
    }
    if skip(Check::Me) && preset == Preset::Isolation {
        description.login.me_path.clear();
    }
    let api = Api::new(description).map_err(PlanError)?;
    if args.tabs == 0 {
        return invalid("--tabs must be at least 1");
    }
    if args.probe_foreign == Some(0) {
        return invalid("--probe-foreign takes a number of iterations of at least 1");
    }
    if args.me_check && !api.has_me() {
        return invalid("--me-check needs login.me-path in the API description");
    }
    let run = run_id_of(&args.workload.dist)?;
    let run_id = run.as_str().to_owned();
    let admin = match (args.score, args.admin_url) {
        (_, Some(url)) => Some(url),
        (true, None) => Some(admin_url_of(&args.base_url)?),
        (false, None) => None,
    };
    let workload = workload_plan(args.workload)?;
    let users = workload.model.users();
    let identities = users.div_ceil(args.tabs);
    if !api.registers() && api.provisioned_count() < identities * workload.worker.workers {
        return invalid(format!(
            "accounts.file has {} accounts for {identities} identities (--users / --tabs): add accounts or lower --users",
            api.provisioned_count()
        ));
    }
    let isolation = preset == Preset::Isolation;
    let probe_every = match args.probe_foreign {
        Some(every) => every,
        None if isolation && !skip(Check::Probe) => 5,
        None => 0,
    };
    let options = Options {
        run,
        list_check: args.list_check || (isolation && !skip(Check::List)),
        update_check: args.update_check,
        delete_check: args.delete_check,
        me_check: args.me_check || (isolation && api.has_me()),
        probe_every,
        anonymous_every: if isolation && !skip(Check::Anonymous) {
            BESIDE_EVERY
        } else {
            0
        },
        resurrect_every: if isolation && !skip(Check::Resurrect) {
            BESIDE_EVERY
        } else {
            0
        },
        users,
        tabs: args.tabs,
        worker_index: workload.worker.index,
        workers: workload.worker.workers,
        max_evidence: args.max_evidence,
        preflight: !args.no_preflight,
        timeout: workload.timeout,
        score: admin.clone().filter(|_| args.score),
        admin,
        allow: args.allow.iter().map(|class| class.as_str()).collect(),
        api: Arc::new(api),
        login_step: if isolation { "login" } else { "token" },
    };
    Ok(Plan {
        url: args.base_url,
        run_id,
        scenario: ScenarioPlan::Cities(Box::new(CitiesPlan {
            command: if isolation { "isolation" } else { "cities" },
            options,
        })),
        workload,
        output: Output {
            evidence_out: args.evidence_out,
            ..output_plan(&args.output)?
        },
        thresholds: args.output.threshold,
    })
}

/// Infers the description from `openapi` and writes it to `--save-api` (or a temporary file, the
/// text then shown on stderr); a piece that cannot be inferred is a plan error listing them all.
fn inferred_api(openapi: &str, args: &CitiesArgs) -> Result<std::path::PathBuf, PlanError> {
    let inferred = crate::api::openapi::describe_blocking(
        openapi,
        Some(&args.base_url),
        args.resource.clone(),
    )
    .map_err(|e| PlanError(format!("--openapi: {e}")))?;
    let text = inferred.toml();
    let missing = inferred.missing();
    if !missing.is_empty() {
        return Err(PlanError(format!(
            "--openapi: could not infer {} (run `loadgen describe --openapi {openapi} -o api.toml`, fill them in, then use --api api.toml)",
            missing.join("; ")
        )));
    }
    let path = match &args.save_api {
        Some(path) => path.clone(),
        None => {
            eprintln!("{text}");
            std::env::temp_dir().join(format!("loadgen-openapi-{}.toml", std::process::id()))
        }
    };
    std::fs::write(&path, &text)
        .map_err(|e| PlanError(format!("cannot write {}: {e}", path.display())))?;
    eprintln!(
        "api: inferred from {openapi}{}{}",
        inferred
            .resource
            .map(|name| format!(", records are `{name}`"))
            .unwrap_or_default(),
        args.save_api
            .as_ref()
            .map(|p| format!(", saved to {}", p.display()))
            .unwrap_or_default()
    );
    Ok(path)
}

/// `http://host:port/api/v1` -> `http://host:port/__admin`.
fn admin_url_of(base_url: &str) -> Result<String, PlanError> {
    let rest = base_url
        .strip_prefix("http://")
        .ok_or_else(|| PlanError(format!("--base-url `{base_url}` must start with http://")))?;
    let authority = rest.split('/').next().unwrap_or(rest);
    Ok(format!("http://{authority}{}", shared::paths::ADMIN))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_admin_url_comes_from_the_base_url() {
        assert_eq!(
            admin_url_of("http://127.0.0.1:8020/api/v1").unwrap(),
            "http://127.0.0.1:8020/__admin",
            "the admin URL is the API URL's origin plus /__admin"
        );
        assert!(
            admin_url_of("https://x").is_err(),
            "an admin URL needs a path to derive from"
        );
    }
}
