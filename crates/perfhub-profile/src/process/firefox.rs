//! The CPU samples per thread and in time order, and the Firefox Profiler's
//! processed profile format built from them (what samply's viewer loads):
//! one track per thread, grouped by process, with each sample's time and
//! symbolized call stack.
//!
//! The drain thread keeps each sample's thread, time and call-chain number
//! (16 bytes a sample, up to 4,194,304 samples); the chains themselves
//! are stored once each, as for the flame graph. The profile is built with
//! the `fxprof-processed-profile` crate; frames are plain function names
//! (the profile is marked symbolicated, so the viewer looks nothing up).

use std::collections::HashMap;
use std::time::SystemTime;

use fxprof_processed_profile::{
    CategoryColor, CategoryPairHandle, CpuDelta, Frame, FrameFlags, FrameInfo, Profile,
    ReferenceTimestamp, SamplingInterval, StackHandle, Timestamp,
};

use super::record::Raw;
use super::symbolize::Namer;

/// A profile's CPU samples per thread, in time order.
#[derive(Debug, Clone, Default)]
pub struct ThreadSamples {
    /// The distinct call stacks, root first, each starting with the
    /// process's command name as in [`super::CommandProfile::stacks`];
    /// samples refer to them by index.
    pub stacks: Vec<Vec<String>>,
    /// The threads that were sampled, in the order of their first sample.
    pub threads: Vec<SampledThread>,
    /// Samples counted in [`super::CommandProfile::stacks`] but left out
    /// here: past the bound of 4,194,304 samples (64 MiB).
    pub untimed: u64,
    /// About when the first sample was taken (when sampling started).
    pub started: Option<SystemTime>,
}

/// One sampled thread.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SampledThread {
    /// The process id.
    pub pid: u32,
    /// The thread id.
    pub tid: u32,
    /// The process's command name.
    pub process_name: String,
    /// The thread's name (its comm): the process's, unless it renamed itself.
    pub name: String,
    /// Its samples in time order: nanoseconds since the profile's first
    /// sample, and the index of the call stack in [`ThreadSamples::stacks`].
    pub samples: Vec<(u64, u32)>,
}

/// `raw`'s timed samples, per thread, with their chains named by `namer`.
pub(crate) fn thread_samples(namer: &mut Namer, raw: &Raw) -> ThreadSamples {
    if raw.timed.is_empty() {
        return ThreadSamples {
            untimed: raw.untimed,
            started: raw.started,
            ..ThreadSamples::default()
        };
    }
    namer.name_chains(raw, raw.chains.keys());
    let mut stacks = vec![Vec::new(); raw.chains.len()];
    let mut pids = vec![0; raw.chains.len()];
    for ((pid, chain), c) in &raw.chains {
        stacks[c.id as usize] = namer.frames(raw, *pid, chain);
        pids[c.id as usize] = *pid;
    }
    let origin = raw.timed.iter().map(|s| s.time).min().unwrap_or(0);
    let mut threads: Vec<SampledThread> = Vec::new();
    let mut index: HashMap<(u32, u32), usize> = HashMap::new();
    for s in &raw.timed {
        let pid = pids[s.chain as usize];
        let i = *index.entry((pid, s.tid)).or_insert_with(|| {
            let process_name = raw
                .comms
                .get(&pid)
                .cloned()
                .unwrap_or_else(|| format!("pid {pid}"));
            let name = raw
                .thread_names
                .get(&s.tid)
                .cloned()
                .unwrap_or_else(|| process_name.clone());
            threads.push(SampledThread {
                pid,
                tid: s.tid,
                process_name,
                name,
                samples: Vec::new(),
            });
            threads.len() - 1
        });
        threads[i].samples.push((s.time - origin, s.chain));
    }
    // Each CPU's buffer is in time order, but they are read one after the
    // other.
    for t in &mut threads {
        t.samples.sort_by_key(|&(time, _)| time);
    }
    threads.sort_by_key(|t| (t.samples[0].0, t.pid, t.tid));
    ThreadSamples {
        stacks,
        threads,
        untimed: raw.untimed,
        started: raw.started,
    }
}

/// The Firefox Profiler's processed profile of `samples`, named `product`,
/// sampled every `interval_ns` nanoseconds of CPU time, as JSON.
pub(crate) fn to_firefox_json(
    product: &str,
    samples: &ThreadSamples,
    interval_ns: u64,
) -> serde_json::Result<Vec<u8>> {
    serde_json::to_vec(&to_firefox(product, samples, interval_ns))
}

fn to_firefox(product: &str, samples: &ThreadSamples, interval_ns: u64) -> Profile {
    let started = samples.started.unwrap_or_else(SystemTime::now);
    let mut profile = Profile::new(
        product,
        ReferenceTimestamp::from_system_time(started),
        SamplingInterval::from_nanos(interval_ns),
    );
    profile.set_os_name("Linux");
    profile.set_symbolicated(true);
    let user: CategoryPairHandle = profile.add_category("User", CategoryColor::Yellow).into();
    let mut processes = HashMap::new();
    for thread in &samples.threads {
        let first = Timestamp::from_nanos_since_reference(thread.samples[0].0);
        let process = *processes
            .entry(thread.pid)
            .or_insert_with(|| profile.add_process(&thread.process_name, thread.pid, first));
        let handle = profile.add_thread(process, thread.tid, first, thread.tid == thread.pid);
        profile.set_thread_name(handle, &thread.name);
        if let Some(&(last, _)) = thread.samples.last() {
            profile.set_thread_end_time(handle, Timestamp::from_nanos_since_reference(last));
        }
        let mut interned: HashMap<u32, Option<StackHandle>> = HashMap::new();
        for &(time, stack) in &thread.samples {
            let handle_stack = *interned.entry(stack).or_insert_with(|| {
                // The first frame is the process's name, which the
                // profile's process track already shows.
                let frames: Vec<FrameInfo> = samples.stacks[stack as usize]
                    .iter()
                    .skip(1)
                    .map(|name| FrameInfo {
                        frame: Frame::Label(profile.intern_string(name)),
                        category_pair: user,
                        flags: FrameFlags::empty(),
                    })
                    .collect();
                profile.intern_stack_frames(handle, frames.into_iter())
            });
            profile.add_sample(
                handle,
                Timestamp::from_nanos_since_reference(time),
                handle_stack,
                CpuDelta::from_nanos(interval_ns),
                1,
            );
        }
    }
    profile
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builds_one_track_per_thread_with_named_frames() {
        let samples = ThreadSamples {
            stacks: vec![
                vec!["app".into(), "main".into(), "work".into()],
                vec!["app".into(), "main".into(), "idle".into()],
            ],
            threads: vec![
                SampledThread {
                    pid: 10,
                    tid: 10,
                    process_name: "app".into(),
                    name: "app".into(),
                    samples: vec![(0, 0), (1_000_000, 1), (2_000_000, 0)],
                },
                SampledThread {
                    pid: 10,
                    tid: 11,
                    process_name: "app".into(),
                    name: "worker".into(),
                    samples: vec![(500_000, 0)],
                },
            ],
            untimed: 0,
            started: Some(SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(1_000)),
        };
        let json = to_firefox_json("app --flag", &samples, 1_000_000).unwrap();
        let v: serde_json::Value = serde_json::from_slice(&json).unwrap();
        assert_eq!(v["meta"]["product"], "app --flag");
        assert_eq!(v["meta"]["startTime"], 1_000_000.0);
        let threads = v["threads"].as_array().unwrap();
        assert_eq!(threads.len(), 2);
        let names: Vec<&str> = threads
            .iter()
            .map(|t| t["name"].as_str().unwrap())
            .collect();
        assert!(names.contains(&"worker"), "{names:?}");
    }
}
