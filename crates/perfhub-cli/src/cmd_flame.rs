//! `perfhub flamegraph` and `perfhub diff`: profiles captured elsewhere
//! (folded stacks or pprof) drawn as flame graphs.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use clap::Args;
use perfhub_flame::{FlameOptions, StackProfile};

use crate::Outcome;
use crate::report_io::write_file;

/// Draw a flame graph (interactive SVG) of a profile.
#[derive(Debug, Args)]
#[command(
    after_help = "INPUT is folded stacks (`frame;frame;frame weight` per line) or a pprof profile (gzip-compressed or raw protobuf), told apart by content. A malformed input is refused with the line that is wrong.\n\nExamples:\n  perfhub flamegraph cpu.folded -o cpu.svg\n  perfhub flamegraph profile.pb.gz -o cpu.svg --title 'server, 30 s under load'"
)]
pub struct FlamegraphArgs {
    /// The profile: folded stacks or pprof.
    #[arg(value_name = "INPUT")]
    input: PathBuf,

    /// Write the SVG here.
    #[arg(short, long, value_name = "FILE")]
    output: PathBuf,

    /// The title at the top of the graph.
    #[arg(long, value_name = "TITLE", default_value = "Flame Graph")]
    title: String,
}

/// Draw a differential flame graph between two profiles.
#[derive(Debug, Args)]
#[command(
    after_help = "The graph has AFTER's shape, red where a frame grew since BEFORE and blue where it shrank. Frames found only in BEFORE are not drawn: swap the two to see them. Both are folded stacks or pprof, told apart by content.\n\nExamples:\n  perfhub diff before.folded after.folded -o diff.svg\n  perfhub diff --normalize main.pb.gz branch.pb.gz -o diff.svg"
)]
pub struct DiffArgs {
    /// The baseline profile.
    #[arg(value_name = "BEFORE")]
    before: PathBuf,

    /// The profile to compare with the baseline.
    #[arg(value_name = "AFTER")]
    after: PathBuf,

    /// Write the SVG here.
    #[arg(short, long, value_name = "FILE")]
    output: PathBuf,

    /// The title at the top of the graph.
    #[arg(long, value_name = "TITLE", default_value = "Differential Flame Graph")]
    title: String,

    /// Scale BEFORE to AFTER's total first, for profiles of different lengths.
    #[arg(long)]
    normalize: bool,
}

pub fn flamegraph(args: FlamegraphArgs) -> Result<Outcome> {
    let profile = read(&args.input)?;
    let mut options = FlameOptions::new(args.title);
    options.subtitle = Some(file_name(&args.input));
    let mut svg = Vec::new();
    perfhub_flame::write_flamegraph(&profile, &options, &mut svg)
        .with_context(|| format!("cannot draw {}", args.input.display()))?;
    write_file(&args.output, &svg)?;
    Ok(Outcome::Success)
}

pub fn diff(args: DiffArgs) -> Result<Outcome> {
    let before = read(&args.before)?;
    let after = read(&args.after)?;
    // Against an empty side every frame would be drawn as all growth (or
    // the graph would be empty): refuse it, as `flamegraph` does.
    for (path, profile) in [(&args.before, &before), (&args.after, &after)] {
        if profile.total() == 0 {
            bail!(
                "{}: the profile has no samples, so there is nothing to compare; give a profile with samples on both sides",
                path.display()
            );
        }
    }
    let mut options = FlameOptions::new(args.title);
    options.subtitle = Some(format!(
        "{} → {}",
        file_name(&args.before),
        file_name(&args.after)
    ));
    options.normalize = args.normalize;
    let mut svg = Vec::new();
    perfhub_flame::write_diff_flamegraph(&before, &after, &options, &mut svg).with_context(
        || {
            format!(
                "cannot draw the difference from {} to {}",
                args.before.display(),
                args.after.display()
            )
        },
    )?;
    write_file(&args.output, &svg)?;
    Ok(Outcome::Success)
}

fn read(path: &Path) -> Result<StackProfile> {
    Ok(perfhub_flame::read_profile_file(path)?)
}

fn file_name(path: &Path) -> String {
    path.file_name()
        .unwrap_or(path.as_os_str())
        .to_string_lossy()
        .into_owned()
}
