//! Kernel frames: the kernel's part of each sample's call chain, named from
//! `/proc/kallsyms`.
//!
//! With [`CommandProfileConfig::kernel_frames`](super::CommandProfileConfig)
//! the sampling event counts kernel mode and its call chains keep the
//! kernel's section (`PERF_CONTEXT_KERNEL`, then the kernel's addresses, leaf
//! first) before the user section (`PERF_CONTEXT_USER`): a sample taken in a
//! system call shows the kernel functions on top of the user stack that made
//! the call. Kernel addresses are the upper half of the address space (bit 63
//! set) on x86_64 and aarch64, and user code never runs there, so a chain
//! needs no marker to tell them apart once the `PERF_CONTEXT_*` entries are
//! dropped.
//!
//! A kernel frame is named `function_[k]`, the suffix that
//! `stackcollapse-perf.pl --kernel` and inferno give kernel frames (inferno's
//! palettes colour them apart). An address `/proc/kallsyms` does not cover,
//! or every address where `kernel.kptr_restrict` shows them as zeros, is
//! `[unknown]_[k]`.
//!
//! The kernel allows kernel-mode sampling where `kernel.perf_event_paranoid`
//! is 1 or lower, or to a process with `CAP_PERFMON` (or `CAP_SYS_ADMIN`);
//! [`refusal`] says, from those facts alone, whether it will refuse.

use perfhub_probe::perf_access::{self, AccessFacts, KernelMode};

/// `PERF_CONTEXT_KERNEL`: the kernel's section of a call chain follows.
const PERF_CONTEXT_KERNEL: u64 = (-128i64) as u64;
/// `PERF_CONTEXT_USER`: the user section of a call chain follows.
const PERF_CONTEXT_USER: u64 = (-512i64) as u64;
/// Every `PERF_CONTEXT_*` marker is at or above this.
const PERF_CONTEXT_MAX: u64 = (-4095i64) as u64;

/// What a kernel frame's name ends with.
pub(crate) const SUFFIX: &str = "_[k]";

/// The name of a kernel address that `/proc/kallsyms` does not name.
pub(crate) const UNKNOWN: &str = "[unknown]_[k]";

/// Whether `addr` is a kernel address: the upper half of the address space.
pub(crate) fn is_kernel_address(addr: u64) -> bool {
    addr >> 63 == 1
}

/// The addresses of a sampled call chain, leaf first, without the
/// `PERF_CONTEXT_*` markers: the kernel's section (with `kernel`) and the
/// user section. Sections of other contexts (a guest's) are dropped, and so
/// is any kernel address in the user section, so that every kernel address
/// left came from the kernel's section. `None` when nothing is left.
pub(crate) fn sample_chain(callchain: &[u64], kernel: bool) -> Option<Vec<u64>> {
    #[derive(PartialEq)]
    enum Section {
        Kernel,
        User,
        Other,
    }
    // A chain without markers is the user's (as `exclude_callchain_kernel`
    // chains from older kernels can be).
    let mut section = Section::User;
    let mut out = Vec::with_capacity(callchain.len());
    for &addr in callchain {
        if addr >= PERF_CONTEXT_MAX {
            section = match addr {
                PERF_CONTEXT_KERNEL => Section::Kernel,
                PERF_CONTEXT_USER => Section::User,
                _ => Section::Other,
            };
            continue;
        }
        let keep = match section {
            Section::Kernel => kernel && is_kernel_address(addr),
            // A kernel address among user frames is a bogus return address
            // read off the user stack, whatever `kernel` says: without
            // kernel frames it would be named as one (`[unknown]_[k]`).
            Section::User => !is_kernel_address(addr),
            Section::Other => false,
        };
        if keep {
            out.push(addr);
        }
    }
    (!out.is_empty()).then_some(out)
}

/// Why the kernel will refuse kernel-mode sampling to a process with
/// `facts`, with the fix; `None` where it allows it.
pub(crate) fn refusal(facts: &AccessFacts) -> Option<String> {
    perf_access::exclude_kernel_needed(facts).then(|| refused(libc::EACCES, facts))
}

/// What to say when opening a kernel-mode event failed with `errno`.
pub(crate) fn refused(errno: i32, facts: &AccessFacts) -> String {
    format!(
        "kernel frames were asked for (`kernel_frames`) but not recorded: {}; the profile shows user frames only",
        perf_access::diagnose_event(errno, facts, KernelMode::Included)
    )
}

/// Why `/proc/kallsyms` shows every address as zero, given
/// `kernel.kptr_restrict` and `kernel.perf_event_paranoid`.
pub(crate) fn hidden_reason(kptr_restrict: Option<i32>, paranoid: Option<i32>) -> String {
    let why = match kptr_restrict {
        Some(0) => format!(
            "kernel.kptr_restrict is 0, which shows them only to processes with CAP_SYSLOG or where kernel.perf_event_paranoid is 1 or lower (it is {})",
            paranoid.map_or_else(|| "unknown".to_string(), |p| p.to_string())
        ),
        Some(1) => "kernel.kptr_restrict is 1, which shows them only to processes with CAP_SYSLOG"
            .to_string(),
        Some(level) => format!("kernel.kptr_restrict is {level}, which hides them from everyone"),
        None => "kernel.kptr_restrict could not be read".to_string(),
    };
    format!(
        "kernel frames are shown as {UNKNOWN}: /proc/kallsyms lists every address as 0 ({why}); fix: `sudo sysctl kernel.kptr_restrict=0` and run as root or with CAP_SYSLOG, or lower kernel.perf_event_paranoid to 1"
    )
}

/// The kernel's symbols, from `/proc/kallsyms`.
#[derive(Debug, Default)]
pub(crate) struct Kallsyms {
    /// `(address, whether it is code, name)`, sorted by address.
    symbols: Vec<(u64, bool, Box<str>)>,
    /// Whether every address is zero: `kernel.kptr_restrict` hides them.
    hidden: bool,
}

impl Kallsyms {
    /// Reads `/proc/kallsyms`; an error says why it could not be read.
    pub fn read() -> Result<Kallsyms, String> {
        std::fs::read_to_string("/proc/kallsyms")
            .map(|text| Kallsyms::parse(&text))
            .map_err(|e| {
                format!("kernel frames are shown as {UNKNOWN}: cannot read /proc/kallsyms: {e}")
            })
    }

    /// Parses the text of `/proc/kallsyms`: `ADDRESS TYPE NAME [MODULE]` a
    /// line. Every symbol bounds the one before it; only code (types `t`,
    /// `T`, `w`, `W`) names an address.
    pub fn parse(text: &str) -> Kallsyms {
        let mut symbols = Vec::new();
        let mut lines = 0;
        for line in text.lines() {
            let mut fields = line.split_whitespace();
            let (Some(addr), Some(kind), Some(name)) =
                (fields.next(), fields.next(), fields.next())
            else {
                continue;
            };
            let Ok(addr) = u64::from_str_radix(addr, 16) else {
                continue;
            };
            lines += 1;
            if addr == 0 {
                continue;
            }
            let code = matches!(kind, "t" | "T" | "w" | "W");
            symbols.push((addr, code, Box::from(name)));
        }
        // Several names for one address: the first listed, usually the
        // global one, stays first after a stable sort.
        symbols.sort_by_key(|s| s.0);
        Kallsyms {
            hidden: lines > 0 && symbols.is_empty(),
            symbols,
        }
    }

    /// Whether every address was zero.
    pub fn hidden(&self) -> bool {
        self.hidden
    }

    /// The function that holds `addr`: the last symbol at or below it, if
    /// that symbol is code.
    pub fn name(&self, addr: u64) -> Option<&str> {
        let after = self.symbols.partition_point(|s| s.0 <= addr);
        let at = self.symbols[..after].last()?.0;
        // Among symbols at the same address, a code one names it.
        self.symbols[..after]
            .iter()
            .rev()
            .take_while(|s| s.0 == at)
            .filter(|s| s.1)
            .last()
            .map(|s| &*s.2)
    }

    /// The frame name of kernel address `addr`.
    pub fn frame(&self, addr: u64) -> String {
        match self.name(addr) {
            Some(name) => format!("{name}{SUFFIX}"),
            None => UNKNOWN.to_string(),
        }
    }
}

/// `kernel.kptr_restrict` and `kernel.perf_event_paranoid`, where readable.
pub(crate) fn restrictions() -> (Option<i32>, Option<i32>) {
    let read = |name: &str| {
        std::fs::read_to_string(format!("/proc/sys/kernel/{name}"))
            .ok()
            .and_then(|t| t.trim().parse().ok())
    };
    (read("kptr_restrict"), read("perf_event_paranoid"))
}

#[cfg(test)]
mod tests {
    use super::*;

    const K1: u64 = 0xffff_ffff_8100_1000;
    const K2: u64 = 0xffff_ffff_8100_2000;

    #[test]
    fn chains_keep_the_kernel_section_only_when_asked() {
        let chain = [
            PERF_CONTEXT_KERNEL,
            K1,
            K2,
            PERF_CONTEXT_USER,
            0x401000,
            0x402000,
        ];
        assert_eq!(
            sample_chain(&chain, true),
            Some(vec![K1, K2, 0x401000, 0x402000])
        );
        assert_eq!(sample_chain(&chain, false), Some(vec![0x401000, 0x402000]));
        // A sample with no user stack (a task exiting): the kernel's alone.
        assert_eq!(
            sample_chain(&[PERF_CONTEXT_KERNEL, K1], true),
            Some(vec![K1])
        );
        assert_eq!(sample_chain(&[PERF_CONTEXT_KERNEL, K1], false), None);
        // A guest's section, and a bogus kernel address among user frames.
        let guest = (-2048i64) as u64;
        for kernel in [true, false] {
            assert_eq!(
                sample_chain(&[guest, 0x1234, PERF_CONTEXT_USER, K1, 0x401000], kernel),
                Some(vec![0x401000])
            );
        }
        // No markers at all: the user's.
        assert_eq!(sample_chain(&[0x401000], true), Some(vec![0x401000]));
        assert_eq!(sample_chain(&[], true), None);
    }

    #[test]
    fn kernel_addresses_are_the_upper_half() {
        assert!(is_kernel_address(K1));
        assert!(!is_kernel_address(0x7fff_ffff_f000));
        assert!(!is_kernel_address(0));
    }

    fn facts(paranoid: i32, perfmon: bool, admin: bool, euid: u32) -> AccessFacts {
        AccessFacts {
            paranoid: Some(paranoid),
            seccomp: Some(0),
            cap_perfmon: perfmon,
            cap_sys_admin: admin,
            euid,
        }
    }

    #[test]
    fn kernel_sampling_is_refused_at_paranoid_2_without_capabilities() {
        let why = refusal(&facts(2, false, false, 1000)).expect("refused");
        assert!(why.contains("`kernel_frames`"), "{why}");
        assert!(why.contains("perf_event_paranoid is 2"), "{why}");
        assert!(why.contains("cap_perfmon"), "{why}");
        assert!(why.contains("user frames only"), "{why}");
        assert!(refusal(&facts(3, false, false, 1000)).is_some());
        // Levels 1 and below allow it to anyone; capabilities at any level.
        assert!(refusal(&facts(1, false, false, 1000)).is_none());
        assert!(refusal(&facts(-1, false, false, 1000)).is_none());
        assert!(refusal(&facts(2, true, false, 1000)).is_none());
        assert!(refusal(&facts(3, false, true, 0)).is_none());
        // Root without the capabilities (a default container) is refused.
        assert!(refusal(&facts(2, false, false, 0)).is_some());
        // An unknown level is left to the kernel to decide.
        let unknown = AccessFacts {
            paranoid: None,
            ..facts(2, false, false, 1000)
        };
        assert!(refusal(&unknown).is_none());
    }

    #[test]
    fn hidden_addresses_name_the_setting() {
        assert!(hidden_reason(Some(1), Some(2)).contains("kptr_restrict is 1"));
        assert!(hidden_reason(Some(2), Some(-1)).contains("hides them from everyone"));
        let zero = hidden_reason(Some(0), Some(2));
        assert!(zero.contains("(it is 2)"), "{zero}");
        assert!(zero.contains("sysctl"), "{zero}");
        assert!(hidden_reason(None, None).contains("could not be read"));
    }

    #[test]
    fn kallsyms_names_the_function_around_an_address() {
        let text = "\
ffffffff81000000 T _text
ffffffff81000000 T _stext
ffffffff81001000 T ksys_write
ffffffff81001800 t do_thing\t[ext4]
ffffffff81002000 D some_data
ffffffff81003000 W weak_fn
garbage
";
        let k = Kallsyms::parse(text);
        assert!(!k.hidden());
        assert_eq!(k.name(0xffff_ffff_8100_0010), Some("_text"));
        assert_eq!(k.name(0xffff_ffff_8100_1000), Some("ksys_write"));
        assert_eq!(k.name(0xffff_ffff_8100_17ff), Some("ksys_write"));
        assert_eq!(k.name(0xffff_ffff_8100_1900), Some("do_thing"));
        // Data bounds the code before it and names nothing.
        assert_eq!(k.name(0xffff_ffff_8100_2100), None);
        assert_eq!(k.name(0xffff_ffff_8100_3004), Some("weak_fn"));
        assert_eq!(k.name(0x1000), None);
        assert_eq!(k.frame(0xffff_ffff_8100_1004), "ksys_write_[k]");
        assert_eq!(k.frame(0x1000), UNKNOWN);
    }

    #[test]
    fn zero_addresses_mean_hidden() {
        let k = Kallsyms::parse("0000000000000000 T _text\n0000000000000000 T ksys_write\n");
        assert!(k.hidden());
        assert_eq!(k.name(0xffff_ffff_8100_1000), None);
        assert!(!Kallsyms::parse("").hidden());
    }

    /// This machine's own table, where it can be read: named, or hidden.
    #[test]
    fn reads_this_machines_table() {
        if let Ok(k) = Kallsyms::read()
            && !k.hidden()
        {
            assert!(k.symbols.len() > 1000, "{} symbols", k.symbols.len());
        }
    }
}
