//! Why the kernel refused `perf_event_open`, and what would fix it.
//!
//! An errno alone is ambiguous: `EACCES` may come from
//! `kernel.perf_event_paranoid`, a seccomp filter, a security module or a
//! user namespace. [`AccessFacts`] gathers what decides it (the paranoid
//! level, the seccomp mode, the effective capabilities, the effective uid)
//! and [`diagnose`] turns an errno and those facts into one sentence that
//! names the cause and the fix. [`diagnose`] is pure, so every branch is
//! tested with constructed facts; only [`AccessFacts::read`] asks the OS.

/// The paranoid level, seccomp mode and privileges that decide whether the
/// kernel lets this process call `perf_event_open`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct AccessFacts {
    /// `kernel.perf_event_paranoid` (`/proc/sys/kernel/perf_event_paranoid`),
    /// or `None` where it cannot be read, as on a kernel without perf events.
    pub paranoid: Option<i32>,
    /// The seccomp mode from the `Seccomp:` line of `/proc/self/status`:
    /// 0 (none), 1 (strict) or 2 (filter); `None` where it cannot be read.
    pub seccomp: Option<u8>,
    /// Whether `CAP_PERFMON` (bit 38 of `CapEff`) is effective.
    pub cap_perfmon: bool,
    /// Whether `CAP_SYS_ADMIN` (bit 21 of `CapEff`) is effective.
    pub cap_sys_admin: bool,
    /// The effective user id.
    pub euid: u32,
}

/// The `CapEff` bit of `CAP_SYS_ADMIN`.
const CAP_SYS_ADMIN_BIT: u32 = 21;
/// The `CapEff` bit of `CAP_PERFMON` (Linux 5.8 and later).
const CAP_PERFMON_BIT: u32 = 38;

impl AccessFacts {
    /// Reads the facts of this process: `/proc/sys/kernel/perf_event_paranoid`,
    /// `/proc/self/status` and `geteuid`.
    ///
    /// Where `CapEff` cannot be read, the capabilities are taken to be those
    /// root normally holds (all of them for uid 0, none otherwise).
    pub fn read() -> AccessFacts {
        let paranoid = std::fs::read_to_string("/proc/sys/kernel/perf_event_paranoid").ok();
        let status = std::fs::read_to_string("/proc/self/status").ok();
        // SAFETY: geteuid has no preconditions and cannot fail.
        let euid = unsafe { libc::geteuid() };
        AccessFacts::parse(paranoid.as_deref(), status.as_deref(), euid)
    }

    /// Builds the facts from the text of `perf_event_paranoid` and of
    /// `/proc/<pid>/status` (each `None` where it could not be read).
    pub fn parse(paranoid: Option<&str>, status: Option<&str>, euid: u32) -> AccessFacts {
        let paranoid = paranoid.and_then(|t| t.trim().parse::<i32>().ok());
        let field = |name: &str| {
            status?.lines().find_map(|line| {
                let (key, value) = line.split_once(':')?;
                (key == name).then(|| value.trim())
            })
        };
        let seccomp = field("Seccomp").and_then(|v| v.parse::<u8>().ok());
        let (cap_perfmon, cap_sys_admin) =
            match field("CapEff").and_then(|v| u64::from_str_radix(v, 16).ok()) {
                Some(caps) => (
                    caps & (1 << CAP_PERFMON_BIT) != 0,
                    caps & (1 << CAP_SYS_ADMIN_BIT) != 0,
                ),
                None => (euid == 0, euid == 0),
            };
        AccessFacts {
            paranoid,
            seccomp,
            cap_perfmon,
            cap_sys_admin,
            euid,
        }
    }

    /// Whether the process holds `CAP_PERFMON` or `CAP_SYS_ADMIN`, which
    /// lift every `perf_event_paranoid` restriction.
    pub fn privileged(&self) -> bool {
        self.cap_perfmon || self.cap_sys_admin
    }
}

/// Whether the kernel will refuse events that include kernel mode, so a
/// caller can ask for user-only counting or sampling (`exclude_kernel`) up
/// front instead of being refused first.
///
/// That is the case when `kernel.perf_event_paranoid` is 2 or higher and the
/// process holds neither `CAP_PERFMON` nor `CAP_SYS_ADMIN`. The kernel checks
/// capabilities, not the uid: root without them (the default in a Docker
/// container) is refused too, so `euid` only matters through
/// [`AccessFacts::parse`], which assumes root's usual capabilities where
/// `CapEff` could not be read. An unknown paranoid level answers `false`.
pub fn exclude_kernel_needed(facts: &AccessFacts) -> bool {
    facts.paranoid.is_some_and(|p| p >= 2) && !facts.privileged()
}

/// Whether the refused event counted kernel mode, where the caller knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum KernelMode {
    /// Not known: the diagnosis covers both cases.
    #[default]
    Unknown,
    /// The event counted kernel mode too (`exclude_kernel` clear).
    Included,
    /// The event counted user mode only (`exclude_kernel` set).
    Excluded,
}

/// The fix for `kernel.perf_event_paranoid`, shared by several diagnoses.
const GRANT_PERFMON: &str =
    "grant CAP_PERFMON (`sudo setcap cap_perfmon+ep <perfhub>`; CAP_SYS_ADMIN before Linux 5.8)";

/// Says exactly why `perf_event_open` failed with `errno`, given `facts`,
/// and what would fix it.
///
/// Pure: the same arguments always give the same words. See
/// [`diagnose_event`] where the caller knows whether the event counted
/// kernel mode.
pub fn diagnose(errno: i32, facts: &AccessFacts) -> String {
    diagnose_event(errno, facts, KernelMode::Unknown)
}

/// [`diagnose`] for an event whose kernel-mode setting is `kernel`, which
/// tells a `perf_event_paranoid` 2 refusal from other causes.
pub fn diagnose_event(errno: i32, facts: &AccessFacts, kernel: KernelMode) -> String {
    let filtered = facts.seccomp == Some(2);
    match errno {
        libc::EACCES | libc::EPERM => permission(errno, facts, kernel),
        libc::ENOSYS if filtered => seccomp_filter(errno),
        libc::ENOSYS => {
            let evidence = match facts.paranoid {
                None => {
                    " (/proc/sys/kernel/perf_event_paranoid does not exist either, which confirms it)"
                }
                Some(_) => "",
            };
            format!(
                "perf_event_open does not exist here (ENOSYS): the kernel was built without CONFIG_PERF_EVENTS{evidence}, or a sandbox kernel such as gVisor does not implement it; fix: run on a kernel built with CONFIG_PERF_EVENTS=y (every major distribution's is), outside such a sandbox"
            )
        }
        libc::ENOENT => "not supported here: the kernel knows no such event on this machine (ENOENT), as with hardware counters in a virtual machine whose hypervisor does not expose the CPU's performance counters; fix: run on bare metal or enable PMU pass-through (KVM/QEMU: `-cpu host`; VMware: \"Virtualize CPU performance counters\"); software counters still work".to_string(),
        libc::EOPNOTSUPP => "not supported here: the CPU's performance monitoring unit cannot do what the event asks (EOPNOTSUPP), as in a virtual machine with a partial virtual PMU or a PMU without sampling interrupts; fix: run on bare metal or enable full PMU pass-through (KVM/QEMU: `-cpu host`); software counters still work".to_string(),
        libc::EMFILE => "this process has no file descriptors left (EMFILE): every counter takes one per thread or CPU; fix: raise the limit before starting perfhub, e.g. `ulimit -n 65536` (or LimitNOFILE= in a systemd unit)".to_string(),
        libc::ENFILE => "the system-wide file table is full (ENFILE): no process can open another file; fix: close other programs' files, or raise the limit with `sudo sysctl fs.file-max=<more>`; check `ulimit -n` too".to_string(),
        libc::EINVAL => "the kernel rejected the event's configuration (EINVAL): one of its attributes is not supported by this kernel or CPU, or the sampling frequency exceeds kernel.perf_event_max_sample_rate; fix: lower the frequency (or raise the limit with `sudo sysctl kernel.perf_event_max_sample_rate=<hz>`), or drop the option this kernel lacks by running on a newer kernel".to_string(),
        libc::E2BIG => "the kernel does not understand the event's attribute structure (E2BIG): it is older than the perf_event ABI perfhub uses; fix: run on a newer kernel".to_string(),
        libc::EBUSY => "the performance counters are in exclusive use by another program (EBUSY), such as another profiler or a hypervisor agent; fix: stop that program, then run perfhub again".to_string(),
        libc::EOVERFLOW => "the requested call-chain depth exceeds kernel.perf_event_max_stack (EOVERFLOW); fix: raise it with `sudo sysctl kernel.perf_event_max_stack=<depth>`, or ask for shallower stacks".to_string(),
        libc::ENODEV => "the event needs a feature this CPU lacks (ENODEV), such as branch sampling; fix: run on a CPU that has it, or leave the feature out".to_string(),
        libc::ESRCH => "the process to observe no longer exists (ESRCH): it exited before its counters were opened; fix: make sure the command keeps running until it is measured".to_string(),
        _ => {
            let name = errno_name(errno);
            let text = std::io::Error::from_raw_os_error(errno);
            format!(
                "perf_event_open failed with {name} ({text}), which perfhub has no diagnosis for; fix: check that `perf stat -e task-clock true` works on this machine, and look at `dmesg` for the kernel's reason"
            )
        }
    }
}

/// `EACCES` and `EPERM`: the kernel, a seccomp filter or a security module.
fn permission(errno: i32, facts: &AccessFacts, kernel: KernelMode) -> String {
    let name = errno_name(errno);
    let filtered = facts.seccomp == Some(2);
    // What perf_event_paranoid alone would refuse this process.
    let paranoid_cause = match facts.paranoid {
        _ if facts.privileged() => None,
        Some(p) if p >= 3 => Some(format!(
            "kernel.perf_event_paranoid is {p}, which forbids perf_event_open to processes without CAP_PERFMON ({name}); fix: `sudo sysctl kernel.perf_event_paranoid=2` (or lower), or {GRANT_PERFMON}"
        )),
        Some(2) if kernel != KernelMode::Excluded => Some(format!(
            "kernel.perf_event_paranoid is 2, which lets processes without CAP_PERFMON measure user space only, and {} ({name}); fix: measure user space only (perfhub can retry the event with exclude_kernel set), or, to measure the kernel too, `sudo sysctl kernel.perf_event_paranoid=1` (or lower), or {GRANT_PERFMON}",
            match kernel {
                KernelMode::Included => "this event counted kernel mode too",
                _ => "events that count kernel mode are refused",
            }
        )),
        _ => None,
    };
    let also_filtered = "; this process also runs under a seccomp filter (Seccomp: 2 in /proc/self/status), which may block perf_event_open as well: in a container, allow perf_event_open in its seccomp profile (Docker: --security-opt seccomp=unconfined, or --cap-add PERFMON with Docker 20.10+)";
    match paranoid_cause {
        // Docker's and most runtimes' filters answer EPERM; the kernel's
        // paranoid check answers EACCES.
        Some(cause) if filtered && errno == libc::EPERM => {
            format!("{}; {cause}", seccomp_filter(errno))
        }
        Some(cause) if filtered => format!("{cause}{also_filtered}"),
        Some(cause) => cause,
        None if filtered => seccomp_filter(errno),
        None if facts.privileged() => format!(
            "perf_event_open was refused ({name}) although this process holds {}: in a user namespace (a rootless or user-namespaced container) those capabilities do not count for perf_event_open, or a security module (SELinux, AppArmor) or kernel lockdown denies it; fix: run perfhub in the initial user namespace (on the host, or in a container without user namespace remapping), or allow perf_event in the security policy (see `dmesg` or `ausearch -m avc` for the denial)",
            if facts.cap_perfmon {
                "CAP_PERFMON"
            } else {
                "CAP_SYS_ADMIN"
            }
        ),
        None => {
            let level = match facts.paranoid {
                Some(p) => format!(
                    "kernel.perf_event_paranoid is {p}, which allows measuring this process's own user space, yet"
                ),
                None => "kernel.perf_event_paranoid could not be read, and".to_string(),
            };
            format!(
                "{level} perf_event_open was refused ({name}): a security module (SELinux, AppArmor) or kernel lockdown denies it, or the observed process belongs to another user; fix: allow perf_event in the security policy (see `dmesg` or `ausearch -m avc` for the denial), or run perfhub as root or with CAP_PERFMON (`sudo setcap cap_perfmon+ep <perfhub>`)"
            )
        }
    }
}

/// A seccomp filter that blocks `perf_event_open`.
fn seccomp_filter(errno: i32) -> String {
    format!(
        "this process runs under a seccomp filter (Seccomp: 2 in /proc/self/status) that blocks perf_event_open ({}); fix: in a container, run with a seccomp profile that allows perf_event_open (Docker: --security-opt seccomp=unconfined, or --cap-add PERFMON with Docker 20.10+); elsewhere, allow it where the filter comes from (a systemd unit's SystemCallFilter=, or a sandbox such as firejail or bubblewrap)",
        errno_name(errno)
    )
}

/// The symbolic name of a Linux errno, such as `EACCES`, or `errno N`.
pub fn errno_name(errno: i32) -> String {
    let name = match errno {
        libc::EPERM => "EPERM",
        libc::ENOENT => "ENOENT",
        libc::ESRCH => "ESRCH",
        libc::EINTR => "EINTR",
        libc::EIO => "EIO",
        libc::ENXIO => "ENXIO",
        libc::E2BIG => "E2BIG",
        libc::EBADF => "EBADF",
        libc::EAGAIN => "EAGAIN",
        libc::ENOMEM => "ENOMEM",
        libc::EACCES => "EACCES",
        libc::EFAULT => "EFAULT",
        libc::EBUSY => "EBUSY",
        libc::EEXIST => "EEXIST",
        libc::EXDEV => "EXDEV",
        libc::ENODEV => "ENODEV",
        libc::EINVAL => "EINVAL",
        libc::ENFILE => "ENFILE",
        libc::EMFILE => "EMFILE",
        libc::ENOSPC => "ENOSPC",
        libc::ERANGE => "ERANGE",
        libc::ENOSYS => "ENOSYS",
        libc::EOVERFLOW => "EOVERFLOW",
        libc::EOPNOTSUPP => "EOPNOTSUPP",
        _ => return format!("errno {errno}"),
    };
    name.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An unprivileged user on a machine with `paranoid` and no seccomp.
    fn user(paranoid: Option<i32>) -> AccessFacts {
        AccessFacts {
            paranoid,
            seccomp: Some(0),
            cap_perfmon: false,
            cap_sys_admin: false,
            euid: 1000,
        }
    }

    fn filtered(mut f: AccessFacts) -> AccessFacts {
        f.seccomp = Some(2);
        f
    }

    fn perfmon(mut f: AccessFacts) -> AccessFacts {
        f.cap_perfmon = true;
        f
    }

    #[test]
    fn paranoid_3_without_capability_names_the_level_and_both_fixes() {
        for p in [3, 4] {
            let m = diagnose(libc::EACCES, &user(Some(p)));
            assert!(
                m.contains(&format!("kernel.perf_event_paranoid is {p}")),
                "{m}"
            );
            assert!(m.contains("sysctl kernel.perf_event_paranoid=2"), "{m}");
            assert!(m.contains("setcap cap_perfmon+ep"), "{m}");
            assert!(!m.contains("seccomp"), "{m}");
        }
        assert_eq!(
            diagnose(libc::EPERM, &user(Some(3))),
            diagnose(libc::EACCES, &user(Some(3))).replace("EACCES", "EPERM")
        );
    }

    #[test]
    fn paranoid_2_says_user_space_only_and_offers_the_retry() {
        for mode in [KernelMode::Unknown, KernelMode::Included] {
            let m = diagnose_event(libc::EACCES, &user(Some(2)), mode);
            assert!(m.contains("kernel.perf_event_paranoid is 2"), "{m}");
            assert!(m.contains("user space only"), "{m}");
            assert!(m.contains("retry"), "{m}");
            assert!(m.contains("sysctl kernel.perf_event_paranoid=1"), "{m}");
        }
        assert!(
            diagnose_event(libc::EACCES, &user(Some(2)), KernelMode::Included)
                .contains("this event counted kernel mode")
        );
    }

    #[test]
    fn a_user_only_event_refused_at_paranoid_2_is_not_blamed_on_the_level() {
        let m = diagnose_event(libc::EACCES, &user(Some(2)), KernelMode::Excluded);
        assert!(!m.contains("retry"), "{m}");
        assert!(m.contains("security module"), "{m}");
        assert!(m.contains("paranoid is 2, which allows"), "{m}");
    }

    #[test]
    fn capabilities_lift_the_paranoid_level() {
        for f in [perfmon(user(Some(3))), {
            let mut f = user(Some(3));
            f.cap_sys_admin = true;
            f
        }] {
            let m = diagnose(libc::EACCES, &f);
            assert!(!m.contains("sysctl"), "{m}");
            assert!(m.contains("user namespace"), "{m}");
            assert!(m.contains("SELinux"), "{m}");
        }
        assert!(diagnose(libc::EACCES, &perfmon(user(Some(3)))).contains("holds CAP_PERFMON"));
    }

    #[test]
    fn low_paranoid_levels_point_at_security_modules() {
        for p in [-1, 0, 1] {
            let m = diagnose(libc::EACCES, &user(Some(p)));
            assert!(m.contains(&format!("paranoid is {p}, which allows")), "{m}");
            assert!(m.contains("SELinux") && m.contains("fix:"), "{m}");
        }
        let m = diagnose(libc::EPERM, &user(None));
        assert!(m.contains("could not be read"), "{m}");
        assert!(m.contains("(EPERM)"), "{m}");
    }

    #[test]
    fn a_seccomp_filter_is_named_with_the_container_fix() {
        let privileged_root = AccessFacts {
            paranoid: Some(2),
            seccomp: Some(2),
            cap_perfmon: true,
            cap_sys_admin: true,
            euid: 0,
        };
        for errno in [libc::EACCES, libc::EPERM, libc::ENOSYS] {
            for f in [
                privileged_root,
                filtered(user(Some(1))),
                filtered(user(None)),
            ] {
                let m = diagnose(errno, &f);
                assert!(
                    m.starts_with("this process runs under a seccomp filter (Seccomp: 2 in /proc/self/status) that blocks perf_event_open"),
                    "{m}"
                );
                assert!(m.contains("--security-opt seccomp=unconfined"), "{m}");
                assert!(m.contains("--cap-add PERFMON"), "{m}");
            }
        }
    }

    #[test]
    fn seccomp_and_paranoid_together_lead_with_the_likelier_cause() {
        // EPERM is what seccomp filters answer: the filter comes first.
        let m = diagnose(libc::EPERM, &filtered(user(Some(3))));
        assert!(
            m.starts_with("this process runs under a seccomp filter"),
            "{m}"
        );
        assert!(m.contains("kernel.perf_event_paranoid is 3"), "{m}");
        // EACCES is what the paranoid check answers: the level comes first.
        let m = diagnose(libc::EACCES, &filtered(user(Some(3))));
        assert!(m.starts_with("kernel.perf_event_paranoid is 3"), "{m}");
        assert!(m.contains("seccomp filter (Seccomp: 2"), "{m}");
        assert!(m.contains("seccomp=unconfined"), "{m}");
    }

    #[test]
    fn enosys_without_seccomp_is_a_kernel_without_perf_events() {
        let m = diagnose(libc::ENOSYS, &user(Some(2)));
        assert!(m.contains("CONFIG_PERF_EVENTS"), "{m}");
        assert!(!m.contains("seccomp"), "{m}");
        assert!(!m.contains("confirms"), "{m}");
        let m = diagnose(libc::ENOSYS, &user(None));
        assert!(m.contains("does not exist either"), "{m}");
        // Strict mode kills on any other syscall; only a filter answers ENOSYS.
        let mut strict = user(Some(2));
        strict.seccomp = Some(1);
        assert!(diagnose(libc::ENOSYS, &strict).contains("CONFIG_PERF_EVENTS"));
    }

    #[test]
    fn missing_events_say_not_supported_here_and_mention_virtual_machines() {
        for errno in [libc::ENOENT, libc::EOPNOTSUPP] {
            let m = diagnose(errno, &user(Some(2)));
            // Also read as "hardware counters (...) are unavailable: {reason}".
            assert!(m.starts_with("not supported here"), "{m}");
            assert!(m.contains("virtual machine"), "{m}");
            assert!(m.contains("-cpu host"), "{m}");
            assert!(m.contains(&errno_name(errno)), "{m}");
        }
    }

    #[test]
    fn descriptor_limits_suggest_ulimit() {
        let m = diagnose(libc::EMFILE, &user(Some(2)));
        assert!(m.contains("EMFILE") && m.contains("ulimit -n"), "{m}");
        let m = diagnose(libc::ENFILE, &user(Some(2)));
        assert!(m.contains("ENFILE") && m.contains("fs.file-max"), "{m}");
    }

    #[test]
    fn other_known_errnos_name_cause_and_fix() {
        for (errno, needle) in [
            (libc::EINVAL, "perf_event_max_sample_rate"),
            (libc::E2BIG, "newer kernel"),
            (libc::EBUSY, "exclusive"),
            (libc::EOVERFLOW, "perf_event_max_stack"),
            (libc::ENODEV, "CPU lacks"),
            (libc::ESRCH, "no longer exists"),
        ] {
            let m = diagnose(errno, &user(Some(2)));
            assert!(m.contains(&errno_name(errno)), "{m}");
            assert!(m.contains(needle) && m.contains("fix:"), "{m}");
        }
    }

    #[test]
    fn unknown_errnos_are_named() {
        let m = diagnose(libc::EXDEV, &user(Some(2)));
        assert!(m.contains("EXDEV") && m.contains("fix:"), "{m}");
        let m = diagnose(9999, &user(Some(2)));
        assert!(m.contains("errno 9999") && m.contains("fix:"), "{m}");
        // Negative or absurd numbers do not panic.
        assert!(diagnose(-5, &AccessFacts::default()).contains("errno -5"));
    }

    #[test]
    fn every_message_names_a_fix() {
        let facts = [
            user(Some(3)),
            user(Some(2)),
            user(Some(1)),
            user(None),
            perfmon(user(Some(3))),
            filtered(user(Some(3))),
            filtered(perfmon(user(Some(2)))),
        ];
        for errno in 0..140 {
            for f in &facts {
                for mode in [
                    KernelMode::Unknown,
                    KernelMode::Included,
                    KernelMode::Excluded,
                ] {
                    let m = diagnose_event(errno, f, mode);
                    assert!(m.contains("fix:"), "{errno}: {m}");
                }
            }
        }
    }

    #[test]
    fn exclude_kernel_is_needed_at_paranoid_2_without_capabilities() {
        assert!(exclude_kernel_needed(&user(Some(2))));
        assert!(exclude_kernel_needed(&user(Some(3))));
        assert!(!exclude_kernel_needed(&user(Some(1))));
        assert!(!exclude_kernel_needed(&user(Some(-1))));
        assert!(!exclude_kernel_needed(&user(None)));
        assert!(!exclude_kernel_needed(&perfmon(user(Some(3)))));
        let mut admin = user(Some(2));
        admin.cap_sys_admin = true;
        assert!(!exclude_kernel_needed(&admin));
        // Root without the capabilities (a default Docker container) is refused.
        let mut container_root = user(Some(2));
        container_root.euid = 0;
        assert!(exclude_kernel_needed(&container_root));
    }

    const STATUS: &str = "Name:\tcat\nUmask:\t0022\nState:\tR (running)\nUid:\t1000\t1000\t1000\t1000\nCapInh:\t0000000000000000\nCapPrm:\t0000000000000000\nCapEff:\t0000004000000000\nCapBnd:\t000001ffffffffff\nNoNewPrivs:\t1\nSeccomp:\t2\nSeccomp_filters:\t1\n";

    #[test]
    fn parses_status_and_paranoid() {
        let f = AccessFacts::parse(Some("2\n"), Some(STATUS), 1000);
        assert_eq!(
            f,
            AccessFacts {
                paranoid: Some(2),
                seccomp: Some(2),
                cap_perfmon: true,
                cap_sys_admin: false,
                euid: 1000,
            }
        );
        let root = STATUS.replace("0000004000000000", "000001fffeffffff");
        let f = AccessFacts::parse(Some("-1"), Some(&root), 0);
        assert!(f.cap_perfmon && f.cap_sys_admin);
        assert_eq!(f.paranoid, Some(-1));
        // Docker's default capability set: neither capability.
        let docker = STATUS.replace("0000004000000000", "00000000a80425fb");
        let f = AccessFacts::parse(Some("2"), Some(&docker), 0);
        assert!(!f.cap_perfmon && !f.cap_sys_admin);
    }

    #[test]
    fn unreadable_or_garbled_sources_give_unknowns() {
        let f = AccessFacts::parse(None, None, 1000);
        assert_eq!(
            f,
            AccessFacts {
                seccomp: None,
                ..user(None)
            }
        );
        let f = AccessFacts::parse(None, None, 0);
        assert!(
            f.cap_perfmon && f.cap_sys_admin,
            "root is assumed privileged"
        );
        let f = AccessFacts::parse(
            Some("high"),
            Some("Seccomp:\tlots\nCapEff:\tzz\nSeccomp_filters:\t1"),
            1000,
        );
        assert_eq!((f.paranoid, f.seccomp, f.cap_perfmon), (None, None, false));
        // A prefix of a field name is not the field.
        let f = AccessFacts::parse(Some("2"), Some("Seccomp_filters:\t1\n"), 1000);
        assert_eq!(f.seccomp, None);
    }

    #[test]
    fn reads_this_machine_without_panicking() {
        let f = AccessFacts::read();
        // SAFETY: geteuid has no preconditions.
        assert_eq!(f.euid, unsafe { libc::geteuid() });
        assert!(f.seccomp.is_none_or(|s| s <= 2));
    }
}
