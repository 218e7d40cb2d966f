//! CPU sampling of this process with perf_event_open.
//!
//! One software `cpu-clock` event is opened per thread that exists when the
//! sampler starts, each with `inherit`, so threads those threads create later
//! are sampled too; the kernel walks the frame-pointer call chain of every
//! sample and writes it into a ring buffer (inherited events write into
//! their parent's buffer). A background thread drains the buffers. No code
//! runs in a signal handler, which is what makes this safe where
//! SIGPROF-based profilers deadlock (an unwinder that takes a lock or
//! allocates, interrupted inside malloc).
//!
//! Where perf_event_open is refused (a container's default seccomp profile,
//! `kernel.perf_event_paranoid` too high), the sampler falls back to SIGPROF
//! with frame-pointer unwinding in the handler, through the `pprof` crate,
//! and the profile says which mechanism it used and why.
//!
//! Call chains are only as good as the frame pointers: build with
//! `-C force-frame-pointers=yes` (and ideally a standard library built the
//! same way) for full stacks. Without them the leaf function is still exact,
//! but its callers may be missing or wrong.

use std::collections::HashMap;
use std::io;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use perf_event::events::Software;
use perf_event::{Builder, SampleFlag, Sampler};
use perfhub_flame::{StackProfile, WeightUnit};

/// How to sample.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CpuProfileConfig {
    /// Samples per second of CPU time, per thread (99 Hz by default, to stay
    /// out of lock-step with periodic work; up to a few kHz).
    pub frequency_hz: u64,
    /// Which sampling mechanism to use.
    pub mechanism: Mechanism,
}

impl Default for CpuProfileConfig {
    fn default() -> Self {
        CpuProfileConfig {
            frequency_hz: 99,
            mechanism: Mechanism::Auto,
        }
    }
}

impl CpuProfileConfig {
    /// The default configuration at `frequency_hz`.
    pub fn at(frequency_hz: u64) -> Self {
        CpuProfileConfig {
            frequency_hz,
            ..CpuProfileConfig::default()
        }
    }
}

/// How CPU samples are taken.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Mechanism {
    /// perf_event_open where the kernel allows it, else SIGPROF.
    #[default]
    Auto,
    /// perf_event_open only; an error where it is refused.
    PerfEvent,
    /// SIGPROF with frame-pointer unwinding in the signal handler.
    Signal,
}

/// The most samples per second perfhub asks for; the kernel may cap lower
/// (`kernel.perf_event_max_sample_rate`).
pub const MAX_FREQUENCY_HZ: u64 = 10_000;

/// Why CPU sampling could not start.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CpuProfileError {
    /// A frequency of 0 or above [`MAX_FREQUENCY_HZ`].
    #[error("sampling frequency {0} Hz is out of range (1 to {MAX_FREQUENCY_HZ} Hz)")]
    Frequency(u64),
    /// The kernel refused perf_event_open.
    #[error("perf_event_open refused CPU sampling: {0}")]
    Refused(String),
    /// The signal-based sampler could not start.
    #[error("cannot start SIGPROF sampling: {0}")]
    Signal(String),
    /// Listing this process's threads or setting up the buffers failed.
    #[error("cannot set up CPU sampling: {0}")]
    Io(#[from] io::Error),
}

/// Raw samples: call chains of instruction addresses, leaf first.
#[derive(Debug, Default)]
struct RawSamples {
    chains: HashMap<Vec<u64>, u64>,
    samples: u64,
    lost: u64,
}

/// A running CPU sampler; [`CpuSampler::finish`] stops it.
pub struct CpuSampler {
    backend: Backend,
    config: CpuProfileConfig,
    started: Instant,
    /// How long it sampled, once [`CpuSampler::stop`] stopped it.
    stopped: Option<Duration>,
}

enum Backend {
    Perf {
        stop: Arc<AtomicBool>,
        drain: Option<JoinHandle<RawSamples>>,
        /// What the drain thread collected, once it was stopped.
        taken: Option<RawSamples>,
    },
    Signal {
        guard: Box<pprof::ProfilerGuard<'static>>,
        why: String,
    },
}

/// The result of CPU sampling.
#[derive(Debug, Clone)]
pub struct CpuProfile {
    /// Samples by call stack (root first), symbolized.
    pub stacks: StackProfile,
    /// Samples taken.
    pub samples: u64,
    /// Samples the kernel dropped because the buffer was full.
    pub lost: u64,
    /// Wall time the sampler ran.
    pub duration: Duration,
    /// The sampling frequency asked for.
    pub frequency_hz: u64,
    /// How the samples were taken, for the report.
    pub mechanism: String,
}

/// The user-space addresses of a kernel call chain (leaf first), without
/// the `PERF_CONTEXT_*` markers (which lie at the top of the address
/// space); `None` when nothing is left.
pub(crate) fn user_chain(chain: &[u64]) -> Option<Vec<u64>> {
    let chain: Vec<u64> = chain
        .iter()
        .copied()
        // Not the markers (`PERF_CONTEXT_*`), nor any other kernel-half
        // address: among user frames, a bogus return address off the stack.
        .filter(|&a| !crate::process::is_kernel_address(a))
        .collect();
    (!chain.is_empty()).then_some(chain)
}

fn thread_ids() -> io::Result<Vec<i32>> {
    let mut tids = Vec::new();
    for entry in std::fs::read_dir("/proc/self/task")? {
        if let Some(tid) = entry?.file_name().to_str().and_then(|s| s.parse().ok()) {
            tids.push(tid);
        }
    }
    Ok(tids)
}

/// The online CPUs, from `/sys/devices/system/cpu/online` (such as `0-3,6`).
pub(crate) fn online_cpus() -> io::Result<Vec<usize>> {
    let text = std::fs::read_to_string("/sys/devices/system/cpu/online")?;
    let mut cpus = Vec::new();
    for part in text.trim().split(',').filter(|p| !p.is_empty()) {
        let bad = || {
            io::Error::new(
                io::ErrorKind::InvalidData,
                format!("unexpected CPU list {text:?}"),
            )
        };
        match part.split_once('-') {
            Some((a, b)) => {
                let (a, b): (usize, usize) =
                    (a.parse().map_err(|_| bad())?, b.parse().map_err(|_| bad())?);
                cpus.extend(a..=b);
            }
            None => cpus.push(part.parse().map_err(|_| bad())?),
        }
    }
    Ok(cpus)
}

fn open_sampler(tid: i32, cpu: usize, frequency_hz: u64) -> io::Result<Sampler> {
    let mut b = Builder::new(Software::CPU_CLOCK);
    // The kernel maps the buffer of an inherited task event only when the
    // event is bound to one CPU: one event per thread and CPU.
    b.observe_pid(tid)
        .one_cpu(cpu)
        .inherit(true)
        .sample_frequency(frequency_hz)
        .sample(SampleFlag::TID | SampleFlag::CALLCHAIN)
        .exclude_callchain_kernel(true)
        .wakeup_events(1);
    // 16 pages per thread and CPU hold hundreds of samples between drains.
    let mut s = b.build()?.sampled(16 * 4096)?;
    s.enable()?;
    Ok(s)
}

impl CpuSampler {
    /// Starts sampling every thread of this process.
    pub fn start(config: CpuProfileConfig) -> Result<CpuSampler, CpuProfileError> {
        if config.frequency_hz == 0 || config.frequency_hz > MAX_FREQUENCY_HZ {
            return Err(CpuProfileError::Frequency(config.frequency_hz));
        }
        let backend = match config.mechanism {
            Mechanism::PerfEvent => Self::start_perf(config)?,
            Mechanism::Signal => Self::start_signal(config, "asked for".to_string())?,
            Mechanism::Auto => match Self::start_perf(config) {
                Ok(b) => b,
                Err(CpuProfileError::Refused(why)) => {
                    Self::start_signal(config, format!("perf_event_open was refused: {why}"))?
                }
                Err(e) => return Err(e),
            },
        };
        Ok(CpuSampler {
            backend,
            config,
            started: Instant::now(),
            stopped: None,
        })
    }

    fn start_signal(config: CpuProfileConfig, why: String) -> Result<Backend, CpuProfileError> {
        let guard = pprof::ProfilerGuardBuilder::default()
            .frequency(config.frequency_hz as i32)
            .build()
            .map_err(|e| CpuProfileError::Signal(e.to_string()))?;
        Ok(Backend::Signal {
            guard: Box::new(guard),
            why,
        })
    }

    fn start_perf(config: CpuProfileConfig) -> Result<Backend, CpuProfileError> {
        let mut samplers = Vec::new();
        let cpus = online_cpus()?;
        for tid in thread_ids()? {
            for &cpu in &cpus {
                match open_sampler(tid, cpu, config.frequency_hz) {
                    Ok(s) => samplers.push(s),
                    // The thread ended since it was listed.
                    Err(e) if e.raw_os_error() == Some(libc::ESRCH) => break,
                    Err(e) => {
                        return Err(CpuProfileError::Refused(perfhub_probe::counters::explain(
                            &e,
                        )));
                    }
                }
            }
        }
        let stop = Arc::new(AtomicBool::new(false));
        let flag = Arc::clone(&stop);
        let drain = std::thread::Builder::new()
            .name("perfhub-cpu-drain".into())
            .spawn(move || drain_loop(samplers, &flag))?;
        Ok(Backend::Perf {
            stop,
            drain: Some(drain),
            taken: None,
        })
    }

    /// Stops sampling without naming the samples yet, so that what runs
    /// next (closing an allocation region) is neither sampled nor, later,
    /// counted with the naming's allocations. With the signal fallback,
    /// sampling goes on until [`CpuSampler::finish`].
    pub fn stop(&mut self) {
        if self.stopped.is_some() {
            return;
        }
        self.stopped = Some(self.started.elapsed());
        if let Backend::Perf { stop, drain, taken } = &mut self.backend {
            stop.store(true, Ordering::SeqCst);
            *taken = drain.take().and_then(|h| h.join().ok());
        }
    }

    /// Stops sampling (unless [`CpuSampler::stop`] did) and symbolizes what
    /// was collected.
    pub fn finish(mut self) -> CpuProfile {
        self.stop();
        let hz = self.config.frequency_hz;
        let mut stacks = StackProfile::new(WeightUnit::Samples);
        stacks.period = Some(1_000_000_000 / hz);
        let (samples, lost, mechanism) = match &mut self.backend {
            Backend::Perf { taken, .. } => {
                let raw = taken.take().unwrap_or_default();
                let mut names = Symbolizer::default();
                for (chain, count) in &raw.chains {
                    stacks.add(names.stack(chain), *count);
                }
                let how = format!(
                    "perf_event_open: software cpu-clock at {hz} Hz per thread, kernel frame-pointer call chains"
                );
                (raw.samples, raw.lost, how)
            }
            Backend::Signal { guard, why } => {
                let mut samples = 0;
                if let Ok(report) = guard.report().build() {
                    for (frames, count) in &report.data {
                        let count = (*count).max(0) as u64;
                        samples += count;
                        // Leaf first, each with its inlined frames innermost first.
                        let stack = frames
                            .frames
                            .iter()
                            .rev()
                            .flat_map(|inlined| inlined.iter().rev().map(|s| s.name()))
                            .collect();
                        stacks.add(stack, count);
                    }
                }
                let how = format!(
                    "SIGPROF at {hz} Hz with frame-pointer unwinding in the handler (pprof-rs), because {why}"
                );
                (samples, 0, how)
            }
        };
        CpuProfile {
            stacks,
            samples,
            lost,
            duration: self.stopped.unwrap_or_else(|| self.started.elapsed()),
            frequency_hz: hz,
            mechanism,
        }
    }
}

impl Drop for CpuSampler {
    fn drop(&mut self) {
        self.stop();
    }
}

fn drain_loop(samplers: Vec<Sampler>, stop: &AtomicBool) -> RawSamples {
    // SAFETY: gettid has no preconditions.
    let own_tid = unsafe { libc::gettid() } as u32;
    let mut raw = RawSamples::default();
    drain_until_stopped(samplers, stop, |s| drain_one(s, own_tid, &mut raw));
    raw
}

/// Reads every buffer with `drain` every 10 ms until `stop` is set, then
/// disables the events and reads what is left once more.
pub(crate) fn drain_until_stopped(
    mut samplers: Vec<Sampler>,
    stop: &AtomicBool,
    mut drain: impl FnMut(&mut Sampler),
) {
    loop {
        let stopping = stop.load(Ordering::SeqCst);
        if stopping {
            for s in &mut samplers {
                let _ = s.disable();
            }
        }
        for s in &mut samplers {
            drain(s);
        }
        if stopping {
            return;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

fn drain_one(sampler: &mut Sampler, own_tid: u32, raw: &mut RawSamples) {
    use perf_event::data::Record;
    while let Some(record) = sampler.next_record() {
        match record.parse_record() {
            Ok(Record::Sample(sample)) => {
                // The drain thread inherits the sampling event; its own
                // work is not the program's.
                if sample.tid() == Some(own_tid) {
                    continue;
                }
                let Some(chain) = sample.callchain().and_then(user_chain) else {
                    continue;
                };
                raw.samples += 1;
                *raw.chains.entry(chain).or_insert(0) += 1;
            }
            Ok(Record::Lost(lost)) => raw.lost += lost.lost,
            _ => {}
        }
    }
}

/// Names addresses of this process, caching each.
#[derive(Default)]
struct Symbolizer {
    cache: HashMap<u64, Vec<String>>,
    /// `/proc/self/maps`, read once, the first time an address has no symbol.
    maps: Option<String>,
}

impl Symbolizer {
    /// The frames of a leaf-first chain, root first.
    fn stack(&mut self, chain: &[u64]) -> Vec<String> {
        let mut frames = Vec::with_capacity(chain.len());
        for (i, &addr) in chain.iter().enumerate().rev() {
            // Callers' addresses are return addresses: look up the call
            // instruction just before, which has the caller's line and
            // inlining.
            let lookup = if i == 0 { addr } else { addr.saturating_sub(1) };
            frames.extend(self.names(lookup).iter().rev().cloned());
        }
        frames
    }

    /// Innermost (inlined) frame first.
    fn names(&mut self, addr: u64) -> &[String] {
        let maps = &mut self.maps;
        self.cache.entry(addr).or_insert_with(|| {
            let mut names = Vec::new();
            backtrace::resolve(addr as usize as *mut std::ffi::c_void, |symbol| {
                if let Some(name) = symbol.name() {
                    names.push(format!("{name:#}"));
                }
            });
            if names.is_empty() {
                let maps = maps.get_or_insert_with(|| {
                    std::fs::read_to_string("/proc/self/maps").unwrap_or_default()
                });
                names.push(module_offset(maps, addr));
            }
            names
        })
    }
}

/// `module+0xoffset` for an address no symbol covers, from /proc/self/maps.
fn module_offset(maps: &str, addr: u64) -> String {
    for line in maps.lines() {
        let mut parts = line.split_whitespace();
        let (Some(range), Some(_perms), Some(offset)) = (parts.next(), parts.next(), parts.next())
        else {
            continue;
        };
        let Some((lo, hi)) = range.split_once('-') else {
            continue;
        };
        let (Ok(lo), Ok(hi), Ok(off)) = (
            u64::from_str_radix(lo, 16),
            u64::from_str_radix(hi, 16),
            u64::from_str_radix(offset, 16),
        ) else {
            continue;
        };
        if (lo..hi).contains(&addr) {
            let path = parts.nth(2).unwrap_or("[anon]");
            let module = path.rsplit('/').next().unwrap_or(path);
            return format!("{module}+{:#x}", addr - lo + off);
        }
    }
    format!("{addr:#x}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_chains_keep_user_addresses_only() {
        let user_marker = (-512i64) as u64; // PERF_CONTEXT_USER
        let bogus = 0xffff_ffff_8100_0000; // a kernel-half value off the stack
        assert_eq!(
            user_chain(&[user_marker, 0x401000, bogus, 0x402000]),
            Some(vec![0x401000, 0x402000])
        );
        assert_eq!(user_chain(&[user_marker, bogus]), None);
    }
}
