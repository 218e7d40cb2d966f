//! Publishing results to GitHub Actions when perfhub runs there.

use anyhow::{Context, Result};
use perfhub_adapter_ci::github::{GithubEnv, publish};
use perfhub_core::report::Report;

/// When `GITHUB_ACTIONS=true`: prints the annotations (workflow commands on
/// standard output) and appends the job summary and the step outputs.
pub fn publish_if_in_actions(report: &Report) -> Result<()> {
    let env = GithubEnv::from_env();
    if !env.actions {
        return Ok(());
    }
    let lines = publish(report, &env).context("cannot publish to GitHub Actions")?;
    for line in lines {
        println!("{line}");
    }
    Ok(())
}
