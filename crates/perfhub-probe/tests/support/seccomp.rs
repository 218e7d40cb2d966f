//! A seccomp filter that makes `perf_event_open` fail, to simulate a
//! machine that refuses it (a container's seccomp profile) in tests.
//!
//! [`install_perf_event_open_refusal`] needs only the `libc` crate; the
//! end-to-end tests of the `perfhub` binary include this file too.

/// Installs, in the calling process, a seccomp filter under which every
/// `perf_event_open` fails with `errno` and every other system call is
/// allowed. The filter is inherited across `fork` and kept across `exec`,
/// and cannot be removed.
///
/// Meant for a `pre_exec` closure of `std::process::Command`:
///
/// ```text
/// use std::os::unix::process::CommandExt;
/// let mut cmd = std::process::Command::new("perfhub");
/// // SAFETY: the installer only makes two prctl calls and allocates nothing.
/// unsafe { cmd.pre_exec(|| install_perf_event_open_refusal(libc::EACCES)) };
/// ```
///
/// It is async-signal-safe: it allocates nothing (the program lives on the
/// stack and errors are plain OS errors) and calls only `prctl`. It sets
/// `no_new_privs` first, which lets an unprivileged process install a filter
/// and makes set-uid programs started afterwards run without their extra
/// privileges.
///
/// The filter checks the architecture in `seccomp_data` and answers only
/// native system calls: on x86_64 `perf_event_open` is 298 (also refused in
/// the x32 ABI, 298 with bit 30 set); on aarch64 it is 241. Calls made
/// through another ABI (32-bit `int 0x80` on x86_64) are let through.
///
/// Errors: `EINVAL` when `errno` is outside 1..=4095, `EOPNOTSUPP` on
/// other architectures, and whatever `prctl` answers (`EINVAL` on a kernel
/// without `CONFIG_SECCOMP_FILTER`).
pub fn install_perf_event_open_refusal(errno: i32) -> std::io::Result<()> {
    #[cfg(target_arch = "x86_64")]
    const ARCH: u32 = 0xC000_003E; // AUDIT_ARCH_X86_64
    #[cfg(target_arch = "x86_64")]
    const NR: u32 = 298;
    #[cfg(target_arch = "x86_64")]
    const NR_ALT: u32 = 298 | 0x4000_0000; // __X32_SYSCALL_BIT
    #[cfg(target_arch = "aarch64")]
    const ARCH: u32 = 0xC000_00B7; // AUDIT_ARCH_AARCH64
    #[cfg(target_arch = "aarch64")]
    const NR: u32 = 241;
    #[cfg(target_arch = "aarch64")]
    const NR_ALT: u32 = 241;
    #[cfg(not(any(target_arch = "x86_64", target_arch = "aarch64")))]
    {
        let _ = errno;
        return Err(std::io::Error::from_raw_os_error(libc::EOPNOTSUPP));
    }
    #[cfg(any(target_arch = "x86_64", target_arch = "aarch64"))]
    {
        // Offsets in struct seccomp_data.
        const OFFSET_NR: u32 = 0;
        const OFFSET_ARCH: u32 = 4;
        const LD_W_ABS: u16 = (libc::BPF_LD | libc::BPF_W | libc::BPF_ABS) as u16;
        const JEQ_K: u16 = (libc::BPF_JMP | libc::BPF_JEQ | libc::BPF_K) as u16;
        const RET_K: u16 = (libc::BPF_RET | libc::BPF_K) as u16;
        const fn op(code: u16, jt: u8, jf: u8, k: u32) -> libc::sock_filter {
            libc::sock_filter { code, jt, jf, k }
        }

        // SECCOMP_RET_DATA holds the errno; 4095 is the largest errno
        // the kernel's error convention can return.
        if !(1..=4095).contains(&errno) {
            return Err(std::io::Error::from_raw_os_error(libc::EINVAL));
        }
        let program: [libc::sock_filter; 7] = [
            /* 0 */ op(LD_W_ABS, 0, 0, OFFSET_ARCH),
            /* 1 */ op(JEQ_K, 0, 4, ARCH), // another ABI: allow (6)
            /* 2 */ op(LD_W_ABS, 0, 0, OFFSET_NR),
            /* 3 */ op(JEQ_K, 1, 0, NR), // refuse (5)
            /* 4 */ op(JEQ_K, 0, 1, NR_ALT), // refuse (5), else allow (6)
            /* 5 */ op(RET_K, 0, 0, libc::SECCOMP_RET_ERRNO | errno as u32),
            /* 6 */ op(RET_K, 0, 0, libc::SECCOMP_RET_ALLOW),
        ];
        let fprog = libc::sock_fprog {
            len: program.len() as libc::c_ushort,
            filter: program.as_ptr().cast_mut(),
        };
        // SAFETY: plain prctl calls; fprog and the program it points to
        // outlive the call, and the kernel copies the program.
        unsafe {
            if libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1 as libc::c_ulong, 0, 0, 0) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            if libc::prctl(
                libc::PR_SET_SECCOMP,
                libc::SECCOMP_MODE_FILTER as libc::c_ulong,
                &fprog as *const libc::sock_fprog as libc::c_ulong,
                0 as libc::c_ulong,
                0 as libc::c_ulong,
            ) != 0
            {
                return Err(std::io::Error::last_os_error());
            }
        }
        Ok(())
    }
}
