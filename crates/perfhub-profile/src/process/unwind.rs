//! DWARF call-frame unwinding of the user stacks that samples carry.
//!
//! With `PERF_SAMPLE_REGS_USER | PERF_SAMPLE_STACK_USER` every sample holds
//! the user registers ([`REGS_MASK`]) and a copy of the top of the user stack.
//! [`DwarfUnwinder`] knows, for every sampled process, the executable files
//! mapped into it, and walks that copy with framehop and the files'
//! call-frame information: `.eh_frame` (indexed by `.eh_frame_hdr`), or
//! `.debug_frame` where it describes more functions (code built with
//! `-fno-asynchronous-unwind-tables`). Programs built without frame pointers
//! still get whole call chains; code without call-frame information (JIT
//! code, hand-written assembly) falls back to frame pointers.
//!
//! Unwinding reads the files, never the sampled process (the vDSO, which has
//! no file, is read from this process: the kernel maps the same image into
//! every process). Each file is read once, headers and unwind sections only,
//! and its sections are shared by every process that maps it; each process
//! keeps framehop's rule cache, so a warm unwind costs well under a
//! microsecond in a release build.
//!
//! The registers, the ELF machine and framehop's unwinder are those of the
//! architecture perfhub is built for: x86_64 (bp, sp, ip), or aarch64 (x29,
//! x30, sp, pc, with pointer-authentication bits stripped from return
//! addresses). Only the x86_64 build is run by the test suite; the aarch64
//! one is compile-checked (`cargo check --target aarch64-unknown-linux-gnu`).

use std::collections::{BTreeMap, HashMap};
use std::fs::File;
use std::ops::Range;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use framehop::{ExplicitModuleSectionInfo, FrameAddress, Module, Unwinder};
use object::elf::{FileHeader64, PF_X, PT_LOAD, SHF_COMPRESSED};
use object::read::elf::{FileHeader, ProgramHeader, SectionHeader};
use object::{LittleEndian, ReadCache, ReadRef};

use super::Mapping;

pub(crate) use arch::REGS_MASK;
use arch::{Cache, EM_MACHINE, PAGE_SIZE, UnwinderArch};

/// What differs between x86_64 and aarch64: the registers, the ELF machine,
/// framehop's unwinder, the page size.
#[cfg(not(target_arch = "aarch64"))]
mod arch {
    use framehop::x86_64::UnwindRegsX86_64;
    pub(super) use framehop::x86_64::{CacheX86_64 as Cache, UnwinderX86_64 as UnwinderArch};

    use super::UserRegs;

    /// `PERF_REG_X86_BP` in `perf_regs.h`.
    const PERF_REG_X86_BP: u32 = 6;
    /// `PERF_REG_X86_SP` in `perf_regs.h`.
    const PERF_REG_X86_SP: u32 = 7;
    /// `PERF_REG_X86_IP` in `perf_regs.h`.
    const PERF_REG_X86_IP: u32 = 8;

    /// `perf_event_attr.sample_regs_user` for x86_64: the frame pointer, the
    /// stack pointer and the instruction pointer, all DWARF unwinding starts
    /// from.
    pub(crate) const REGS_MASK: u64 =
        (1 << PERF_REG_X86_BP) | (1 << PERF_REG_X86_SP) | (1 << PERF_REG_X86_IP);

    /// The ELF machine of the binaries unwound.
    pub(super) const EM_MACHINE: object::elf::Machine = object::elf::EM_X86_64;

    /// The page size of x86_64, to which `mmap` aligns file offsets.
    pub(super) const PAGE_SIZE: u64 = 4096;

    /// Decodes the register values a sample carries, in ascending bit order
    /// of [`REGS_MASK`]: bp, sp, ip.
    pub(super) fn decode(values: &[u64]) -> Option<UserRegs> {
        match *values {
            [bp, sp, ip] => Some(UserRegs { ip, sp, bp, lr: 0 }),
            _ => None,
        }
    }

    /// framehop's registers for `regs`.
    pub(super) fn unwind_regs(regs: &UserRegs, _max_code_address: u64) -> UnwindRegsX86_64 {
        UnwindRegsX86_64::new(regs.ip, regs.sp, regs.bp)
    }
}

/// What differs between x86_64 and aarch64: the registers, the ELF machine,
/// framehop's unwinder, the page size.
#[cfg(target_arch = "aarch64")]
mod arch {
    pub(super) use framehop::aarch64::{CacheAarch64 as Cache, UnwinderAarch64 as UnwinderArch};
    use framehop::aarch64::{PtrAuthMask, UnwindRegsAarch64};

    use super::UserRegs;

    /// `PERF_REG_ARM64_X29` (the frame pointer) in `perf_regs.h`.
    const PERF_REG_ARM64_X29: u32 = 29;
    /// `PERF_REG_ARM64_LR` (x30, the link register).
    const PERF_REG_ARM64_LR: u32 = 30;
    /// `PERF_REG_ARM64_SP`.
    const PERF_REG_ARM64_SP: u32 = 31;
    /// `PERF_REG_ARM64_PC`.
    const PERF_REG_ARM64_PC: u32 = 32;

    /// `perf_event_attr.sample_regs_user` for aarch64: the frame pointer,
    /// the link register, the stack pointer and the program counter.
    pub(crate) const REGS_MASK: u64 = (1 << PERF_REG_ARM64_X29)
        | (1 << PERF_REG_ARM64_LR)
        | (1 << PERF_REG_ARM64_SP)
        | (1 << PERF_REG_ARM64_PC);

    /// The ELF machine of the binaries unwound.
    pub(super) const EM_MACHINE: object::elf::Machine = object::elf::EM_AARCH64;

    /// The largest page size of aarch64 (64 KiB): file offsets of mappings
    /// are aligned to the page size the kernel runs with (4, 16 or 64 KiB),
    /// and a mapping's offset is matched to a segment within this.
    pub(super) const PAGE_SIZE: u64 = 65536;

    /// Decodes the register values a sample carries, in ascending bit order
    /// of [`REGS_MASK`]: x29, lr, sp, pc.
    pub(super) fn decode(values: &[u64]) -> Option<UserRegs> {
        match *values {
            [fp, lr, sp, pc] => Some(UserRegs {
                ip: pc,
                sp,
                bp: fp,
                lr,
            }),
            _ => None,
        }
    }

    /// framehop's registers for `regs`; return addresses lose the pointer
    /// authentication bits above the highest code address known.
    pub(super) fn unwind_regs(regs: &UserRegs, max_code_address: u64) -> UnwindRegsAarch64 {
        UnwindRegsAarch64::new_with_ptr_auth_mask(
            PtrAuthMask::from_max_known_address(max_code_address),
            regs.lr,
            regs.sp,
            regs.bp,
        )
    }
}

/// The longest call chain [`DwarfUnwinder::unwind`] returns, the instruction
/// pointer included (perf's own default `max-stack` is 127).
const MAX_FRAMES: usize = 256;

/// The largest `[vdso]` image read from this process (the real one is a few
/// pages).
const MAX_VDSO_BYTES: u64 = 1 << 20;

/// The name the kernel gives the vDSO mapping in `mmap` records and maps.
const VDSO: &str = "[vdso]";

/// Section bytes, shared by every module (in every process) of one file.
type SectionBytes = Arc<[u8]>;

/// The registers DWARF unwinding starts from.
#[derive(Debug, Clone, Copy)]
pub(crate) struct UserRegs {
    /// The instruction pointer (the program counter).
    pub ip: u64,
    /// The stack pointer: the address of the first byte of the stack copy.
    pub sp: u64,
    /// The frame pointer (or whatever `rbp` or `x29` holds in code without
    /// one).
    pub bp: u64,
    /// The link register (aarch64; 0 on x86_64).
    #[cfg_attr(not(target_arch = "aarch64"), allow(dead_code))]
    pub lr: u64,
}

/// Decodes the register values a sample carries, in ascending bit order of
/// [`REGS_MASK`] (bp, sp, ip on x86_64; x29, lr, sp, pc on aarch64). `None`
/// unless there are exactly as many as the mask has bits: a sample with no
/// user registers (`PERF_SAMPLE_REGS_ABI_NONE`, as in a kernel thread)
/// carries none.
pub(crate) fn user_regs(values: &[u64]) -> Option<UserRegs> {
    arch::decode(values)
}

/// A `PT_LOAD` segment of an ELF file.
#[derive(Debug, Clone, Copy)]
struct LoadSegment {
    /// `p_vaddr`: where the segment starts in the file's own address space.
    vaddr: u64,
    /// `p_offset`: where the segment starts in the file.
    offset: u64,
    /// `p_filesz`: how many bytes of the file the segment holds.
    filesz: u64,
    /// Whether `p_flags` has `PF_X`.
    executable: bool,
}

impl LoadSegment {
    /// Whether a mapping at file offset `pgoff` maps (the page-aligned start
    /// of) this segment.
    fn maps_offset(&self, pgoff: u64) -> bool {
        let first_page = self.offset & !(PAGE_SIZE - 1);
        let end = self.offset.saturating_add(self.filesz);
        first_page <= pgoff && pgoff < end
    }
}

/// What unwinding needs from one ELF file, read once per path.
struct ElfFile {
    /// The name modules of this file carry (for debugging).
    name: String,
    /// The `PT_LOAD` segments, in file order.
    segments: Vec<LoadSegment>,
    /// The sections framehop reads, with `base_svma` the lowest page-aligned
    /// `p_vaddr`; cloning it clones only `Arc`s.
    sections: ExplicitModuleSectionInfo<SectionBytes>,
}

impl ElfFile {
    /// Reads the file at `path` (or this process's vDSO for `[vdso]`, which
    /// is the same image in every process on this kernel); `None` for
    /// anything that is not a readable x86_64 ELF file.
    fn read(path: &Path) -> Option<ElfFile> {
        let name = path.display().to_string();
        if path == Path::new(VDSO) {
            let image = own_vdso()?;
            return ElfFile::parse(&*image, name);
        }
        // Only regular files: opening a FIFO would block the drain thread.
        if !std::fs::metadata(path).ok()?.is_file() {
            return None;
        }
        // A read cache reads only the headers and the sections asked for,
        // not the (possibly huge) debug information.
        let cache = ReadCache::new(File::open(path).ok()?);
        ElfFile::parse(&cache, name)
    }

    /// Parses an ELF image and copies out its unwind sections. Only the
    /// headers and those sections are read: not the symbol tables, not the
    /// debug information.
    fn parse<'data, R: ReadRef<'data>>(data: R, name: String) -> Option<ElfFile> {
        let header = FileHeader64::<LittleEndian>::parse(data).ok()?;
        let endian = header.endian().ok()?;
        if header.e_machine(endian) != EM_MACHINE {
            return None;
        }
        let segments: Vec<LoadSegment> = header
            .program_headers(endian, data)
            .ok()?
            .iter()
            .filter(|p| p.p_type(endian) == PT_LOAD)
            .map(|p| LoadSegment {
                vaddr: p.p_vaddr(endian),
                offset: p.p_offset(endian),
                filesz: p.p_filesz(endian),
                executable: p.p_flags(endian).contains(PF_X),
            })
            .collect();
        // framehop adds 32-bit relative addresses to the base unchecked.
        let base_svma = segments
            .iter()
            .map(|s| s.vaddr & !(PAGE_SIZE - 1))
            .min()
            .filter(|base| base.checked_add(u64::from(u32::MAX)).is_some())?;

        let sections = header.sections(endian, data).ok()?;
        let section = |name: &str| {
            let (_, section) = sections.section_by_name(endian, name.as_bytes())?;
            Some(section)
        };
        let svma_range = |name: &str| -> Option<Range<u64>> {
            let section = section(name)?;
            let start = section.sh_addr(endian);
            Some(start..start.checked_add(section.sh_size(endian))?)
        };
        let bytes = |name: &str| -> Option<SectionBytes> {
            let section = section(name)?;
            // Compressed sections (only ever debug ones) are skipped.
            if section.sh_flags(endian).contains(SHF_COMPRESSED) {
                return None;
            }
            let bytes = section.data(endian, data).ok()?;
            (!bytes.is_empty()).then(|| Arc::from(bytes))
        };
        // framehop reads one of `.eh_frame` and `.debug_frame`, the former
        // if it has it. Code built with `-g -fno-asynchronous-unwind-tables`
        // has its call-frame information in `.debug_frame` only, beside a
        // `.eh_frame` that covers just the C runtime's start files: take the
        // section that describes more functions.
        let mut eh_frame = bytes(".eh_frame");
        let mut debug_frame = bytes(".debug_frame");
        match (&eh_frame, &debug_frame) {
            (Some(eh), Some(debug)) if fde_count(debug, false) > fde_count(eh, true) => {
                eh_frame = None;
            }
            (Some(_), _) => debug_frame = None,
            (None, _) => {}
        }
        let eh_frame_hdr = eh_frame.as_ref().and_then(|_| bytes(".eh_frame_hdr"));
        let sections = ExplicitModuleSectionInfo {
            base_svma,
            // The bytes of `.text` are only read for Mach-O and PE files;
            // ELF call-frame information needs its address alone.
            text_svma: svma_range(".text"),
            got_svma: svma_range(".got"),
            eh_frame_svma: svma_range(".eh_frame"),
            eh_frame,
            eh_frame_hdr_svma: svma_range(".eh_frame_hdr"),
            eh_frame_hdr,
            debug_frame,
            ..ExplicitModuleSectionInfo::default()
        };
        Some(ElfFile {
            name,
            segments,
            sections,
        })
    }

    /// The load bias of `mapping` (actual minus stated address, wrapping),
    /// from the `PT_LOAD` segment that contains its file offset: executable
    /// segments first, because with linkers that start the code in the same
    /// page as a read-only segment (lld) both contain the offset, and only
    /// the executable one tells the truth about an executable mapping.
    fn bias(&self, mapping: &Mapping) -> Option<u64> {
        let segment = self
            .segments
            .iter()
            .find(|s| s.executable && s.maps_offset(mapping.pgoff))
            .or_else(|| self.segments.iter().find(|s| s.maps_offset(mapping.pgoff)))?;
        // A file offset `o` of the segment sits at `start + (o - pgoff)` in
        // the process and at `vaddr + (o - offset)` in the file.
        Some(
            mapping
                .start
                .wrapping_sub(mapping.pgoff)
                .wrapping_add(segment.offset)
                .wrapping_sub(segment.vaddr),
        )
    }

    /// The framehop module for `mapping` of this file, if the mapping fits
    /// the file's segments.
    fn module(&self, mapping: &Mapping) -> Option<Module<SectionBytes>> {
        let base_avma = self.sections.base_svma.wrapping_add(self.bias(mapping)?);
        module_at(self, mapping.start..mapping.end, base_avma)
    }
}

/// The number of FDEs in a little-endian `.eh_frame` (`eh_frame`) or
/// `.debug_frame` section, up to the first entry that does not parse.
fn fde_count(section: &[u8], eh_frame: bool) -> usize {
    let word = |at: usize, size: usize| -> Option<u64> {
        let bytes = section.get(at..at.checked_add(size)?)?;
        Some(bytes.iter().rev().fold(0, |v, &b| (v << 8) | u64::from(b)))
    };
    let mut count = 0;
    let mut at = 0;
    // Each entry is a length (32 bits, or all ones and then 64 bits), then a
    // CIE id (in a CIE) or a CIE pointer (in an FDE) of the same width.
    while let Some(length) = word(at, 4) {
        let (length, width, body) = if length == u64::from(u32::MAX) {
            let Some(length) = word(at + 4, 8) else {
                break;
            };
            (length, 8, at + 12)
        } else {
            (length, 4, at + 4)
        };
        if length == 0 {
            break;
        }
        let next = usize::try_from(length)
            .ok()
            .and_then(|length| body.checked_add(length))
            .filter(|&next| next <= section.len());
        let (Some(next), Some(id)) = (next, word(body, width)) else {
            break;
        };
        // A CIE's id is 0 in `.eh_frame` and all ones in `.debug_frame`.
        let cie_id = match (eh_frame, width) {
            (true, _) => 0,
            (false, 4) => u64::from(u32::MAX),
            (false, _) => u64::MAX,
        };
        if id != cie_id {
            count += 1;
        }
        at = next;
    }
    count
}

/// A framehop module for `avma_range` of a file loaded at `base_avma`.
fn module_at(
    elf: &ElfFile,
    avma_range: Range<u64>,
    base_avma: u64,
) -> Option<Module<SectionBytes>> {
    // Relative addresses must not be negative and must fit framehop's u32.
    if avma_range.is_empty()
        || base_avma > avma_range.start
        || avma_range.end - base_avma > u64::from(u32::MAX)
    {
        return None;
    }
    Some(Module::new(
        elf.name.clone(),
        avma_range,
        base_avma,
        elf.sections.clone(),
    ))
}

/// This process's vDSO image, read through `/proc/self/mem`.
fn own_vdso() -> Option<Vec<u8>> {
    let maps = std::fs::read_to_string("/proc/self/maps").ok()?;
    let line = maps
        .lines()
        .find(|line| line.split_whitespace().nth(5) == Some(VDSO))?;
    let (start, end) = line.split_whitespace().next()?.split_once('-')?;
    let start = u64::from_str_radix(start, 16).ok()?;
    let len = u64::from_str_radix(end, 16).ok()?.checked_sub(start)?;
    if len == 0 || len > MAX_VDSO_BYTES {
        return None;
    }
    let mut image = vec![0; usize::try_from(len).ok()?];
    File::open("/proc/self/mem")
        .ok()?
        .read_exact_at(&mut image, start)
        .ok()?;
    Some(image)
}

/// One file mapping known to a process's unwinder.
#[derive(Clone)]
struct Loaded {
    /// The file, to rebuild the module when a new mapping covers part of it.
    elf: Arc<ElfFile>,
    /// The module framehop holds.
    module: Module<SectionBytes>,
}

/// The unwinder of one process.
#[derive(Default)]
struct Process {
    /// framehop's view of the mappings.
    unwinder: UnwinderArch<SectionBytes>,
    /// The same mappings by start address, which never overlap.
    loaded: BTreeMap<u64, Loaded>,
    /// framehop's rule cache, made at the first sample.
    cache: Option<Cache>,
    /// Whether the process called exec: its mappings no longer come from a
    /// parent, even if the fork is only reported now.
    execed: bool,
}

impl Process {
    /// Adds a module, replacing whatever it covers: the newer mapping wins,
    /// and older ones keep the parts it leaves uncovered.
    fn insert(&mut self, elf: Arc<ElfFile>, module: Module<SectionBytes>) {
        let range = module.avma_range();
        if let Some(old) = self.loaded.get(&range.start)
            && Arc::ptr_eq(&old.elf, &elf)
            && old.module.avma_range() == range
            && old.module.base_avma() == module.base_avma()
        {
            return;
        }
        let covered: Vec<u64> = self
            .loaded
            .range(..range.end)
            .rev()
            .take_while(|(_, l)| l.module.avma_range().end > range.start)
            .map(|(&start, _)| start)
            .collect();
        for start in covered {
            let Some(old) = self.loaded.remove(&start) else {
                continue;
            };
            self.unwinder.remove_module(start);
            let old_range = old.module.avma_range();
            let base = old.module.base_avma();
            for rest in [old_range.start..range.start, range.end..old_range.end] {
                if let Some(rest_module) = module_at(&old.elf, rest, base) {
                    self.add(old.elf.clone(), rest_module);
                }
            }
        }
        self.add(elf, module);
    }

    /// Adds a module that overlaps none.
    fn add(&mut self, elf: Arc<ElfFile>, module: Module<SectionBytes>) {
        self.unwinder.add_module(module.clone());
        self.loaded
            .insert(module.avma_range().start, Loaded { elf, module });
    }

    /// Whether any module overlaps `range`.
    fn overlaps(&self, range: &Range<u64>) -> bool {
        self.loaded
            .range(..range.end)
            .next_back()
            .is_some_and(|(_, l)| l.module.avma_range().end > range.start)
    }
}

/// Unwinds the user stacks of samples from many processes with DWARF
/// call-frame information.
#[derive(Default)]
pub(crate) struct DwarfUnwinder {
    /// Every file asked for, by path; `None` for those that are not
    /// readable x86_64 ELF files.
    files: HashMap<PathBuf, Option<Arc<ElfFile>>>,
    /// The unwinder of every process, by pid.
    processes: HashMap<u32, Process>,
}

impl DwarfUnwinder {
    /// An unwinder that knows no process yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// An executable file mapping appeared in `pid` (from `PERF_RECORD_MMAP2`
    /// with `PROT_EXEC`). Non-ELF or unreadable files are remembered as such
    /// and skipped quietly; `[vdso]` is read from this process.
    pub fn add_mapping(&mut self, pid: u32, mapping: &Mapping) {
        let elf = self
            .files
            .entry(mapping.path.clone())
            .or_insert_with(|| ElfFile::read(&mapping.path).map(Arc::new));
        let Some(elf) = elf.clone() else {
            return;
        };
        let Some(module) = elf.module(mapping) else {
            return;
        };
        self.processes.entry(pid).or_default().insert(elf, module);
    }

    /// `child` was forked from `parent` and shares its mappings until it
    /// execs. Records arrive in any order: the child keeps the mappings it
    /// already has, takes the parent's where they overlap none of them, and
    /// takes none once it has exec'd.
    pub fn fork(&mut self, parent: u32, child: u32) {
        if parent == child {
            return;
        }
        let Some(from) = self.processes.get(&parent) else {
            return;
        };
        let Some(to) = self.processes.get(&child) else {
            let copy = Process {
                unwinder: from.unwinder.clone(),
                loaded: from.loaded.clone(),
                cache: None,
                execed: false,
            };
            self.processes.insert(child, copy);
            return;
        };
        if to.execed {
            return;
        }
        let inherited: Vec<Loaded> = from
            .loaded
            .values()
            .filter(|l| !to.overlaps(&l.module.avma_range()))
            .cloned()
            .collect();
        if let Some(to) = self.processes.get_mut(&child) {
            for l in inherited {
                to.add(l.elf, l.module);
            }
        }
    }

    /// `pid` called exec: forget its mappings (and its rule cache).
    pub fn exec(&mut self, pid: u32) {
        let fresh = Process {
            execed: true,
            ..Process::default()
        };
        self.processes.insert(pid, fresh);
    }

    /// Unwinds one sample: registers and a copy of the user stack starting at
    /// `regs.sp`. Returns the call chain, leaf first: `ip`, then every return
    /// address found (unadjusted, like perf's frame-pointer callchains), at
    /// most 256 in all. Stops at the first frame that cannot be
    /// unwound; never panics on garbage input and returns at least `[ip]`.
    pub fn unwind(&mut self, pid: u32, regs: UserRegs, stack: &[u8]) -> Vec<u64> {
        let mut chain = Vec::with_capacity(32);
        chain.push(regs.ip);
        // Every frame reads a return address from the copy, and no user
        // stack lives in the null page.
        if stack.len() < 8 || regs.sp < PAGE_SIZE {
            return chain;
        }
        let Some(process) = self.processes.get_mut(&pid) else {
            return chain;
        };
        let cache = process.cache.get_or_insert_with(Cache::new);
        let mut read_stack = |address: u64| stack_word(stack, regs.sp, address);
        let unwind_regs = arch::unwind_regs(&regs, process.unwinder.max_known_code_address());
        let mut frames = process
            .unwinder
            .iter_frames(regs.ip, unwind_regs, cache, &mut read_stack);
        while chain.len() < MAX_FRAMES {
            match frames.next() {
                Ok(Some(FrameAddress::ReturnAddress(address))) => chain.push(address.get()),
                Ok(Some(FrameAddress::InstructionPointer(_))) => {}
                Ok(None) | Err(_) => break,
            }
        }
        chain
    }
}

/// The little-endian word at `address` of a stack copy that starts at `sp`.
fn stack_word(stack: &[u8], sp: u64, address: u64) -> Result<u64, ()> {
    let offset = usize::try_from(address.checked_sub(sp).ok_or(())?).map_err(|_| ())?;
    let bytes = stack
        .get(offset..offset.checked_add(8).ok_or(())?)
        .ok_or(())?;
    Ok(u64::from_le_bytes(bytes.try_into().map_err(|_| ())?))
}

/// Decoding, bookkeeping, garbage input, and the unwinding of real stacks.
#[cfg(test)]
mod tests {
    use std::hint::black_box;

    use super::*;

    /// A path no file will ever have, for fabricated files.
    fn fake_path(name: &str) -> PathBuf {
        PathBuf::from(format!("/nonexistent/perfhub-unwind-test/{name}"))
    }

    /// A fabricated ELF file with the given `(vaddr, offset, filesz, x)`
    /// segments and no unwind sections.
    fn fake_elf(name: &str, segments: &[(u64, u64, u64, bool)]) -> Arc<ElfFile> {
        let segments: Vec<LoadSegment> = segments
            .iter()
            .map(|&(vaddr, offset, filesz, executable)| LoadSegment {
                vaddr,
                offset,
                filesz,
                executable,
            })
            .collect();
        let base_svma = segments
            .iter()
            .map(|s| s.vaddr & !(PAGE_SIZE - 1))
            .min()
            .unwrap_or(0);
        Arc::new(ElfFile {
            name: name.to_owned(),
            segments,
            sections: ExplicitModuleSectionInfo {
                base_svma,
                ..ExplicitModuleSectionInfo::default()
            },
        })
    }

    /// A mapping of `path`.
    fn mapping(path: &Path, start: u64, end: u64, pgoff: u64) -> Mapping {
        Mapping {
            start,
            end,
            pgoff,
            path: path.to_owned(),
        }
    }

    /// The `(start, end, base_avma)` of every module of `pid`, checking
    /// that framehop's list and ours agree.
    fn modules(unwinder: &DwarfUnwinder, pid: u32) -> Vec<(u64, u64, u64)> {
        let Some(process) = unwinder.processes.get(&pid) else {
            return Vec::new();
        };
        let list: Vec<(u64, u64, u64)> = process
            .loaded
            .values()
            .map(|l| {
                let r = l.module.avma_range();
                (r.start, r.end, l.module.base_avma())
            })
            .collect();
        let known = process.unwinder.max_known_code_address();
        assert_eq!(known, list.last().map_or(0, |m| m.1));
        list
    }

    /// The executable mappings of this process, `[vdso]` included.
    fn own_mappings() -> Vec<Mapping> {
        let maps = std::fs::read_to_string("/proc/self/maps").expect("/proc/self/maps");
        maps.lines()
            .filter_map(|line| {
                let fields: Vec<&str> = line.split_whitespace().collect();
                let (start, end) = fields.first()?.split_once('-')?;
                let path = fields.get(5..)?.join(" ");
                if !fields.get(1)?.contains('x') || !(path.starts_with('/') || path == VDSO) {
                    return None;
                }
                Some(Mapping {
                    start: u64::from_str_radix(start, 16).ok()?,
                    end: u64::from_str_radix(end, 16).ok()?,
                    pgoff: u64::from_str_radix(fields.get(2)?, 16).ok()?,
                    path: PathBuf::from(path),
                })
            })
            .collect()
    }

    /// An unwinder that knows this process's executable mappings.
    fn own_unwinder() -> (DwarfUnwinder, Vec<Mapping>) {
        let mut unwinder = DwarfUnwinder::new();
        let pid = std::process::id();
        let maps = own_mappings();
        for m in &maps {
            unwinder.add_mapping(pid, m);
        }
        (unwinder, maps)
    }

    /// The mask has bits 6, 7 and 8 of `perf_regs.h`.
    #[cfg(target_arch = "x86_64")]
    #[test]
    fn regs_mask_selects_bp_sp_and_ip() {
        assert_eq!(REGS_MASK, 0b1_1100_0000);
        assert_eq!(REGS_MASK.count_ones(), 3);
    }

    /// The mask has bits 29 to 32 of arm64's `perf_regs.h`, and values
    /// come in that order.
    #[cfg(target_arch = "aarch64")]
    #[test]
    fn regs_mask_selects_fp_lr_sp_and_pc() {
        assert_eq!(REGS_MASK, 0b1_1110_0000_0000_0000_0000_0000_0000_0000);
        let regs = user_regs(&[0xf0, 0x1e, 0x5b, 0x9c]).expect("four values");
        assert_eq!(
            (regs.bp, regs.lr, regs.sp, regs.ip),
            (0xf0, 0x1e, 0x5b, 0x9c)
        );
        assert!(user_regs(&[1, 2, 3]).is_none());
    }

    /// Values come in ascending bit order, exactly three of them.
    #[cfg(target_arch = "x86_64")]
    #[test]
    fn user_regs_decodes_ascending_bit_order() {
        let regs = user_regs(&[0xb0, 0x5b, 0x1b]).expect("three values");
        assert_eq!((regs.bp, regs.sp, regs.ip), (0xb0, 0x5b, 0x1b));
        assert!(user_regs(&[]).is_none(), "PERF_SAMPLE_REGS_ABI_NONE");
        assert!(user_regs(&[1, 2]).is_none());
        assert!(user_regs(&[1, 2, 3, 4]).is_none());
    }

    /// Reads stay inside the copy, whatever the addresses.
    #[test]
    fn stack_words_are_read_within_the_copy_only() {
        let stack: Vec<u8> = (0u8..16).collect();
        assert_eq!(
            stack_word(&stack, 0x1000, 0x1000),
            Ok(0x0706_0504_0302_0100)
        );
        assert_eq!(
            stack_word(&stack, 0x1000, 0x1008),
            Ok(0x0f0e_0d0c_0b0a_0908)
        );
        assert_eq!(stack_word(&stack, 0x1000, 0x1009), Err(()));
        assert_eq!(stack_word(&stack, 0x1000, 0xff8), Err(()));
        assert_eq!(stack_word(&stack, 0x1000, u64::MAX), Err(()));
        assert_eq!(stack_word(&[], 0, 0), Err(()));
    }

    /// FDEs are told from CIEs in both formats, 32- and 64-bit DWARF.
    #[test]
    fn fdes_are_counted_in_both_section_formats() {
        /// One entry: 32-bit length, id, four bytes of body.
        fn entry(id: u32) -> Vec<u8> {
            [8u32.to_le_bytes(), id.to_le_bytes(), [0xaa; 4]].concat()
        }
        /// One 64-bit DWARF entry.
        fn entry64(id: u64) -> Vec<u8> {
            let mut e = u32::MAX.to_le_bytes().to_vec();
            e.extend(12u64.to_le_bytes());
            e.extend(id.to_le_bytes());
            e.extend([0xaa; 4]);
            e
        }
        let eh = [entry(0), entry(12), entry(24), vec![0; 4], entry(7)].concat();
        assert_eq!(fde_count(&eh, true), 2, "stops at the terminator");
        let debug = [
            entry(u32::MAX),
            entry(0),
            entry64(u64::MAX),
            entry64(12),
            entry64(12),
        ]
        .concat();
        assert_eq!(fde_count(&debug, false), 3);
        // Truncated and garbage sections count what parses.
        assert_eq!(fde_count(&debug[..debug.len() - 1], false), 2);
        assert_eq!(fde_count(&[], true), 0);
        assert_eq!(fde_count(&[0xff; 3], true), 0);
        assert_eq!(fde_count(&[0xff; 64], false), 0);
        assert_eq!(fde_count(&[0xff; 64], true), 0);
    }

    /// Unknown pids, empty stacks and stray instruction pointers give `[ip]`.
    #[test]
    fn garbage_input_returns_the_ip() {
        let (mut unwinder, maps) = own_unwinder();
        let pid = std::process::id();
        let code = maps
            .iter()
            .find(|m| m.path == std::env::current_exe().expect("current_exe"))
            .expect("the test binary is mapped")
            .start;
        let regs = |ip| UserRegs {
            ip,
            sp: 0x7fff_0000_0000,
            bp: 0x7fff_0000_0100,
            lr: 0,
        };
        // Unknown pid.
        assert_eq!(unwinder.unwind(u32::MAX, regs(code), &[0xff; 64]), [code]);
        // Empty stack, in a module and in none.
        assert_eq!(unwinder.unwind(pid, regs(code), &[]), [code]);
        assert_eq!(unwinder.unwind(pid, regs(0x10), &[]), [0x10]);
        // An ip in no module over a stack that holds no frame chain: zeros,
        // or a frame pointer past the copy.
        assert_eq!(unwinder.unwind(pid, regs(0x10), &[0; 512]), [0x10]);
        assert_eq!(
            unwinder.unwind(pid, regs(u64::MAX), &[0xff; 0x100]),
            [u64::MAX]
        );
        // Registers at the ends of the address space.
        for (sp, bp) in [(0, 0), (u64::MAX, u64::MAX), (u64::MAX - 7, 0)] {
            let chain = unwinder.unwind(
                pid,
                UserRegs {
                    ip: code,
                    sp,
                    bp,
                    lr: 0,
                },
                &[0xff; 64],
            );
            assert_eq!(chain.first(), Some(&code));
        }
    }

    /// Code in no module is walked by frame pointers within the copy.
    /// x86_64's frame records: the return address of the leaf is on the
    /// stack, not in a link register.
    #[cfg(target_arch = "x86_64")]
    #[test]
    fn code_without_call_frame_information_falls_back_to_frame_pointers() {
        let (mut unwinder, _) = own_unwinder();
        let sp = 0x7ffd_0000_1000_u64;
        let mut stack = vec![0u8; 0x60];
        let mut put = |at: u64, word: u64| {
            let at = (at - sp) as usize;
            stack[at..at + 8].copy_from_slice(&word.to_le_bytes());
        };
        // Two frame records: (saved bp, return address).
        put(sp + 0x20, sp + 0x40);
        put(sp + 0x28, 0x1111);
        put(sp + 0x40, 0);
        put(sp + 0x48, 0x2222);
        let regs = UserRegs {
            ip: 0x10,
            sp,
            bp: sp + 0x20,
            lr: 0,
        };
        let chain = unwinder.unwind(std::process::id(), regs, &stack);
        assert_eq!(chain, [0x10, 0x1111, 0x2222]);
    }

    /// Random registers and stacks over real modules never panic.
    #[test]
    fn random_stacks_never_panic() {
        let (mut unwinder, maps) = own_unwinder();
        let pid = std::process::id();
        let mut state = 0x9e37_79b9_7f4a_7c15_u64;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        for round in 0..4000 {
            let sp = match round % 8 {
                0 => 0,
                1 => 8,
                2 => PAGE_SIZE,
                3 => u64::MAX - 7,
                _ => 0x7ffd_1234_0000,
            };
            // Words that are code addresses, stack addresses or noise.
            let pick = |next: &mut dyn FnMut() -> u64| {
                let r = next();
                match r % 4 {
                    0 => {
                        let m = &maps[(r >> 8) as usize % maps.len()];
                        m.start + (r >> 16) % (m.end - m.start)
                    }
                    1 => sp.wrapping_add((r >> 8) % 4096),
                    2 => 0,
                    _ => r,
                }
            };
            let ip = pick(&mut next);
            let bp = pick(&mut next);
            let len = (next() % 4096) as usize;
            let stack: Vec<u8> = (0..len.div_ceil(8))
                .flat_map(|_| pick(&mut next).to_le_bytes())
                .take(len)
                .collect();
            let chain = unwinder.unwind(pid, UserRegs { ip, sp, bp, lr: 0 }, &stack);
            assert_eq!(chain[0], ip);
            assert!(chain.len() <= MAX_FRAMES);
        }
    }

    /// Files that are missing, not regular or not ELF are remembered as such.
    #[test]
    fn unreadable_and_non_elf_files_are_remembered_and_skipped() {
        let mut unwinder = DwarfUnwinder::new();
        let paths = [
            fake_path("missing"),
            PathBuf::from("/dev/null"),
            PathBuf::from("/proc/self/status"),
            PathBuf::from("//anon"),
            PathBuf::from("/"),
        ];
        for path in &paths {
            unwinder.add_mapping(7, &mapping(path, 0x1000, 0x2000, 0));
            assert!(matches!(unwinder.files.get(path), Some(None)), "{path:?}");
        }
        assert!(modules(&unwinder, 7).is_empty());
        // The own binary is an ELF file with call-frame information.
        let exe = std::env::current_exe().expect("current_exe");
        let elf = ElfFile::read(&exe).expect("the test binary is ELF");
        assert!(elf.sections.eh_frame.is_some());
        assert!(elf.sections.eh_frame_hdr.is_some());
        assert!(elf.sections.text_svma.is_some());
        assert!(elf.segments.iter().any(|s| s.executable));
    }

    /// This process's vDSO parses, call-frame information included.
    #[test]
    fn the_vdso_is_read_from_this_process() {
        let Some(image) = own_vdso() else {
            // Booted with vdso=0: nothing to read.
            return;
        };
        let elf = ElfFile::parse(&*image, VDSO.to_owned()).expect("the vDSO is ELF");
        assert!(elf.sections.eh_frame.is_some());
        assert!(elf.segments.iter().any(|s| s.executable));
    }

    /// Many processes mapping one file share one copy of its sections.
    #[test]
    fn each_file_is_read_once() {
        let (mut unwinder, maps) = own_unwinder();
        let exe = std::env::current_exe().expect("current_exe");
        let first = unwinder.files[&exe].clone().expect("the test binary");
        for pid in 1..=3 {
            for m in &maps {
                unwinder.add_mapping(pid, m);
            }
        }
        let again = unwinder.files[&exe].clone().expect("the test binary");
        assert!(Arc::ptr_eq(&first, &again));
        let eh_frame = |elf: &ElfFile| elf.sections.eh_frame.clone().expect(".eh_frame");
        assert!(Arc::ptr_eq(&eh_frame(&first), &eh_frame(&again)));
        assert_eq!(
            modules(&unwinder, 1),
            modules(&unwinder, std::process::id())
        );
    }

    /// The base address is right for non-PIE, PIE and lld layouts.
    #[test]
    fn load_bias_follows_the_segment_of_the_mapping() {
        let mut unwinder = DwarfUnwinder::new();
        let mut add = |name: &str, segments: &[(u64, u64, u64, bool)], m: (u64, u64, u64)| {
            let path = fake_path(name);
            unwinder
                .files
                .insert(path.clone(), Some(fake_elf(name, segments)));
            let pid = unwinder.processes.len() as u32 + 1;
            unwinder.add_mapping(pid, &mapping(&path, m.0, m.1, m.2));
            modules(&unwinder, pid)
        };
        // Non-PIE (GNU ld): stated addresses are actual ones.
        let non_pie = [
            (0x40_0000, 0, 0x5a0, false),
            (0x40_1000, 0x1000, 0x2345, true),
            (0x40_4000, 0x4000, 0x800, false),
        ];
        assert_eq!(
            add("non-pie", &non_pie, (0x40_1000, 0x40_4000, 0x1000)),
            [(0x40_1000, 0x40_4000, 0x40_0000)]
        );
        // PIE (GNU ld): p_vaddr == p_offset, loaded at 0x5555_5555_4000.
        let pie = [(0, 0, 0x5a0, false), (0x1000, 0x1000, 0x2345, true)];
        assert_eq!(
            add("pie", &pie, (0x5555_5555_5000, 0x5555_5555_8000, 0x1000)),
            [(0x5555_5555_5000, 0x5555_5555_8000, 0x5555_5555_4000)]
        );
        // lld: code starts in the page of the read-only segment and
        // p_vaddr = p_offset + 0x1000; the executable mapping has pgoff 0.
        let lld = [(0, 0, 0x5a0, false), (0x15a0, 0x5a0, 0x2345, true)];
        assert_eq!(
            add("lld", &lld, (0x7f00_0000_1000, 0x7f00_0000_3000, 0)),
            [(0x7f00_0000_1000, 0x7f00_0000_3000, 0x7f00_0000_0000)]
        );
        // A mapping of no segment, and one whose base would not fit.
        assert!(add("nowhere", &pie, (0x5000, 0x6000, 0x9000)).is_empty());
        let huge = [(0, 0, 0x1000, false), (0x2_0000_0000, 0x1000, 0x1000, true)];
        assert!(add("huge", &huge, (0x7f00_0000_0000, 0x7f00_0000_1000, 0x1000)).is_empty());
    }

    /// A new mapping replaces the parts of older ones that it covers.
    #[test]
    fn newer_mappings_replace_what_they_cover() {
        let mut unwinder = DwarfUnwinder::new();
        let (a, b) = (fake_path("a"), fake_path("b"));
        let segments = [(0, 0, 0x10_0000, true)];
        unwinder
            .files
            .insert(a.clone(), Some(fake_elf("a", &segments)));
        unwinder
            .files
            .insert(b.clone(), Some(fake_elf("b", &segments)));
        unwinder.add_mapping(1, &mapping(&a, 0x10000, 0x20000, 0));
        unwinder.add_mapping(1, &mapping(&a, 0x10000, 0x20000, 0));
        assert_eq!(modules(&unwinder, 1), [(0x10000, 0x20000, 0x10000)]);
        // `b` over the middle of `a`: `a` keeps both ends, with its base.
        unwinder.add_mapping(1, &mapping(&b, 0x14000, 0x18000, 0));
        assert_eq!(
            modules(&unwinder, 1),
            [
                (0x10000, 0x14000, 0x10000),
                (0x14000, 0x18000, 0x14000),
                (0x18000, 0x20000, 0x10000),
            ]
        );
        // `a` again over all of it.
        unwinder.add_mapping(1, &mapping(&a, 0x8000, 0x30000, 0));
        assert_eq!(modules(&unwinder, 1), [(0x8000, 0x30000, 0x8000)]);
    }

    /// A fork fills in what the child lacks, in whatever order records come.
    #[test]
    fn forks_share_mappings_without_overwriting_the_childs() {
        let mut unwinder = DwarfUnwinder::new();
        let (exe, lib, other) = (fake_path("exe"), fake_path("lib"), fake_path("other"));
        for path in [&exe, &lib, &other] {
            let name = path.display().to_string();
            unwinder.files.insert(
                path.clone(),
                Some(fake_elf(&name, &[(0, 0, 0x10_0000, true)])),
            );
        }
        unwinder.add_mapping(1, &mapping(&exe, 0x10000, 0x20000, 0));
        unwinder.add_mapping(1, &mapping(&lib, 0x40000, 0x50000, 0));
        // A fork seen first: the child gets everything.
        unwinder.fork(1, 2);
        assert_eq!(modules(&unwinder, 2), modules(&unwinder, 1));
        // The child's own mapping seen before its fork wins where it overlaps.
        unwinder.add_mapping(3, &mapping(&other, 0x44000, 0x48000, 0));
        unwinder.fork(1, 3);
        assert_eq!(
            modules(&unwinder, 3),
            [(0x10000, 0x20000, 0x10000), (0x44000, 0x48000, 0x44000)]
        );
        // A child that exec'd before its fork is seen keeps its new image only.
        unwinder.exec(4);
        unwinder.add_mapping(4, &mapping(&other, 0x70000, 0x80000, 0));
        unwinder.fork(1, 4);
        assert_eq!(modules(&unwinder, 4), [(0x70000, 0x80000, 0x70000)]);
        // Unknown parents and self-forks (new threads) change nothing.
        unwinder.fork(99, 5);
        assert!(!unwinder.processes.contains_key(&5));
        unwinder.fork(1, 1);
        assert_eq!(modules(&unwinder, 1).len(), 2);
        // The child's later mappings are its own.
        unwinder.add_mapping(2, &mapping(&other, 0x90000, 0xa0000, 0));
        assert_eq!(modules(&unwinder, 1).len(), 2);
        assert_eq!(modules(&unwinder, 2).len(), 3);
    }

    /// An exec leaves the process with no mappings.
    #[test]
    fn exec_forgets_mappings() {
        let (mut unwinder, _) = own_unwinder();
        let pid = std::process::id();
        assert!(!modules(&unwinder, pid).is_empty());
        unwinder.exec(pid);
        assert!(modules(&unwinder, pid).is_empty());
        let regs = UserRegs {
            ip: 0x1234,
            sp: 0x1000,
            bp: 0x1010,
            lr: 0,
        };
        assert_eq!(unwinder.unwind(pid, regs, &[0; 64]), [0x1234]);
    }

    /// The unwinding of this very thread, by way of real code.
    #[cfg(target_arch = "x86_64")]
    mod own_thread {
        use std::fs::File;
        use std::os::unix::fs::FileExt;
        use std::time::Instant;

        use super::*;

        /// How much stack a capture copies, as a sample would.
        const STACK_COPY: usize = 64 * 1024;

        /// What the innermost function saw.
        struct Capture {
            /// Its registers.
            regs: UserRegs,
            /// The stack from `regs.sp` up.
            stack: Vec<u8>,
            /// What `backtrace` says the frames are: `(ip, function start)`.
            trace: Vec<(u64, u64)>,
        }

        /// Copies up to `len` bytes of this thread's stack from `sp` with
        /// `/proc/self/mem`, which stops cleanly at the end of the mapping.
        fn copy_stack(sp: u64, len: usize) -> Vec<u8> {
            let mem = File::open("/proc/self/mem").expect("/proc/self/mem");
            let mut stack = vec![0; len];
            let mut copied = 0;
            while copied < len {
                match mem.read_at(&mut stack[copied..], sp + copied as u64) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => copied += n,
                }
            }
            stack.truncate(copied);
            stack
        }

        /// Captures the registers, the stack and a reference backtrace.
        #[inline(never)]
        fn capture() -> Capture {
            let (ip, sp, bp): (u64, u64, u64);
            // SAFETY: the instructions only copy rip, rsp and rbp into three
            // output registers; they touch neither memory, nor the stack,
            // nor the flags.
            unsafe {
                std::arch::asm!(
                    "lea {ip}, [rip]",
                    "mov {sp}, rsp",
                    "mov {bp}, rbp",
                    ip = out(reg) ip,
                    sp = out(reg) sp,
                    bp = out(reg) bp,
                    options(nomem, nostack, preserves_flags),
                );
            }
            let stack = copy_stack(sp, STACK_COPY);
            let mut trace = Vec::new();
            backtrace::trace(|frame| {
                trace.push((frame.ip() as u64, frame.symbol_address() as u64));
                true
            });
            Capture {
                regs: UserRegs { ip, sp, bp, lr: 0 },
                stack,
                trace,
            }
        }

        /// The outermost of three nested functions.
        #[inline(never)]
        fn level1(x: u64) -> Capture {
            let c = level2(black_box(x) + 1);
            black_box(c)
        }

        /// The middle of three nested functions.
        #[inline(never)]
        fn level2(x: u64) -> Capture {
            let c = level3(black_box(x) + 1);
            black_box(c)
        }

        /// The innermost of three nested functions.
        #[inline(never)]
        fn level3(x: u64) -> Capture {
            black_box(x);
            let c = capture();
            black_box(c)
        }

        /// Recurses `depth` times before capturing.
        #[inline(never)]
        fn recurse(depth: u32) -> Capture {
            let c = if depth == 0 {
                capture()
            } else {
                recurse(black_box(depth) - 1)
            };
            black_box(c)
        }

        /// Runs `f` on a new thread with a known stack size.
        fn on_thread(f: fn() -> Capture) -> Capture {
            std::thread::Builder::new()
                .stack_size(1 << 20)
                .spawn(f)
                .expect("spawn")
                .join()
                .expect("join")
        }

        /// The start address of a function.
        fn start(f: fn(u64) -> Capture) -> u64 {
            f as usize as u64
        }

        /// The chain of this thread matches `backtrace`'s, frame for frame.
        #[test]
        fn unwinds_its_own_thread_like_backtrace_does() {
            let c = on_thread(|| level1(40));
            let capture_start = capture as fn() -> Capture as usize as u64;
            let at = c
                .trace
                .iter()
                .position(|&(_, f)| f == capture_start)
                .expect("backtrace sees capture()");
            let expected: Vec<(u64, u64)> = c.trace[at + 1..].to_vec();
            let functions: Vec<u64> = expected.iter().map(|&(_, f)| f).collect();
            assert_eq!(
                functions.get(..3),
                Some(&[start(level3), start(level2), start(level1)][..]),
                "backtrace: {:x?}",
                c.trace
            );

            let (mut unwinder, _) = own_unwinder();
            let pid = std::process::id();
            let t0 = Instant::now();
            let chain = unwinder.unwind(pid, c.regs, &c.stack);
            let cold = t0.elapsed();
            assert_eq!(chain[0], c.regs.ip);
            // libgcc ends the trace with a null frame past the thread's start.
            let returns: Vec<u64> = expected
                .iter()
                .map(|&(ip, _)| ip)
                .filter(|&ip| ip != 0)
                .collect();
            // The three nested functions come right after the leaf.
            assert_eq!(
                chain.get(1..4),
                returns.get(..3),
                "chain {chain:x?}, want {returns:x?}"
            );
            // And every frame backtrace finds, in order.
            let mut rest = chain[1..].iter();
            for ip in &returns {
                assert!(
                    rest.any(|a| a == ip),
                    "{ip:#x} missing: chain {chain:x?}, want {returns:x?}"
                );
            }

            let rounds = 10_000;
            let t0 = Instant::now();
            for _ in 0..rounds {
                assert_eq!(
                    black_box(unwinder.unwind(pid, c.regs, &c.stack)).len(),
                    chain.len()
                );
            }
            let warm = t0.elapsed() / rounds;
            eprintln!(
                "{} frames ({} from backtrace): first unwind {cold:?}, then {warm:?} each",
                chain.len(),
                returns.len() + 1
            );
        }

        /// A shorter copy gives a prefix of the chain.
        #[test]
        fn truncated_stacks_give_a_prefix() {
            let c = on_thread(|| level1(7));
            let (mut unwinder, _) = own_unwinder();
            let pid = std::process::id();
            let full = unwinder.unwind(pid, c.regs, &c.stack);
            for len in [0, 8, 100, 1000, c.stack.len() / 2] {
                let chain = unwinder.unwind(pid, c.regs, &c.stack[..len]);
                assert!(full.starts_with(&chain), "{len}: {chain:x?} vs {full:x?}");
            }
        }

        /// A 400-deep recursion stops at the frame cap.
        #[test]
        fn deep_recursion_stops_at_the_frame_cap() {
            let c = on_thread(|| recurse(400));
            let (mut unwinder, _) = own_unwinder();
            let chain = unwinder.unwind(std::process::id(), c.regs, &c.stack);
            assert_eq!(chain.len(), MAX_FRAMES);
            // Past capture() and the innermost call, every frame returns
            // into recurse() at the same place.
            assert!(chain[3..].windows(2).all(|w| w[0] == w[1]), "{chain:x?}");
        }

        /// A forked child unwinds with its parent's mappings.
        #[test]
        fn a_forked_pid_unwinds_like_its_parent() {
            let c = on_thread(|| level1(1));
            let (mut unwinder, _) = own_unwinder();
            let pid = std::process::id();
            unwinder.fork(pid, 1);
            let parent = unwinder.unwind(pid, c.regs, &c.stack);
            assert!(parent.len() > 4);
            assert_eq!(unwinder.unwind(1, c.regs, &c.stack), parent);
        }
    }
}
