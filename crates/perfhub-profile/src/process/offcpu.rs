//! Off-CPU time: where threads waited, from context-switch events.
//!
//! The context-switch software event samples every switch-out of a profiled
//! thread with its user call chain (the place it blocked, or was preempted)
//! and a timestamp; the cpu-clock event's `context_switch` records give the
//! time each thread came back. A thread's off-CPU interval runs from a
//! switch-out to its next switch-in, and its length is charged to the
//! switch-out's call chain, under a root frame that says whether the thread
//! blocked (`[blocked]`: waiting in a syscall, on a lock, for I/O) or was
//! preempted (`[preempted]`: runnable, waiting for a CPU).
//!
//! Records come from every CPU's buffer in no global order, so they are
//! sorted by time per thread first. An interval still open when the profile
//! ends (a thread that was off the CPU at the end) is not counted.

use std::collections::HashMap;

use perfhub_flame::{StackProfile, WeightUnit};

use super::record::{Raw, Switch, SwitchKind};
use super::symbolize::Namer;

/// The off-CPU profile of `raw`, in nanoseconds per call stack.
pub(crate) fn profile(namer: &mut Namer, raw: &Raw) -> StackProfile {
    let (blocked, preempted) = intervals(&raw.switches);
    // Each stack starts with the command name; the kind of wait goes right
    // after it.
    let mut out = StackProfile::new(WeightUnit::Nanoseconds);
    for (kind, chains) in [("[blocked]", &blocked), ("[preempted]", &preempted)] {
        for (stack, weight) in namer
            .stacks(
                raw,
                chains.iter().map(|(key, w)| (key, *w)),
                WeightUnit::Nanoseconds,
            )
            .stacks
        {
            let mut it = stack.into_iter();
            let mut frames: Vec<String> = it.next().into_iter().collect();
            frames.push(kind.to_string());
            frames.extend(it);
            out.add(frames, weight);
        }
    }
    out
}

type Chains = HashMap<(u32, Vec<u64>), u64>;

/// Off-CPU nanoseconds per (pid, call chain), split into blocked and
/// preempted.
fn intervals(switches: &[Switch]) -> (Chains, Chains) {
    let mut by_tid: HashMap<u32, Vec<&Switch>> = HashMap::new();
    for s in switches {
        by_tid.entry(s.tid).or_default().push(s);
    }
    let (mut blocked, mut preempted) = (Chains::new(), Chains::new());
    for events in by_tid.values_mut() {
        // At equal times, a switch-out comes before the switch-in it
        // precedes.
        events.sort_by_key(|s| (s.time, matches!(s.kind, SwitchKind::In)));
        let mut out: Option<(u64, u32, &Vec<u64>)> = None;
        let mut was_preempted = false;
        for s in events.iter() {
            match &s.kind {
                SwitchKind::Out(chain) => out = Some((s.time, s.pid, chain)),
                SwitchKind::OutRecord { preempted } => was_preempted = *preempted,
                SwitchKind::In => {
                    if let Some((since, pid, chain)) = out.take() {
                        let target = if was_preempted {
                            &mut preempted
                        } else {
                            &mut blocked
                        };
                        *target.entry((pid, chain.clone())).or_insert(0) +=
                            s.time.saturating_sub(since);
                    }
                    was_preempted = false;
                }
            }
        }
    }
    (blocked, preempted)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sw(tid: u32, time: u64, kind: SwitchKind) -> Switch {
        Switch {
            pid: 7,
            tid,
            time,
            kind,
        }
    }

    #[test]
    fn charges_each_wait_to_the_chain_it_left_from() {
        let read = vec![0x10, 0x20];
        let lock = vec![0x30, 0x20];
        // Out of order, as buffers deliver them; two threads.
        let switches = vec![
            sw(2, 500, SwitchKind::In),
            sw(1, 100, SwitchKind::Out(read.clone())),
            sw(1, 100, SwitchKind::OutRecord { preempted: false }),
            sw(2, 200, SwitchKind::Out(lock.clone())),
            sw(2, 200, SwitchKind::OutRecord { preempted: true }),
            sw(1, 400, SwitchKind::In),
            // Back on the CPU first, then a wait that never ends.
            sw(1, 50, SwitchKind::In),
            sw(1, 900, SwitchKind::Out(read.clone())),
        ];
        let (blocked, preempted) = intervals(&switches);
        assert_eq!(blocked, HashMap::from([((7, read), 300)]));
        assert_eq!(preempted, HashMap::from([((7, lock), 300)]));
    }

    #[test]
    fn a_switch_in_without_a_switch_out_counts_nothing() {
        let switches = vec![sw(1, 10, SwitchKind::In), sw(1, 20, SwitchKind::In)];
        let (blocked, preempted) = intervals(&switches);
        assert!(blocked.is_empty() && preempted.is_empty());
    }
}
