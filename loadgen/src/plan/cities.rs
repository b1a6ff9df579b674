//! Validation of `loadgen cities` flags into a [`CitiesPlan`].

use std::path::PathBuf;

use super::{Plan, PlanError, ScenarioPlan, invalid, output_plan, run_id_of, workload_plan};
use crate::{
    cli::{CitiesArgs, ViolationClass},
    scenario::cities::{Options, shape::Shape},
};

/// `loadgen cities` settings.
#[derive(Debug, Clone)]
pub struct CitiesPlan {
    pub options: Options,
    pub evidence_out: Option<PathBuf>,
    /// The admin API to score against (`--score`).
    pub score: Option<String>,
    /// Violation classes that do not fail the run.
    pub allow: Vec<ViolationClass>,
}

impl CitiesPlan {
    /// Whether a violation of `class` fails the run.
    pub fn fails_on(&self, class: ViolationClass) -> bool {
        !self.allow.contains(&class)
    }
}

pub fn plan(args: CitiesArgs) -> Result<Plan, PlanError> {
    let mut shape = match &args.scenario {
        Some(path) => Shape::load(path).map_err(PlanError)?,
        None => Shape::default(),
    };
    let overrides = [
        (args.register_path, &mut shape.register_path),
        (args.token_path, &mut shape.token_path),
        (args.cities_path, &mut shape.cities_path),
        (args.token_field, &mut shape.token_field),
        (args.envelope, &mut shape.envelope),
    ];
    for (flag, field) in overrides {
        if let Some(value) = flag {
            *field = value;
        }
    }
    if let Some(kind) = args.token_request {
        shape.token_request = kind;
    }
    shape.validate().map_err(PlanError)?;
    if args.tabs == 0 {
        return invalid("--tabs must be at least 1");
    }
    if args.probe_foreign == Some(0) {
        return invalid("--probe-foreign takes a number of iterations of at least 1");
    }
    let run = run_id_of(&args.workload.dist)?;
    let run_id = run.as_str().to_owned();
    let admin = match (args.score, args.admin_url) {
        (false, _) => None,
        (true, Some(url)) => Some(url),
        (true, None) => Some(admin_url_of(&args.base_url)?),
    };
    let workload = workload_plan(args.workload)?;
    let options = Options {
        run,
        shape,
        list_check: args.list_check,
        update_check: args.update_check,
        delete_check: args.delete_check,
        probe_every: args.probe_foreign.unwrap_or(0),
        users: workload.model.users(),
        tabs: args.tabs,
        worker_index: workload.worker.index,
        workers: workload.worker.workers,
        max_evidence: args.max_evidence,
    };
    Ok(Plan {
        url: args.base_url,
        run_id,
        scenario: ScenarioPlan::Cities(Box::new(CitiesPlan {
            options,
            evidence_out: args.evidence_out,
            score: admin,
            allow: args.allow,
        })),
        workload,
        output: output_plan(&args.output)?,
        thresholds: args.output.threshold,
    })
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
            "http://127.0.0.1:8020/__admin"
        );
        assert!(admin_url_of("https://x").is_err());
    }
}
