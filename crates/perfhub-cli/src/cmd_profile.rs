//! `perfhub profile`: sample a command, or a running process, and write its
//! flame graph, stacks, timeline and report.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use clap::Args;
use perfhub_core::time::UtcTime;
use perfhub_probe::env::{EnvConfig, collect};
use perfhub_probe::spawn::{CommandSpec, Exit, Input, Output};
use perfhub_probe::timeline::TimelineConfig;
use perfhub_profile::process::{
    CallGraph, CommandProfileConfig, SamplerChoice, profile_command, profile_pid,
};

use crate::Outcome;
use crate::cmd_run::parse_duration;

/// Profile a command, or a running process: flame graph, timeline, report.
#[derive(Debug, Args)]
#[command(
    after_help = "Writes into DIR: flamegraph.svg, stacks.folded, profile.pb.gz (pprof), profile.speedscope.json, profile.firefox.json (a track per thread over time: open it at https://profiler.firefox.com, \"Load a profile from file\", or with `samply load`) and report.json (totals, resource timeline, how it was sampled); with --off-cpu also offcpu.svg and offcpu.folded.\n\nThe command's standard streams are perfhub's own, and its exit status is perfhub's (128 + N when signal N killed it). perfhub's summary goes to standard error.\n\nWhen the kernel refuses perf_event_open, perfhub says why and falls back to `perf record` if it is installed, else to the resource timeline alone; the summary and the report say which ran.\n\nExamples:\n  perfhub profile -- ./target/release/my-program --input big.txt\n  perfhub profile -F 4999 --call-graph dwarf -o prof -- ./no-frame-pointers\n  perfhub profile -p 4242 --duration 30s --off-cpu"
)]
pub struct ProfileArgs {
    /// Samples per second of CPU time, per thread.
    #[arg(short = 'F', long, value_name = "HZ", default_value_t = 999)]
    frequency: u64,

    /// Write the outputs into this directory (created if missing).
    #[arg(short, long, value_name = "DIR", default_value = "perfhub-profile")]
    output: PathBuf,

    /// Profile this running process instead of starting a command.
    #[arg(short, long, value_name = "PID", conflicts_with = "command")]
    pid: Option<u32>,

    /// With --pid: how long to sample (the process may end sooner).
    #[arg(long, value_name = "DURATION", default_value = "10s", value_parser = parse_duration, requires = "pid")]
    duration: Duration,

    /// How call chains are collected: `fp` walks frame pointers; `dwarf` copies
    /// 16 KiB of user stack per sample and unwinds it with the binaries' DWARF
    /// call-frame information, for code built without frame pointers.
    #[arg(long, value_name = "HOW", default_value = "fp", value_parser = ["fp", "dwarf"])]
    call_graph: String,

    /// Also record where threads wait off the CPU (blocked or preempted), from
    /// context-switch events.
    #[arg(long)]
    off_cpu: bool,

    /// Also record the kernel's frames, on top of the user stack, named from
    /// /proc/kallsyms as `function_[k]`. Needs kernel.perf_event_paranoid 1 or
    /// lower, or CAP_PERFMON; where refused, the profile says why and keeps
    /// the user frames.
    #[arg(long)]
    kernel: bool,

    /// How often the resource timeline samples /proc (10ms to 10s).
    #[arg(long, value_name = "DURATION", default_value = "50ms", value_parser = parse_duration)]
    interval: Duration,

    /// Which sampler to use: `auto` (perf_event_open, else perf record, else
    /// the timeline alone), `perf-event`, `perf-record` or `timeline`.
    #[arg(long, value_name = "SAMPLER", default_value = "auto", value_parser = ["auto", "perf-event", "perf-record", "timeline"])]
    sampler: String,

    /// How many of the hottest functions to list.
    #[arg(long, value_name = "N", default_value_t = 10)]
    top: usize,

    /// The command to profile, after `--`.
    #[arg(
        value_name = "COMMAND",
        trailing_var_arg = true,
        allow_hyphen_values = true
    )]
    command: Vec<String>,
}

fn into_config(args: &ProfileArgs) -> CommandProfileConfig {
    CommandProfileConfig {
        frequency_hz: args.frequency,
        call_graph: match args.call_graph.as_str() {
            "dwarf" => CallGraph::DWARF,
            _ => CallGraph::FramePointer,
        },
        off_cpu: args.off_cpu,
        timeline: TimelineConfig {
            interval: args.interval,
        },
        sampler: match args.sampler.as_str() {
            "perf-event" => SamplerChoice::PerfEvent,
            "perf-record" => SamplerChoice::PerfRecord,
            "timeline" => SamplerChoice::TimelineOnly,
            _ => SamplerChoice::Auto,
        },
        kernel_frames: args.kernel,
    }
}

/// Runs `perfhub profile`.
pub fn profile(args: ProfileArgs) -> Result<Outcome> {
    let config = into_config(&args);
    let into = || format!("cannot write the profile into {}", args.output.display());
    perfhub_profile::process::check_output_dir(&args.output).with_context(into)?;
    crate::interrupt::install();
    // The environment (git, and rustc in a Cargo project) is collected while the command runs;
    // its thread starts before the sampling events exist, so nothing it starts is sampled.
    let environment = std::thread::spawn(|| collect(EnvConfig::default()));
    let profile = match (args.pid, args.command.split_first()) {
        (Some(pid), _) => profile_pid(pid, args.duration, config, &crate::interrupt::requested)?,
        (None, Some((program, rest))) => {
            let mut spec = CommandSpec::new(program, rest);
            spec.stdin = Input::Inherit;
            spec.stdout = Output::Inherit;
            spec.stderr = Output::Inherit;
            profile_command(&spec, config)?
        }
        (None, None) => bail!(
            "nothing to profile: give a command after `--` (perfhub profile -- ./my-program) or a running process with --pid"
        ),
    };
    let mut report = profile.to_report(UtcTime::now());
    report.environment = environment.join().ok();
    let written = profile
        .write_outputs(&args.output, &report)
        .with_context(into)?;
    let summary = crate::render::flagged(|o| profile.write_summary(o, &written, args.top))?;
    std::io::Write::write_all(&mut std::io::stderr().lock(), summary.as_bytes())?;
    Ok(match profile.exit {
        None | Some(Exit::Code(0)) => {
            if crate::interrupt::requested() {
                Outcome::Interrupted
            } else {
                Outcome::Success
            }
        }
        Some(Exit::Code(c)) => Outcome::Exit(c.clamp(0, 255) as u8),
        Some(Exit::Signal { signal, .. }) => Outcome::Exit((128 + signal).clamp(0, 255) as u8),
    })
}
