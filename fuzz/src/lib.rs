//! Fuzz targets for every parser and decoder perfhub reads untrusted input
//! with, and what runs them.
//!
//! A [`Target`] is one parser with its property: every input is either
//! accepted with sane output (finite, non-negative numbers where numbers
//! cannot be negative, a round trip through the writer where there is one)
//! or refused with an error; a panic, an output that breaks the property or
//! more than [`alloc::SOFT_CAP`] live at once is a failure. Each target
//! brings its seeds (fixtures and hand-written examples), a structure-aware
//! mutation, a generator of inputs from nothing and the bombs it must
//! survive (large inputs, made in code rather than committed).
//!
//! - `tests/fuzz.rs` runs a bounded number of cases of every target in the
//!   normal suite and replays the corpus of past crashes kept in
//!   `fixtures/fuzz/<target>/`.
//! - The `perfhub-fuzz` binary ([`campaign`]) runs longer campaigns, guided
//!   by coverage when built with SanitizerCoverage's counters (as
//!   `cargo xtask fuzz` builds it), and writes new crashing inputs into
//!   the corpus.

pub mod alloc;
pub mod campaign;
pub mod coverage;
pub mod mutate;
mod targets;

use std::cell::RefCell;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};
use std::sync::Once;

pub use mutate::Rng;
pub use targets::{gzip_with_zeros, set_perfhub_binary};

/// What a parser made of an input that did not fail.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Accepted, and the output has the target's property.
    Accepted,
    /// Refused with this error message.
    Refused(String),
}

/// What one case came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Accepted with sane output.
    Accepted,
    /// Refused with an error.
    Refused,
    /// Accepted with output that breaks the property, or refused without
    /// a message, or more memory than [`alloc::SOFT_CAP`]: what is wrong.
    Failed(String),
    /// The parser panicked: the message and where.
    Panicked(String),
}

impl Verdict {
    /// Whether the case found a bug.
    pub fn is_failure(&self) -> bool {
        matches!(self, Verdict::Failed(_) | Verdict::Panicked(_))
    }

    /// The failure's message, if it is one.
    pub fn message(&self) -> Option<&str> {
        match self {
            Verdict::Failed(m) | Verdict::Panicked(m) => Some(m),
            _ => None,
        }
    }
}

/// One fuzz target: a parser or decoder and its property.
pub struct Target {
    /// The target's name, also its corpus folder `fixtures/fuzz/<name>/`.
    pub name: &'static str,
    /// The group a campaign runs it in (the crate or file it fuzzes).
    pub group: &'static str,
    /// Runs the parser on an input and checks its output; `Err` says how
    /// an accepted output breaks the property.
    pub check: fn(&[u8]) -> Result<Outcome, String>,
    /// Valid and near-valid inputs to start from; `root` is the workspace.
    pub seeds: fn(root: &Path) -> Vec<Vec<u8>>,
    /// A structure-aware change to an input (falls back to bytes).
    pub mutate: fn(input: &[u8], other: &[u8], rng: &mut Rng) -> Vec<u8>,
    /// An input made from nothing by the format's grammar.
    pub generate: fn(rng: &mut Rng) -> Vec<u8>,
    /// Large or deep inputs the parser must survive, made in code.
    pub bombs: fn() -> Vec<(&'static str, Vec<u8>)>,
    /// How many generated cases the normal suite runs.
    pub suite_cases: u32,
}

/// Every target.
pub fn targets() -> Vec<Target> {
    targets::all()
}

/// The target called `name`.
pub fn target(name: &str) -> Option<Target> {
    targets().into_iter().find(|t| t.name == name)
}

thread_local! {
    /// The last panic's message on this thread, while a case runs.
    static PANIC: RefCell<Option<String>> = const { RefCell::new(None) };
    static CAPTURING: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Installs, once, a panic hook that keeps the message of a panic inside a
/// case (instead of printing it) and leaves every other panic to the
/// default hook.
fn install_panic_hook() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let default = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if CAPTURING.with(|c| c.get()) {
                let message = info
                    .payload()
                    .downcast_ref::<&str>()
                    .map(|s| s.to_string())
                    .or_else(|| info.payload().downcast_ref::<String>().cloned())
                    .unwrap_or_else(|| "a panic without a message".into());
                let place = info
                    .location()
                    .map(|l| format!("{}:{}:{}", l.file(), l.line(), l.column()))
                    .unwrap_or_default();
                PANIC.with(|p| *p.borrow_mut() = Some(format!("panicked at {place}: {message}")));
            } else {
                default(info);
            }
        }));
    });
}

/// Runs one case: the verdict and the most bytes it had live at once.
pub fn run_case(target: &Target, input: &[u8]) -> (Verdict, usize) {
    install_panic_hook();
    CAPTURING.with(|c| c.set(true));
    PANIC.with(|p| p.borrow_mut().take());
    let (result, peak) = alloc::watch(target.name, input, || {
        catch_unwind(AssertUnwindSafe(|| (target.check)(input)))
    });
    CAPTURING.with(|c| c.set(false));
    let verdict = match result {
        Err(_) => Verdict::Panicked(
            PANIC
                .with(|p| p.borrow_mut().take())
                .unwrap_or_else(|| "panicked".into()),
        ),
        Ok(Err(problem)) => Verdict::Failed(problem),
        Ok(Ok(Outcome::Refused(message))) if message.trim().is_empty() => {
            Verdict::Failed("refused with an empty error message".into())
        }
        Ok(Ok(_)) if peak > alloc::SOFT_CAP => Verdict::Failed(format!(
            "{} MiB live at once, above the cap of {} MiB",
            peak >> 20,
            alloc::SOFT_CAP >> 20
        )),
        Ok(Ok(Outcome::Accepted)) => Verdict::Accepted,
        Ok(Ok(Outcome::Refused(_))) => Verdict::Refused,
    };
    (verdict, peak)
}

/// The corpus folder of `target` under the workspace `root`.
pub fn corpus_dir(root: &Path, target: &str) -> PathBuf {
    root.join("fixtures").join("fuzz").join(target)
}

/// The inputs kept in `dir` (every file but README*), by name.
pub fn read_corpus(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut out: Vec<(PathBuf, Vec<u8>)> = entries
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.is_file())
        .filter(|p| {
            !p.file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with("README"))
        })
        .filter_map(|p| std::fs::read(&p).ok().map(|b| (p, b)))
        .collect();
    out.sort();
    out
}

/// FNV-1a, 64 bits: names a crashing input by its content.
pub fn hash(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

/// The corpus file name of a crashing input.
pub fn crash_name(input: &[u8]) -> String {
    format!("crash-{:016x}", hash(input))
}

/// An input as Rust byte-string text, shortened past `max` bytes.
pub fn escaped(input: &[u8], max: usize) -> String {
    let mut s: String = input[..input.len().min(max)]
        .iter()
        .flat_map(|&b| std::ascii::escape_default(b))
        .map(char::from)
        .collect();
    if input.len() > max {
        s.push_str(&format!("... ({} bytes in all)", input.len()));
    }
    s
}

/// The workspace root, for tests and binaries built inside it.
///
/// The run time's `CARGO_MANIFEST_DIR` comes first: a build made in a clone
/// at another path and kept in a shared target directory holds that path.
pub fn workspace_root() -> PathBuf {
    std::env::var_os("CARGO_MANIFEST_DIR")
        .map_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")), PathBuf::from)
        .parent()
        .expect("fuzz/ sits in the workspace")
        .to_path_buf()
}
