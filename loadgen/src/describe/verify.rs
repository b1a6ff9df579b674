//! The check behind `describe --base-url`: the description just written walks the isolation
//! test's own preflight (register, login, `me`, create, read, list, update, delete and a probe,
//! two identities, one request at a time), so "it passed" means `isolation` will start.

use std::sync::Arc;

use clap::Parser;

use crate::{
    cli::Cli,
    client::Target,
    plan::{Plan, ScenarioPlan},
    scenario::{Scenario, cities::Cities},
};

/// Walks the preflight of `description` (TOML text) against `base_url`.
pub async fn preflight(description: &str, base_url: &str) -> Result<(), String> {
    let file = std::env::temp_dir().join(format!("loadgen-describe-{}.toml", std::process::id()));
    std::fs::write(&file, description)
        .map_err(|e| format!("cannot write {}: {e}", file.display()))?;
    let path = file.display().to_string();
    let cli = Cli::try_parse_from([
        "loadgen",
        "isolation",
        "--api",
        &path,
        "--base-url",
        base_url,
        "--users",
        "2",
        "--loops",
        "1",
        "--update-check",
        "--delete-check",
    ]);
    let plan = cli
        .map_err(|e| e.to_string())
        .and_then(|cli| Plan::from_cli(cli).map_err(|e| e.to_string()));
    let _ = std::fs::remove_file(&file);
    let plan = plan?;
    let ScenarioPlan::Cities(cities) = &plan.scenario else {
        return Err("not an isolation plan".into());
    };
    let target = Arc::new(Target::resolve_with(&plan.url, &plan.workload.client).await?);
    let scenario = Cities::new(cities.options.clone());
    scenario.prepare(&target).await
}
