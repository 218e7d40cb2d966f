//! The campaign driver: each group of targets runs for a fixed time in a
//! worker process of its own, fed by a supervisor that mutates inputs,
//! keeps those that reach new coverage, and writes every input that fails
//! (a panic, a broken property, too much memory, an abort or a hang) into
//! the target's corpus folder as `crash-<hash>`, once per distinct failure.
//!
//! The worker runs the cases; the supervisor only generates them and
//! watches. So an abort (a stack overflow, the allocator's hard cap) or a
//! hang costs the worker, which is started again, and never the record
//! of the input that did it.

use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufReader, BufWriter, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc::{Receiver, RecvTimeoutError, channel};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::mutate::{MAX_LEN, Rng};
use crate::{Target, Verdict, coverage, crash_name, read_corpus, run_case, targets};

/// What a campaign runs.
#[derive(Debug, Clone)]
pub struct Options {
    /// The workspace, whose `fixtures/fuzz/` holds the corpus.
    pub root: PathBuf,
    /// How long each group runs.
    pub per_group: Duration,
    /// Target or group names; empty for every target.
    pub only: Vec<String>,
    /// How many groups run at once.
    pub jobs: usize,
    /// The `perfhub` binary, for the plan target.
    pub perfhub: Option<PathBuf>,
    /// How long one case may take before it counts as a hang.
    pub case_timeout: Duration,
    /// The seed of the mutations.
    pub seed: u64,
    /// The binary whose `worker` command runs the cases (this one).
    pub worker_exe: PathBuf,
}

/// One target's figures at the end of a campaign.
#[derive(Debug, Clone, Default)]
pub struct TargetStats {
    /// The target.
    pub name: String,
    /// Its group.
    pub group: String,
    /// Cases run, the corpus replay included.
    pub cases: u64,
    /// Cases accepted.
    pub accepted: u64,
    /// Cases refused with an error.
    pub refused: u64,
    /// Cases that failed (panic, property, memory, abort, hang).
    pub crashes: u64,
    /// Distinct failures, by signature.
    pub signatures: BTreeSet<String>,
    /// New crash files written into the corpus.
    pub new_files: Vec<PathBuf>,
    /// Inputs kept for reaching new coverage.
    pub kept: usize,
    /// Time spent on it.
    pub time: Duration,
}

/// The group names, in order, with their targets' indexes.
fn groups(only: &[String]) -> Result<Vec<(String, Vec<usize>)>, String> {
    let all = targets();
    for name in only {
        if !all.iter().any(|t| t.name == name || t.group == name) {
            let names: Vec<&str> = all.iter().map(|t| t.name).collect();
            let groups: BTreeSet<&str> = all.iter().map(|t| t.group).collect();
            return Err(format!(
                "no fuzz target or group called {name:?} (targets: {}; groups: {})",
                names.join(", "),
                groups.into_iter().collect::<Vec<_>>().join(", ")
            ));
        }
    }
    let mut out: Vec<(String, Vec<usize>)> = Vec::new();
    for (i, t) in all.iter().enumerate() {
        if !only.is_empty() && !only.iter().any(|o| o == t.name || o == t.group) {
            continue;
        }
        match out.iter_mut().find(|(g, _)| g == t.group) {
            Some((_, v)) => v.push(i),
            None => out.push((t.group.to_string(), vec![i])),
        }
    }
    Ok(out)
}

/// Runs the campaign; the figures of every target run.
pub fn run(options: &Options) -> Result<Vec<TargetStats>, String> {
    let groups = groups(&options.only)?;
    let queue = Arc::new(Mutex::new(groups));
    let results = Arc::new(Mutex::new(Vec::new()));
    let mut threads = Vec::new();
    for job in 0..options.jobs.max(1) {
        let queue = Arc::clone(&queue);
        let results = Arc::clone(&results);
        let options = options.clone();
        threads.push(std::thread::spawn(move || -> Result<(), String> {
            loop {
                let next = queue.lock().map_err(|e| e.to_string())?.pop();
                let Some((group, indexes)) = next else {
                    return Ok(());
                };
                let seed = options.seed ^ crate::hash(group.as_bytes()) ^ job as u64;
                let stats = run_group(&options, &group, &indexes, seed)?;
                results.lock().map_err(|e| e.to_string())?.extend(stats);
            }
        }));
    }
    for t in threads {
        t.join()
            .map_err(|_| "a campaign thread panicked".to_string())??;
    }
    let mut stats = std::mem::take(&mut *results.lock().map_err(|e| e.to_string())?);
    let order: Vec<&str> = targets().iter().map(|t| t.name).collect();
    stats.sort_by_key(|s| order.iter().position(|n| *n == s.name));
    Ok(stats)
}

/// A worker process and the channel of its replies.
struct Worker {
    child: Child,
    stdin: BufWriter<ChildStdin>,
    replies: Receiver<Option<Reply>>,
    stderr: PathBuf,
}

/// A worker's answer to one case.
struct Reply {
    verdict: Verdict,
    new_edges: u32,
}

impl Worker {
    fn start(options: &Options, stderr: &Path) -> Result<Worker, String> {
        let err = std::fs::File::create(stderr).map_err(|e| e.to_string())?;
        let mut cmd = Command::new(&options.worker_exe);
        cmd.arg("worker")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(err);
        if let Some(p) = &options.perfhub {
            cmd.arg("--perfhub").arg(p);
        }
        let mut child = cmd
            .spawn()
            .map_err(|e| format!("cannot start a worker: {e}"))?;
        let stdin = BufWriter::new(child.stdin.take().ok_or("worker without stdin")?);
        let stdout = child.stdout.take().ok_or("worker without stdout")?;
        let (tx, rx) = channel();
        std::thread::spawn(move || {
            let mut r = BufReader::new(stdout);
            loop {
                let reply = read_reply(&mut r);
                let end = reply.is_none();
                if tx.send(reply).is_err() || end {
                    return;
                }
            }
        });
        Ok(Worker {
            child,
            stdin,
            replies: rx,
            stderr: stderr.to_path_buf(),
        })
    }

    fn stop(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// The last line the dead worker wrote, digits kept.
    fn last_words(&mut self) -> String {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let text = std::fs::read_to_string(&self.stderr).unwrap_or_default();
        let lines: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
        // Our allocator's message spans two lines, the input last.
        let line = lines
            .iter()
            .rev()
            .find(|l| !l.starts_with("input ("))
            .copied()
            .unwrap_or("no message");
        line.chars().take(300).collect()
    }
}

fn read_u32(r: &mut impl Read) -> Option<u32> {
    let mut b = [0; 4];
    r.read_exact(&mut b).ok()?;
    Some(u32::from_le_bytes(b))
}

fn read_reply(r: &mut impl Read) -> Option<Reply> {
    let mut kind = [0u8; 1];
    r.read_exact(&mut kind).ok()?;
    let new_edges = read_u32(r)?;
    let len = read_u32(r)? as usize;
    let mut msg = vec![0; len];
    r.read_exact(&mut msg).ok()?;
    let msg = String::from_utf8_lossy(&msg).into_owned();
    let verdict = match kind[0] {
        0 => Verdict::Accepted,
        1 => Verdict::Refused,
        2 => Verdict::Failed(msg),
        _ => Verdict::Panicked(msg),
    };
    Some(Reply { verdict, new_edges })
}

/// The worker's side: cases in on standard input, verdicts out on
/// standard output, until standard input ends.
pub fn worker() -> Result<(), String> {
    let all = targets();
    let stdin = std::io::stdin();
    let mut input = BufReader::new(stdin.lock());
    let stdout = std::io::stdout();
    let mut out = BufWriter::new(stdout.lock());
    let mut seen = coverage::Seen::default();
    loop {
        let Some(index) = read_u32(&mut input) else {
            return Ok(());
        };
        let len = read_u32(&mut input).ok_or("truncated case")? as usize;
        let mut case = vec![0; len];
        input
            .read_exact(&mut case)
            .map_err(|e| format!("truncated case: {e}"))?;
        let target = all.get(index as usize).ok_or("no such target")?;
        coverage::reset();
        let (verdict, _peak) = run_case(target, &case);
        let new_edges = seen.update();
        let (kind, msg) = match &verdict {
            Verdict::Accepted => (0u8, ""),
            Verdict::Refused => (1, ""),
            Verdict::Failed(m) => (2, m.as_str()),
            Verdict::Panicked(m) => (3, m.as_str()),
        };
        let write = |out: &mut BufWriter<_>| -> std::io::Result<()> {
            out.write_all(&[kind])?;
            out.write_all(&new_edges.to_le_bytes())?;
            out.write_all(&(msg.len() as u32).to_le_bytes())?;
            out.write_all(msg.as_bytes())?;
            out.flush()
        };
        write(&mut out).map_err(|e| format!("cannot answer: {e}"))?;
    }
}

/// What a failure is, without the numbers that change from input to input:
/// one crash file per signature.
fn signature(verdict: &Verdict) -> String {
    let raw = match verdict {
        Verdict::Panicked(m) => {
            // "panicked at file:line:col: message": the place is the bug.
            m.split(": ").next().unwrap_or(m).to_string()
        }
        Verdict::Failed(m) => m.clone(),
        _ => String::new(),
    };
    let mut s: String = raw
        .chars()
        .map(|c| if c.is_ascii_digit() { '#' } else { c })
        .collect();
    // A number reads the same whatever its digits, and so does a decimal.
    while s.contains("##") || s.contains("#.#") {
        s = s.replace("##", "#").replace("#.#", "#");
    }
    s.chars().take(100).collect()
}

struct GroupTarget<'a> {
    index: usize,
    target: &'a Target,
    corpus: Vec<Vec<u8>>,
    stats: TargetStats,
}

fn run_group(
    options: &Options,
    group: &str,
    indexes: &[usize],
    seed: u64,
) -> Result<Vec<TargetStats>, String> {
    let all = targets();
    let scratch = tempfile::tempdir().map_err(|e| e.to_string())?;
    let stderr = scratch.path().join("worker-stderr");
    let mut worker = Worker::start(options, &stderr)?;
    let mut rng = Rng::new(seed);
    let mut gts: Vec<GroupTarget<'_>> = indexes
        .iter()
        .map(|&i| GroupTarget {
            index: i,
            target: &all[i],
            corpus: Vec::new(),
            stats: TargetStats {
                name: all[i].name.to_string(),
                group: group.to_string(),
                ..TargetStats::default()
            },
        })
        .collect();
    let per_target = options.per_group.as_secs_f64() / gts.len() as f64;
    eprintln!(
        "fuzz {group}: {} for {:.0} s (about {:.0} s each), {}",
        gts.iter()
            .map(|g| g.target.name)
            .collect::<Vec<_>>()
            .join(", "),
        options.per_group.as_secs_f64(),
        per_target,
        if coverage::available() {
            "guided by coverage"
        } else {
            "unguided: this build has no coverage counters (cargo xtask fuzz builds with them)"
        }
    );
    // The replay: the corpus and the seeds first, every one.
    let mut pending: Vec<(usize, Vec<u8>, bool)> = Vec::new();
    for (k, gt) in gts.iter().enumerate() {
        for (_, bytes) in read_corpus(&crate::corpus_dir(&options.root, gt.target.name)) {
            pending.push((k, bytes, true));
        }
        for bytes in (gt.target.seeds)(&options.root) {
            pending.push((k, bytes, false));
        }
    }
    pending.reverse();
    let started = Instant::now();
    let deadline = started + options.per_group;
    while Instant::now() < deadline || !pending.is_empty() {
        let (k, input, from_corpus) = match pending.pop() {
            Some(p) => p,
            None => {
                // The target that has had the least time goes next.
                let k = (0..gts.len())
                    .min_by(|&a, &b| gts[a].stats.time.cmp(&gts[b].stats.time))
                    .unwrap_or(0);
                let gt = &gts[k];
                let input = if gt.corpus.is_empty() || rng.chance(0.05) {
                    (gt.target.generate)(&mut rng)
                } else {
                    let a = rng.below(gt.corpus.len());
                    let b = rng.below(gt.corpus.len());
                    let mut v = (gt.target.mutate)(&gt.corpus[a], &gt.corpus[b], &mut rng);
                    v.truncate(MAX_LEN);
                    v
                };
                (k, input, false)
            }
        };
        let gt = &mut gts[k];
        let t0 = Instant::now();
        let sent = send(&mut worker, gt.index, &input);
        let reply = if sent.is_ok() {
            match worker.replies.recv_timeout(options.case_timeout) {
                Ok(Some(r)) => Ok(r),
                Ok(None) | Err(RecvTimeoutError::Disconnected) => Err(false),
                Err(RecvTimeoutError::Timeout) => Err(true),
            }
        } else {
            Err(false)
        };
        gt.stats.cases += 1;
        let verdict = match reply {
            Ok(r) => {
                if r.new_edges > 0 && !input.is_empty() {
                    gt.corpus.push(input.clone());
                    gt.stats.kept += 1;
                } else if gt.corpus.len() < 16 && !from_corpus && gt.stats.cases < 64 {
                    // Unguided builds keep the seeds to mutate.
                    gt.corpus.push(input.clone());
                }
                r.verdict
            }
            Err(hang) => {
                let why = if hang {
                    format!(
                        "hang: no answer within {} s",
                        options.case_timeout.as_secs()
                    )
                } else {
                    format!("the worker died: {}", worker.last_words())
                };
                worker.stop();
                worker = Worker::start(options, &stderr)?;
                Verdict::Failed(why)
            }
        };
        gt.stats.time += t0.elapsed();
        match &verdict {
            Verdict::Accepted => gt.stats.accepted += 1,
            Verdict::Refused => gt.stats.refused += 1,
            Verdict::Failed(m) | Verdict::Panicked(m) => {
                gt.stats.crashes += 1;
                let sig = signature(&verdict);
                if gt.stats.signatures.insert(sig) {
                    let dir = crate::corpus_dir(&options.root, gt.target.name);
                    let file = dir.join(crash_name(&input));
                    if !from_corpus && !file.exists() {
                        std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
                        std::fs::write(&file, &input)
                            .map_err(|e| format!("cannot write {}: {e}", file.display()))?;
                        gt.stats.new_files.push(file.clone());
                    }
                    eprintln!(
                        "fuzz {group}: {}: {} {}: {}",
                        gt.target.name,
                        if from_corpus {
                            "corpus input still fails"
                        } else {
                            "new crash"
                        },
                        file.display(),
                        m.lines().next().unwrap_or_default()
                    );
                }
            }
        }
    }
    worker.stop();
    Ok(gts.into_iter().map(|g| g.stats).collect())
}

fn send(worker: &mut Worker, index: usize, input: &[u8]) -> std::io::Result<()> {
    worker.stdin.write_all(&(index as u32).to_le_bytes())?;
    worker
        .stdin
        .write_all(&(input.len() as u32).to_le_bytes())?;
    worker.stdin.write_all(input)?;
    worker.stdin.flush()
}

/// The closing table: per target, cases, outcomes and crashes.
pub fn table(stats: &[TargetStats]) -> String {
    let mut out = String::new();
    out.push_str(&format!(
        "{:<16} {:<7} {:>10} {:>10} {:>10} {:>8} {:>9} {:>6} {:>7}\n",
        "target", "group", "cases", "accepted", "refused", "crashes", "distinct", "kept", "time s"
    ));
    for s in stats {
        out.push_str(&format!(
            "{:<16} {:<7} {:>10} {:>10} {:>10} {:>8} {:>9} {:>6} {:>7.0}\n",
            s.name,
            s.group,
            s.cases,
            s.accepted,
            s.refused,
            s.crashes,
            s.signatures.len(),
            s.kept,
            s.time.as_secs_f64()
        ));
    }
    let by_group: BTreeMap<&str, u64> = stats.iter().fold(BTreeMap::new(), |mut m, s| {
        *m.entry(s.group.as_str()).or_default() += s.crashes;
        m
    });
    let crashed: Vec<String> = by_group
        .iter()
        .filter(|(_, c)| **c > 0)
        .map(|(g, c)| format!("{g} {c}"))
        .collect();
    if crashed.is_empty() {
        out.push_str("no crashes\n");
    } else {
        out.push_str(&format!(
            "crashing cases by group: {}\n",
            crashed.join(", ")
        ));
    }
    out
}
