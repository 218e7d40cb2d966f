//! The fixed-capacity tables the allocator writes while sampling: interned
//! call stacks with their sampled bytes, and the sampled pointers still live.
//! They are allocated once, outside the allocator, and never grow, so
//! sampling never allocates; when one is full, a sample loses its stack or
//! its live tracking and is counted as such instead.

use std::sync::atomic::AtomicU8;
use std::sync::atomic::Ordering::Relaxed;

/// The stack every sample gets once the stack table is full.
pub(super) const OVERFLOW: u32 = 0;

/// splitmix64's finalizer: a cheap, well-mixed hash of one word.
pub(super) fn mix(x: u64) -> u64 {
    let mut z = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

fn hash_frames(frames: &[usize]) -> u64 {
    frames
        .iter()
        .fold(frames.len() as u64, |h, &f| mix(h ^ f as u64))
}

/// Interned call stacks (return addresses, leaf first) with, per stack, the
/// sampled bytes allocated, the sampled bytes live now, and the live bytes
/// at the last peak snapshot. Entry [`OVERFLOW`] collects the samples that
/// found the table full.
pub(super) struct StackTable {
    /// Open addressing over entries: 0 is empty (entry 0 is never indexed).
    slots: Box<[u32]>,
    hashes: Box<[u64]>,
    starts: Box<[u32]>,
    lens: Box<[u16]>,
    arena: Box<[usize]>,
    arena_used: usize,
    len: usize,
    pub(super) allocated: Box<[u64]>,
    pub(super) live: Box<[u64]>,
    pub(super) peak: Box<[u64]>,
}

fn zeroed<T: Clone + Default>(n: usize) -> Box<[T]> {
    vec![T::default(); n].into_boxed_slice()
}

impl StackTable {
    /// A table of `entries` stacks (the overflow entry included) holding
    /// `arena_frames` frames in all.
    pub(super) fn new(entries: usize, arena_frames: usize) -> StackTable {
        let entries = entries.clamp(2, u32::MAX as usize / 2);
        StackTable {
            slots: zeroed((entries * 2).next_power_of_two()),
            hashes: zeroed(entries),
            starts: zeroed(entries),
            lens: zeroed(entries),
            arena: zeroed(arena_frames.min(u32::MAX as usize)),
            arena_used: 0,
            len: 1,
            allocated: zeroed(entries),
            live: zeroed(entries),
            peak: zeroed(entries),
        }
    }

    /// Empties the table, touching only what was used.
    pub(super) fn clear(&mut self) {
        if self.len > 1 {
            self.slots.fill(0);
        }
        for column in [&mut self.allocated, &mut self.live, &mut self.peak] {
            column[..self.len].fill(0);
        }
        self.len = 1;
        self.arena_used = 0;
    }

    /// The entries in use, [`OVERFLOW`] included.
    pub(super) fn len(&self) -> usize {
        self.len
    }

    /// The frames of entry `index`, leaf first.
    pub(super) fn frames(&self, index: u32) -> &[usize] {
        let i = index as usize;
        let start = self.starts[i] as usize;
        &self.arena[start..start + self.lens[i] as usize]
    }

    /// The entry of `frames`, added if new; [`OVERFLOW`] when the table or
    /// its frame arena is full. Never allocates.
    pub(super) fn intern(&mut self, frames: &[usize]) -> u32 {
        let frames = &frames[..frames.len().min(u16::MAX as usize)];
        let hash = hash_frames(frames);
        let mask = self.slots.len() - 1;
        let mut i = hash as usize & mask;
        loop {
            let entry = self.slots[i];
            if entry == 0 {
                break;
            }
            if self.hashes[entry as usize] == hash && self.frames(entry) == frames {
                return entry;
            }
            i = (i + 1) & mask;
        }
        // Slots are at least twice the entries, so probing always ends on
        // an empty slot, and a full table is told by its entry count.
        if self.len == self.hashes.len() || self.arena_used + frames.len() > self.arena.len() {
            return OVERFLOW;
        }
        let entry = self.len;
        self.len += 1;
        self.hashes[entry] = hash;
        self.starts[entry] = self.arena_used as u32;
        self.lens[entry] = frames.len() as u16;
        self.arena[self.arena_used..self.arena_used + frames.len()].copy_from_slice(frames);
        self.arena_used += frames.len();
        self.slots[i] = entry as u32;
        entry as u32
    }

    /// Copies every stack's live bytes into its peak column.
    pub(super) fn snapshot_peak(&mut self) {
        let n = self.len;
        self.peak[..n].copy_from_slice(&self.live[..n]);
    }
}

/// The table refused an insertion because it is full.
#[derive(Debug, PartialEq, Eq)]
pub(super) struct Full;

/// Sampled pointers still live, with their stack and weight: linear probing
/// with backward-shift deletion (no tombstones), filled to at most 7/8.
pub(super) struct PtrTable {
    keys: Box<[usize]>,
    stacks: Box<[u32]>,
    weights: Box<[u64]>,
    len: usize,
}

impl PtrTable {
    /// A table of `slots` (rounded up to a power of two) slots.
    pub(super) fn new(slots: usize) -> PtrTable {
        let slots = slots.max(2).next_power_of_two();
        PtrTable {
            keys: zeroed(slots),
            stacks: zeroed(slots),
            weights: zeroed(slots),
            len: 0,
        }
    }

    fn home(&self, ptr: usize) -> usize {
        mix(ptr as u64) as usize & (self.keys.len() - 1)
    }

    /// Empties the table.
    pub(super) fn clear(&mut self) {
        if self.len > 0 {
            self.keys.fill(0);
        }
        self.len = 0;
    }

    /// The pointers held.
    #[cfg(test)]
    pub(super) fn len(&self) -> usize {
        self.len
    }

    /// Records `ptr` (non-zero); returns the record it replaced, if the
    /// pointer was already there.
    pub(super) fn insert(
        &mut self,
        ptr: usize,
        stack: u32,
        weight: u64,
    ) -> Result<Option<(u32, u64)>, Full> {
        debug_assert_ne!(ptr, 0);
        let mask = self.keys.len() - 1;
        let mut i = self.home(ptr);
        loop {
            let key = self.keys[i];
            if key == ptr {
                let old = (self.stacks[i], self.weights[i]);
                self.stacks[i] = stack;
                self.weights[i] = weight;
                return Ok(Some(old));
            }
            if key == 0 {
                break;
            }
            i = (i + 1) & mask;
        }
        if (self.len + 1) * 8 > self.keys.len() * 7 {
            return Err(Full);
        }
        self.keys[i] = ptr;
        self.stacks[i] = stack;
        self.weights[i] = weight;
        self.len += 1;
        Ok(None)
    }

    /// Removes `ptr`; returns its stack and weight if it was there.
    pub(super) fn remove(&mut self, ptr: usize) -> Option<(u32, u64)> {
        let mask = self.keys.len() - 1;
        let mut i = self.home(ptr);
        loop {
            let key = self.keys[i];
            if key == 0 {
                return None;
            }
            if key == ptr {
                break;
            }
            i = (i + 1) & mask;
        }
        let found = (self.stacks[i], self.weights[i]);
        // Shift later members of the probe run back into the hole, each one
        // whose home is not strictly between the hole and where it sits.
        let mut hole = i;
        let mut j = i;
        loop {
            j = (j + 1) & mask;
            let key = self.keys[j];
            if key == 0 {
                break;
            }
            let from_home = j.wrapping_sub(self.home(key)) & mask;
            let from_hole = j.wrapping_sub(hole) & mask;
            if from_home >= from_hole {
                self.keys[hole] = key;
                self.stacks[hole] = self.stacks[j];
                self.weights[hole] = self.weights[j];
                hole = j;
            }
        }
        self.keys[hole] = 0;
        self.len -= 1;
        Some(found)
    }
}

/// A counting filter over the sampled pointers, read without the lock on
/// every free while a profile runs: a zero count proves the pointer was not
/// sampled, so most frees never touch the lock or the pointer table.
/// Written under the lock only. Counts saturate at 255 and then stay.
pub(super) struct PtrFilter {
    counts: Box<[AtomicU8]>,
}

impl PtrFilter {
    /// A filter of `slots` (rounded up to a power of two) counters.
    pub(super) fn new(slots: usize) -> PtrFilter {
        let slots = slots.max(2).next_power_of_two();
        PtrFilter {
            counts: (0..slots).map(|_| AtomicU8::new(0)).collect(),
        }
    }

    #[inline(always)]
    fn counter(&self, ptr: usize) -> &AtomicU8 {
        // Fibonacci hashing of the pointer without its alignment bits: one
        // multiply on every free, and unrelated to the pointer table's hash.
        let h = ((ptr as u64) >> 4).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        let i = (h >> 32) as usize & (self.counts.len() - 1);
        &self.counts[i]
    }

    /// Whether `ptr` may have been sampled.
    #[inline(always)]
    pub(super) fn may_contain(&self, ptr: usize) -> bool {
        self.counter(ptr).load(Relaxed) != 0
    }

    /// Counts `ptr` in (under the lock).
    pub(super) fn add(&self, ptr: usize) {
        let c = self.counter(ptr);
        let v = c.load(Relaxed);
        if v < u8::MAX {
            c.store(v + 1, Relaxed);
        }
    }

    /// Counts `ptr` out (under the lock).
    pub(super) fn remove(&self, ptr: usize) {
        let c = self.counter(ptr);
        let v = c.load(Relaxed);
        if v > 0 && v < u8::MAX {
            c.store(v - 1, Relaxed);
        }
    }

    /// Zeroes every counter (under the lock).
    pub(super) fn clear(&self) {
        for c in self.counts.iter() {
            c.store(0, Relaxed);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stacks_are_interned_once_and_overflow_when_full() {
        let mut t = StackTable::new(4, 100);
        let a = t.intern(&[1, 2, 3]);
        let b = t.intern(&[1, 2]);
        let empty = t.intern(&[]);
        assert_ne!(a, OVERFLOW);
        assert_ne!(b, OVERFLOW);
        assert_ne!(empty, OVERFLOW);
        assert_ne!(a, b);
        assert_eq!(t.intern(&[1, 2, 3]), a);
        assert_eq!(t.frames(a), &[1, 2, 3]);
        assert_eq!(t.frames(empty), &[] as &[usize]);
        // Four entries, the overflow one included: the next stack overflows,
        // the known ones still intern.
        assert_eq!(t.intern(&[9]), OVERFLOW);
        assert_eq!(t.intern(&[1, 2]), b);
        assert_eq!(t.len(), 4);

        t.allocated[a as usize] = 5;
        t.live[a as usize] = 3;
        t.snapshot_peak();
        assert_eq!(t.peak[a as usize], 3);
        t.clear();
        assert_eq!(t.len(), 1);
        assert_eq!(t.allocated[a as usize], 0);
        assert_eq!(t.peak[a as usize], 0);
        assert_eq!(t.intern(&[9]), 1);
    }

    #[test]
    fn stack_arena_overflow() {
        let mut t = StackTable::new(100, 5);
        assert_eq!(t.intern(&[1, 2, 3]), 1);
        assert_eq!(t.intern(&[4, 5, 6]), OVERFLOW);
        assert_eq!(t.intern(&[4, 5]), 2);
    }

    #[test]
    fn many_stacks_round_trip() {
        let mut t = StackTable::new(1000, 10_000);
        let ids: Vec<u32> = (0..999).map(|i| t.intern(&[i, i * 7, 3])).collect();
        for (i, id) in ids.iter().enumerate() {
            assert_eq!(t.frames(*id), &[i, i * 7, 3]);
            assert_eq!(t.intern(&[i, i * 7, 3]), *id);
        }
        assert_eq!(t.intern(&[5000]), OVERFLOW);
    }

    #[test]
    fn pointers_insert_replace_remove() {
        let mut t = PtrTable::new(16);
        assert_eq!(t.insert(0x1000, 1, 10), Ok(None));
        assert_eq!(t.insert(0x2000, 2, 20), Ok(None));
        assert_eq!(t.insert(0x1000, 3, 30), Ok(Some((1, 10))));
        assert_eq!(t.len(), 2);
        assert_eq!(t.remove(0x1000), Some((3, 30)));
        assert_eq!(t.remove(0x1000), None);
        assert_eq!(t.remove(0x3000), None);
        assert_eq!(t.len(), 1);
        t.clear();
        assert_eq!(t.remove(0x2000), None);
    }

    #[test]
    fn pointer_table_fills_to_seven_eighths() {
        let mut t = PtrTable::new(16);
        for p in 1..=14 {
            assert_eq!(t.insert(p * 16, 0, 1), Ok(None), "pointer {p}");
        }
        assert_eq!(t.insert(15 * 16, 0, 1), Err(Full));
        // Replacing a held pointer still works when full.
        assert_eq!(t.insert(16, 1, 2), Ok(Some((0, 1))));
    }

    /// Backward-shift deletion keeps every remaining key reachable, whatever
    /// the order of removals and however long the probe runs (a tiny table
    /// forces collisions and wrap-around).
    #[test]
    fn removal_keeps_probe_runs_intact() {
        let mut state = 0x1234_5678_u64;
        let mut next = || {
            state = mix(state);
            state
        };
        for _round in 0..200 {
            let mut t = PtrTable::new(32);
            let mut held: Vec<usize> = Vec::new();
            for _ in 0..500 {
                if held.len() < 28 && next() % 3 != 0 {
                    let p = (next() as usize % 64 + 1) * 8;
                    if !held.contains(&p) {
                        assert_eq!(t.insert(p, p as u32, p as u64), Ok(None));
                        held.push(p);
                    }
                } else if !held.is_empty() {
                    let p = held.swap_remove(next() as usize % held.len());
                    assert_eq!(t.remove(p), Some((p as u32, p as u64)));
                }
                assert_eq!(t.len(), held.len());
                for &p in &held {
                    assert_eq!(
                        t.insert(p, p as u32, p as u64),
                        Ok(Some((p as u32, p as u64)))
                    );
                }
            }
        }
    }

    #[test]
    fn filter_counts_and_saturates() {
        let f = PtrFilter::new(1);
        // Two counters: every pointer shares one of them.
        assert!(!f.may_contain(0x10));
        f.add(0x10);
        assert!(f.may_contain(0x10));
        f.add(0x10);
        f.remove(0x10);
        assert!(f.may_contain(0x10));
        f.remove(0x10);
        assert!(!f.may_contain(0x10));
        for _ in 0..300 {
            f.add(0x10);
        }
        for _ in 0..300 {
            f.remove(0x10);
        }
        assert!(f.may_contain(0x10), "a saturated count stays");
        f.clear();
        assert!(!f.may_contain(0x10));
    }
}
