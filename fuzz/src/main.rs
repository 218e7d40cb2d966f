//! `perfhub-fuzz`: the campaign driver behind `cargo xtask fuzz`.
//!
//! ```text
//! perfhub-fuzz campaign --minutes N [--target NAME]... [--jobs J] [--perfhub BIN] [--seed S]
//! perfhub-fuzz replay TARGET FILE...     run inputs once and say what each did
//! perfhub-fuzz bombs [TARGET]...        the large inputs made in code, each once
//! perfhub-fuzz list                      the targets and their groups
//! perfhub-fuzz worker [--perfhub BIN]    (the campaign's own worker process)
//! ```

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use perfhub_fuzz::campaign::{self, Options};
use perfhub_fuzz::{Verdict, run_case, target, targets, workspace_root};

const USAGE: &str = "usage: perfhub-fuzz campaign --minutes N [--target NAME]... [--jobs J] [--perfhub BIN] [--seed S] [--root DIR]
       perfhub-fuzz replay TARGET FILE...
       perfhub-fuzz bombs [TARGET]...
       perfhub-fuzz list";

fn main() -> ExitCode {
    match run() {
        Ok(code) => code,
        Err(e) => {
            eprintln!("perfhub-fuzz: {e}");
            ExitCode::from(2)
        }
    }
}

fn value(args: &mut impl Iterator<Item = String>, flag: &str) -> Result<String, String> {
    args.next()
        .ok_or_else(|| format!("{flag} needs a value\n{USAGE}"))
}

fn run() -> Result<ExitCode, String> {
    let mut args = std::env::args().skip(1);
    let command = args.next().ok_or(USAGE)?;
    match command.as_str() {
        "worker" => {
            while let Some(a) = args.next() {
                if a == "--perfhub" {
                    perfhub_fuzz::set_perfhub_binary(PathBuf::from(value(&mut args, &a)?));
                }
            }
            campaign::worker()?;
            Ok(ExitCode::SUCCESS)
        }
        "bombs" => {
            // Every bomb of the targets named (all when none), each in turn.
            let only: Vec<String> = args.collect();
            let mut failed = false;
            for t in targets() {
                if !only.is_empty() && !only.iter().any(|o| o == t.name) {
                    continue;
                }
                for (name, bytes) in (t.bombs)() {
                    let (verdict, peak) = run_case(&t, &bytes);
                    failed |= verdict.is_failure();
                    println!(
                        "{}: {name} ({} KiB): {:?}, {} MiB peak",
                        t.name,
                        bytes.len() >> 10,
                        verdict,
                        peak >> 20
                    );
                }
            }
            Ok(if failed {
                ExitCode::FAILURE
            } else {
                ExitCode::SUCCESS
            })
        }
        "list" => {
            for t in targets() {
                println!("{:<16} {}", t.name, t.group);
            }
            Ok(ExitCode::SUCCESS)
        }
        "replay" => {
            let name = args.next().ok_or(USAGE)?;
            let t = target(&name).ok_or_else(|| format!("no fuzz target called {name:?}"))?;
            let mut failed = false;
            for file in args {
                if file == "--perfhub" {
                    continue;
                }
                let bytes = std::fs::read(&file).map_err(|e| format!("cannot read {file}: {e}"))?;
                let (verdict, peak) = run_case(&t, &bytes);
                failed |= verdict.is_failure();
                let what = match &verdict {
                    Verdict::Accepted => "accepted".to_string(),
                    Verdict::Refused => "refused".to_string(),
                    Verdict::Failed(m) => format!("FAILED: {m}"),
                    Verdict::Panicked(m) => format!("PANICKED: {m}"),
                };
                println!("{file}: {what} ({} KiB peak)", peak >> 10);
            }
            Ok(if failed {
                ExitCode::FAILURE
            } else {
                ExitCode::SUCCESS
            })
        }
        "campaign" => {
            let mut options = Options {
                root: workspace_root(),
                per_group: Duration::from_secs(60),
                only: Vec::new(),
                jobs: 1,
                perfhub: None,
                case_timeout: Duration::from_secs(20),
                seed: 0x5eed,
                worker_exe: std::env::current_exe()
                    .map_err(|e| format!("cannot find this binary: {e}"))?,
            };
            while let Some(a) = args.next() {
                match a.as_str() {
                    "--minutes" => {
                        let m: f64 = value(&mut args, &a)?
                            .parse()
                            .map_err(|_| "--minutes takes a number, such as 10 or 0.5")?;
                        if !(m.is_finite() && m > 0.0 && m <= 7.0 * 24.0 * 60.0) {
                            return Err("--minutes must be above 0 and at most a week".into());
                        }
                        options.per_group = Duration::from_secs_f64(m * 60.0);
                    }
                    "--target" => options.only.push(value(&mut args, &a)?),
                    "--jobs" => {
                        options.jobs = value(&mut args, &a)?
                            .parse()
                            .ok()
                            .filter(|&j: &usize| (1..=64).contains(&j))
                            .ok_or("--jobs takes a number from 1 to 64")?;
                    }
                    "--perfhub" => {
                        let p = PathBuf::from(value(&mut args, &a)?);
                        perfhub_fuzz::set_perfhub_binary(p.clone());
                        options.perfhub = Some(p);
                    }
                    "--seed" => {
                        options.seed = value(&mut args, &a)?
                            .parse()
                            .map_err(|_| "--seed takes a whole number")?;
                    }
                    "--root" => options.root = PathBuf::from(value(&mut args, &a)?),
                    other => return Err(format!("unknown option {other:?}\n{USAGE}")),
                }
            }
            let stats = campaign::run(&options)?;
            println!("{}", campaign::table(&stats));
            let crashes: u64 = stats.iter().map(|s| s.crashes).sum();
            for s in &stats {
                for f in &s.new_files {
                    println!("new crash input: {}", f.display());
                }
            }
            Ok(if crashes > 0 {
                ExitCode::FAILURE
            } else {
                ExitCode::SUCCESS
            })
        }
        other => Err(format!("unknown command {other:?}\n{USAGE}")),
    }
}
