//! Return addresses to frame names, outside the allocator: demangled,
//! inlined frames included, unnamed frames kept as `0x<address>`, and the
//! allocation glue above the caller trimmed so the leaf is the function that
//! allocated.
//!
//! The stack walk already skips the profiler's own frames by address. What
//! remains to trim is told by name where the debug info gives full paths
//! (`alloc::raw_vec::...`), and by source file where it gives bare names
//! (inlined frames under `debug = "line-tables-only"` are named `from_elem`,
//! `allocate`, ... but still point into `library/alloc/src/`).

use std::collections::HashMap;
use std::ffi::c_void;

/// What a frame is, for trimming.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Kind {
    /// The tracking allocator, the sampler and the thread-local access
    /// between them: inlined into the frame the walk starts from, or left
    /// when the walk could not skip them by address.
    Profiler,
    /// Allocation glue: the allocator shims, `alloc`'s collections and
    /// smart pointers, the allocator traits.
    Glue,
    /// Everything else: the program.
    Program,
}

#[derive(Debug, Clone)]
struct Frame {
    name: String,
    kind: Kind,
}

/// Resolves addresses once each.
#[derive(Default)]
pub(super) struct Symbolizer {
    cache: HashMap<usize, Vec<Frame>>,
}

impl Symbolizer {
    /// The frames at `addr`, innermost inlined frame first.
    fn frames(&mut self, addr: usize) -> &[Frame] {
        self.cache.entry(addr).or_insert_with(|| {
            let mut frames = Vec::new();
            // `resolve` treats the address as a return address (it looks up
            // the byte before it, inside the call instruction).
            backtrace::resolve(addr as *mut c_void, |symbol| {
                if let Some(name) = symbol.name() {
                    // `{:#}`: demangled, without the hash suffix.
                    let name = format!("{name:#}");
                    let file = symbol.filename().and_then(|f| f.to_str());
                    let kind = classify(&name, file);
                    frames.push(Frame { name, kind });
                }
            });
            if frames.is_empty() {
                frames.push(Frame {
                    name: format!("{addr:#x}"),
                    kind: Kind::Program,
                });
            }
            frames
        })
    }

    /// The frame names of a sampled stack (return addresses, leaf first),
    /// root first, without the allocator's frames, at most `max_frames`
    /// (the leaf-most ones).
    pub(super) fn stack(&mut self, raw: &[usize], max_frames: usize) -> Vec<String> {
        let mut leaf_first: Vec<Frame> = Vec::new();
        for &addr in raw {
            leaf_first.extend(self.frames(addr).iter().cloned());
        }
        let kinds: Vec<Kind> = leaf_first.iter().map(|f| f.kind).collect();
        let mut names: Vec<String> = leaf_first
            .into_iter()
            .skip(allocator_frames(&kinds))
            .take(max_frames)
            .map(|f| f.name)
            .collect();
        if names.is_empty() {
            let placeholder = if raw.is_empty() {
                "[no stack]"
            } else {
                "[allocator]"
            };
            names.push(placeholder.to_owned());
        }
        names.reverse();
        names
    }
}

/// This module's directory as the compiler saw it (`.../src/alloc`), for
/// telling the profiler's frames by file.
fn own_dir() -> &'static str {
    let this = file!();
    this.strip_suffix("/symbolize.rs")
        .or_else(|| this.strip_suffix("\\symbolize.rs"))
        .unwrap_or(this)
}

/// Classifies a frame by its demangled name and, if known, its source file.
pub(super) fn classify(name: &str, file: Option<&str>) -> Kind {
    // The thread-local access the allocator makes: trimmed only in the
    // leading run, so a program's own `LocalKey::with` further up stays.
    const PROFILER: [&str; 6] = [
        "perfhub_profile::alloc::",
        "<perfhub_profile::alloc::",
        "backtrace::",
        "_Unwind_",
        "std::thread::local::",
        "std::sys::thread_local::",
    ];
    const PROFILER_FILES: [&str; 2] = [
        "library/std/src/thread/local.rs",
        "library/std/src/sys/thread_local/",
    ];
    const GLUE: [&str; 9] = [
        "__rust_",
        "__rg_",
        "__rdl_",
        "alloc::",
        "<alloc::",
        "core::alloc::",
        "<core::alloc::",
        "std::alloc::",
        "<std::alloc::",
    ];
    const GLUE_FILES: [&str; 3] = [
        "library/alloc/src/",
        "library/core/src/alloc/",
        "library/std/src/alloc.rs",
    ];
    // v0 mangling puts the allocator shims under `__rustc::`.
    let bare = name.strip_prefix("__rustc::").unwrap_or(name);
    let file = file.map(|f| f.replace('\\', "/"));
    let file = file.as_deref().unwrap_or("");
    let own = own_dir();
    if PROFILER.iter().any(|p| name.starts_with(p))
        || PROFILER_FILES.iter().any(|f| file.contains(f))
        || (!file.is_empty()
            && (file.contains(&format!("{own}/")) || file.ends_with(&format!("{own}.rs"))))
    {
        Kind::Profiler
    } else if GLUE.iter().any(|p| bare.starts_with(p))
        || name.contains(" as alloc::")
        || GLUE_FILES.iter().any(|f| file.contains(f))
    {
        Kind::Glue
    } else {
        Kind::Program
    }
}

/// How many leaf frames belong to the allocator: the profiler's own frames
/// (and the thread-local access between them) in the leading run, then the
/// glue that called the global allocator. Only leading frames count, so a
/// caller's frames that happen to be in this module (a closure given to
/// `measure`) or in `alloc` further up stay.
pub(super) fn allocator_frames(leaf_first: &[Kind]) -> usize {
    let own = leaf_first
        .iter()
        .take_while(|k| **k == Kind::Profiler)
        .count();
    own + leaf_first[own..]
        .iter()
        .take_while(|k| **k == Kind::Glue)
        .count()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(frames: &[(&str, Option<&str>)]) -> Vec<Kind> {
        frames.iter().map(|(n, f)| classify(n, *f)).collect()
    }

    #[test]
    fn full_names_are_classified_by_name() {
        assert_eq!(classify("__rustc::__rust_alloc", None), Kind::Glue);
        assert_eq!(classify("__rust_realloc", None), Kind::Glue);
        assert_eq!(
            classify("<alloc::raw_vec::RawVecInner>::try_allocate_in", None),
            Kind::Glue
        );
        assert_eq!(
            classify(
                "<u8 as alloc::vec::spec_from_elem::SpecFromElem>::from_elem",
                None
            ),
            Kind::Glue
        );
        assert_eq!(
            classify(
                "<perfhub_profile::alloc::Tracking<std::alloc::System> as \
                 core::alloc::global::GlobalAlloc>::alloc",
                None
            ),
            Kind::Profiler
        );
        assert_eq!(
            classify("std::thread::local::LocalKey<T>::try_with", None),
            Kind::Profiler
        );
        assert_eq!(classify("heap::alloc_heavy", None), Kind::Program);
        assert_eq!(classify("std::io::Read::read_to_end", None), Kind::Program);
    }

    /// Line-tables-only debug info names inlined frames bare; their files
    /// still tell.
    #[test]
    fn bare_names_are_classified_by_file() {
        let rustc = "/rustc/59807616e1fa2540724bfbac14d7976d7e4a3860";
        assert_eq!(
            classify(
                "from_elem<u8>",
                Some(&format!("{rustc}/library/alloc/src/vec/mod.rs"))
            ),
            Kind::Glue
        );
        assert_eq!(
            classify(
                "alloc",
                Some(&format!("{rustc}/library/alloc/src/alloc.rs"))
            ),
            Kind::Glue
        );
        assert_eq!(
            classify(
                "alloc<std::alloc::System>",
                Some(&format!("/src/{}.rs", own_dir()))
            ),
            Kind::Profiler
        );
        assert_eq!(
            classify("on_alloc", Some(&format!("/work/{}/sampler.rs", own_dir()))),
            Kind::Profiler
        );
        assert_eq!(
            classify(
                "try_with<perfhub_profile::alloc::counters::ThreadState>",
                Some(&format!("{rustc}/library/std/src/thread/local.rs"))
            ),
            Kind::Profiler
        );
        assert_eq!(
            classify("alloc_heavy", Some("/work/tests/heap_profile.rs")),
            Kind::Program
        );
        assert_eq!(
            classify("allocate", Some("/work/src/my_alloc/arena.rs")),
            Kind::Program
        );
    }

    #[test]
    fn trims_the_profiler_then_the_glue() {
        let stack = kinds(&[
            ("backtrace::backtrace::libunwind::trace", None),
            ("perfhub_profile::alloc::stack::walk", None),
            (
                "<perfhub_profile::alloc::Tracking<std::alloc::System> as \
                 core::alloc::global::GlobalAlloc>::realloc",
                None,
            ),
            ("__rustc::__rust_realloc", None),
            ("alloc::alloc::alloc", None),
            (
                "<alloc::alloc::Global as core::alloc::Allocator>::allocate",
                None,
            ),
            (
                "<u8 as alloc::vec::spec_from_elem::SpecFromElem>::from_elem",
                None,
            ),
            ("heap::alloc_heavy", None),
            ("alloc::vec::Vec<T>::push", None),
            ("heap::main", None),
        ]);
        assert_eq!(allocator_frames(&stack), 7);
    }

    /// A frame of the program ends the trim: what is root-side of it stays,
    /// even in this module or in `alloc`.
    #[test]
    fn only_the_leading_run_is_trimmed() {
        let stack = kinds(&[
            ("alloc::alloc::alloc_zeroed", None),
            ("user::work", None),
            ("perfhub_profile::alloc::measure", None),
            ("alloc::vec::Vec<T>::push", None),
            ("user::main", None),
        ]);
        assert_eq!(allocator_frames(&stack), 1);
        assert_eq!(allocator_frames(&kinds(&[("user::work", None)])), 0);
        assert_eq!(allocator_frames(&[]), 0);
        let unnamed = kinds(&[
            ("perfhub_profile::alloc::stack::walk", None),
            ("0x5555deadbeef", None),
            ("__rust_alloc", None),
        ]);
        assert_eq!(allocator_frames(&unnamed), 1);
    }

    #[test]
    fn unnamed_addresses_are_kept_as_hex() {
        let mut s = Symbolizer::default();
        let stack = s.stack(&[0x10, 0x20], 8);
        assert_eq!(stack, vec!["0x20".to_string(), "0x10".to_string()]);
        assert_eq!(s.stack(&[], 8), vec!["[no stack]".to_string()]);
        assert_eq!(
            s.stack(&[0x10, 0x20, 0x30], 2),
            vec!["0x20".to_string(), "0x10".to_string()]
        );
    }

    #[test]
    fn real_addresses_resolve_to_their_functions() {
        let mut buf = [0usize; 64];
        let n = super::super::stack::walk_for_tests(&mut buf);
        let mut s = Symbolizer::default();
        let names: Vec<String> = buf[..n]
            .iter()
            .flat_map(|&a| s.frames(a).to_vec())
            .map(|f| f.name)
            .collect();
        assert!(
            names
                .iter()
                .any(|n| n.contains("real_addresses_resolve_to_their_functions")),
            "{names:?}"
        );
    }
}
