//! The fuzz targets in the normal suite: each replays its corpus of past
//! crashes (`fixtures/fuzz/<target>/`) and its seeds, then runs a bounded
//! number of generated and mutated cases, the same ones every run
//! (`PERFHUB_FUZZ_SEED` picks others, `PERFHUB_FUZZ_CASES` more or fewer).
//! Every case must be accepted with sane output or refused with an error:
//! never a panic, never more than the memory cap.

use std::process::Command;

use perfhub_tests::perfhub_bin;

use perfhub_fuzz::{
    Outcome, Rng, Target, Verdict, corpus_dir, crash_name, escaped, read_corpus, run_case,
    workspace_root,
};

fn cases(target: &Target) -> u32 {
    std::env::var("PERFHUB_FUZZ_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(target.suite_cases)
}

fn seed(target: &Target) -> u64 {
    let base = std::env::var("PERFHUB_FUZZ_SEED")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    base ^ perfhub_fuzz::hash(target.name.as_bytes())
}

/// A failing input, saved where the message says so it can be kept.
fn failure(target: &Target, origin: &str, input: &[u8], verdict: &Verdict) -> String {
    let saved = std::env::temp_dir().join(format!(
        "perfhub-fuzz-{}-{}",
        target.name,
        crash_name(input)
    ));
    let _ = std::fs::write(&saved, input);
    format!(
        "{} ({origin}): {}\n  input: b\"{}\"\n  saved to {}; to keep it, copy it into fixtures/fuzz/{}/ and fix the parser",
        target.name,
        verdict.message().unwrap_or_default(),
        escaped(input, 600),
        saved.display(),
        target.name
    )
}

fn fuzz(name: &str) {
    let target = perfhub_fuzz::target(name).expect("a fuzz target of that name");
    if name == "plan" {
        perfhub_fuzz::set_perfhub_binary(perfhub_bin().to_path_buf());
    }
    let root = workspace_root();
    let mut failures = Vec::new();
    let mut pool: Vec<Vec<u8>> = Vec::new();
    // Past crashes first: each must now pass.
    for (path, input) in read_corpus(&corpus_dir(&root, name)) {
        let (verdict, _) = run_case(&target, &input);
        if verdict.is_failure() {
            failures.push(failure(
                &target,
                &path.display().to_string(),
                &input,
                &verdict,
            ));
        }
        pool.push(input);
    }
    for input in (target.seeds)(&root) {
        let (verdict, _) = run_case(&target, &input);
        if verdict.is_failure() {
            failures.push(failure(&target, "seed", &input, &verdict));
        }
        pool.push(input);
    }
    assert!(!pool.is_empty(), "{name}: no seeds and no corpus");
    let mut rng = Rng::new(seed(&target));
    let (mut accepted, mut refused) = (0u32, 0u32);
    for case in 0..cases(&target) {
        let input = if rng.chance(0.2) {
            (target.generate)(&mut rng)
        } else {
            let a = rng.below(pool.len());
            let b = rng.below(pool.len());
            (target.mutate)(&pool[a], &pool[b], &mut rng)
        };
        let (verdict, _) = run_case(&target, &input);
        match &verdict {
            Verdict::Accepted => accepted += 1,
            Verdict::Refused => refused += 1,
            _ => failures.push(failure(&target, &format!("case {case}"), &input, &verdict)),
        }
        if failures.len() >= 5 {
            break;
        }
    }
    assert!(
        failures.is_empty(),
        "{} failing inputs:\n{}",
        failures.len(),
        failures.join("\n")
    );
    // A fuzz test that never reaches the parser's accepting path, or never
    // its refusals, tests less than it seems.
    assert!(accepted > 0, "{name}: no generated case was accepted");
    assert!(refused > 0, "{name}: no generated case was refused");
}

#[test]
fn folded() {
    fuzz("folded");
}

#[test]
fn pprof() {
    fuzz("pprof");
}

#[test]
fn criterion() {
    fuzz("criterion");
}

#[test]
fn cargo_criterion() {
    fuzz("cargo-criterion");
}

#[test]
fn libtest() {
    fuzz("libtest");
}

#[test]
fn hyperfine() {
    fuzz("hyperfine");
}

#[test]
fn goose() {
    fuzz("goose");
}

#[test]
fn k6() {
    fuzz("k6");
}

#[test]
fn report() {
    fuzz("report");
}

#[test]
fn histogram() {
    fuzz("histogram");
}

#[test]
fn interval_log() {
    fuzz("interval-log");
}

#[test]
fn budget() {
    fuzz("budget");
}

#[test]
fn duration() {
    fuzz("duration");
}

#[test]
fn scenario() {
    fuzz("scenario");
}

#[test]
fn params() {
    fuzz("params");
}

#[test]
fn plan() {
    fuzz("plan");
}

#[test]
fn every_target_has_a_test_here() {
    let source = include_str!("fuzz.rs");
    for t in perfhub_fuzz::targets() {
        let call = format!("fuzz(\"{}\");", t.name);
        assert!(source.contains(&call), "no test calls {call}");
    }
}

/// The bombs run in a process of their own: one that takes memory past the
/// hard cap aborts that process, not this test binary.
#[test]
fn bombs_are_refused_or_read_within_the_memory_cap() {
    let exe = env!("CARGO_BIN_EXE_perfhub-fuzz");
    let mut failures = Vec::new();
    let mut ran = 0;
    for t in perfhub_fuzz::targets() {
        if (t.bombs)().is_empty() {
            continue;
        }
        let mut cmd = Command::new(exe);
        cmd.args(["bombs", t.name]);
        if t.name == "plan" {
            cmd.env("PERFHUB_FUZZ_BIN", perfhub_bin());
        }
        let out = cmd.output().expect("perfhub-fuzz starts");
        let stdout = String::from_utf8_lossy(&out.stdout);
        ran += stdout.lines().count();
        if !out.status.success() {
            failures.push(format!(
                "{}: {}\n{stdout}{}",
                t.name,
                out.status,
                String::from_utf8_lossy(&out.stderr)
            ));
        }
    }
    assert!(ran > 0, "no bomb ran");
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn the_gzip_bombs_inflate_to_what_they_claim() {
    let bomb = perfhub_fuzz::gzip_with_zeros(b"head", 64 << 20);
    assert!(bomb.len() < 128 << 10, "{} bytes", bomb.len());
    let mut d = flate2::read::GzDecoder::new(&bomb[..]);
    let mut head = [0u8; 4];
    std::io::Read::read_exact(&mut d, &mut head).unwrap();
    assert_eq!(&head, b"head");
    // The CRC and length in the trailer are checked at the end.
    let n = std::io::copy(&mut d, &mut std::io::sink()).unwrap();
    assert_eq!(n, 64 << 20);
}

fn allocates_too_much(_: &[u8]) -> Result<Outcome, String> {
    let v = vec![1u8; perfhub_fuzz::alloc::SOFT_CAP + (16 << 20)];
    Ok(Outcome::Refused(format!("held {} bytes", v.len())))
}

fn panics(input: &[u8]) -> Result<Outcome, String> {
    let n: u8 = 250;
    Ok(Outcome::Refused(format!("{}", n + input.len() as u8)))
}

fn harness_target(check: fn(&[u8]) -> Result<Outcome, String>) -> Target {
    Target {
        name: "harness",
        group: "harness",
        check,
        seeds: |_| Vec::new(),
        mutate: |i, _, _| i.to_vec(),
        generate: |_| Vec::new(),
        bombs: Vec::new,
        suite_cases: 0,
    }
}

#[test]
fn the_harness_fails_a_case_over_the_memory_cap() {
    let (verdict, peak) = run_case(&harness_target(allocates_too_much), b"");
    assert!(peak > perfhub_fuzz::alloc::SOFT_CAP, "peak {peak}");
    match verdict {
        Verdict::Failed(m) => assert!(m.contains("live at once, above the cap"), "{m}"),
        other => panic!("expected a failure, got {other:?}"),
    }
}

#[test]
fn the_harness_catches_a_panic_with_its_place() {
    let (verdict, _) = run_case(&harness_target(panics), b"0123456789");
    match verdict {
        Verdict::Panicked(m) => {
            assert!(m.starts_with("panicked at fuzz/tests/fuzz.rs:"), "{m}");
            assert!(m.contains("overflow"), "{m}");
        }
        other => panic!("expected a panic, got {other:?}"),
    }
    // The next case on the thread starts clean.
    let (verdict, _) = run_case(&harness_target(panics), b"");
    assert_eq!(verdict, Verdict::Refused);
}

#[test]
fn a_short_campaign_counts_its_cases_and_writes_no_crash_for_a_clean_target() {
    let root = tempfile::tempdir().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_perfhub-fuzz"))
        .args([
            "campaign",
            "--minutes",
            "0.02",
            "--target",
            "duration",
            "--root",
        ])
        .arg(root.path())
        .output()
        .expect("perfhub-fuzz starts");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let row = stdout
        .lines()
        .find(|l| l.starts_with("duration "))
        .unwrap_or_else(|| panic!("no row for duration in {stdout}"));
    let cases: u64 = row.split_whitespace().nth(2).unwrap().parse().unwrap();
    assert!(cases > 0, "{row}");
    assert!(stdout.contains("no crashes"), "{stdout}");
    assert!(!root.path().join("fixtures/fuzz/duration").exists());
}

#[test]
fn the_campaign_refuses_an_unknown_target_naming_the_known_ones() {
    let out = Command::new(env!("CARGO_BIN_EXE_perfhub-fuzz"))
        .args(["campaign", "--minutes", "1", "--target", "nope"])
        .output()
        .expect("perfhub-fuzz starts");
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("no fuzz target or group called \"nope\""),
        "{stderr}"
    );
    assert!(
        stderr.contains("pprof") && stderr.contains("flame"),
        "{stderr}"
    );
}
