//! The [`Profiler`]: CPU samples and I/O of a region, in one profile and one report.

use std::path::Path;
use std::time::{Duration, Instant};

use perfhub_flame::{FlameOptions, StackProfile};

use perfhub_core::report::{Benchmark, Measurement, Note, Report, ReportKind, metric};
use perfhub_core::units::Unit;

use crate::alloc::{HeapProfile, HeapProfileConfig, HeapProfileError, HeapProfiler};
use crate::cpu::{CpuProfile, CpuProfileConfig, CpuProfileError, CpuSampler};
use crate::io::{IoProfile, IoSnapshot};

/// What to profile.
#[derive(Debug, Clone, PartialEq)]
pub struct ProfileConfig {
    /// A name for the profiled region, used in the report.
    pub name: String,
    /// CPU sampling, or `None` for no CPU profile.
    pub cpu: Option<CpuProfileConfig>,
    /// Allocation call-site sampling, or `None`. It needs
    /// [`Tracking`](crate::alloc::Tracking) as the global allocator; without
    /// it the profile carries a note instead of allocation figures.
    pub heap: Option<HeapProfileConfig>,
}

impl Default for ProfileConfig {
    fn default() -> Self {
        ProfileConfig {
            name: "profile".to_string(),
            cpu: Some(CpuProfileConfig::default()),
            heap: Some(HeapProfileConfig::default()),
        }
    }
}

/// Why a profile could not start.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ProfileError {
    /// CPU sampling could not start.
    #[error(transparent)]
    Cpu(#[from] CpuProfileError),
    /// Allocation sampling could not start.
    #[error(transparent)]
    Heap(#[from] HeapProfileError),
}

/// A running profile of this process; [`Profiler::finish`] ends it.
pub struct Profiler {
    config: ProfileConfig,
    cpu: Option<CpuSampler>,
    heap: Option<HeapProfiler>,
    heap_note: Option<String>,
    io: IoSnapshot,
    rusage: (Duration, Duration),
    started: Instant,
}

/// What a region did.
#[derive(Debug, Clone)]
pub struct Profile {
    /// The region's name.
    pub name: String,
    /// Wall time of the region.
    pub wall: Duration,
    /// User CPU time of the process during the region.
    pub user: Duration,
    /// System CPU time of the process during the region.
    pub system: Duration,
    /// CPU samples, when CPU profiling was on.
    pub cpu: Option<CpuProfile>,
    /// Allocations, when the tracking allocator is installed and heap
    /// profiling was on.
    pub heap: Option<HeapProfile>,
    /// Why there is no heap profile although one was asked for.
    pub heap_note: Option<String>,
    /// I/O of the process and its threads.
    pub io: IoProfile,
}

impl Profiler {
    /// Starts profiling the whole process.
    pub fn start(config: ProfileConfig) -> Result<Profiler, ProfileError> {
        let io = IoSnapshot::take();
        let rusage = perfhub_probe::spawn::own_cpu_time();
        let (heap, heap_note) = match config.heap {
            None => (None, None),
            Some(h) => match HeapProfiler::start(h) {
                Ok(p) => (Some(p), None),
                Err(HeapProfileError::NotInstalled) => (
                    None,
                    Some(format!(
                        "no allocation profile: {}",
                        HeapProfileError::NotInstalled
                    )),
                ),
                Err(e) => return Err(e.into()),
            },
        };
        let cpu = config.cpu.map(CpuSampler::start).transpose()?;
        Ok(Profiler {
            config,
            cpu,
            heap,
            heap_note,
            io,
            rusage,
            started: Instant::now(),
        })
    }

    /// Stops profiling and returns what was measured.
    pub fn finish(mut self) -> Profile {
        // Sampling stops first, then the allocation region closes, and only
        // then are the CPU samples named: naming allocates (symbol tables,
        // names), and that is the profiler's work, not the region's.
        if let Some(cpu) = &mut self.cpu {
            cpu.stop();
        }
        let wall = self.started.elapsed();
        let (user, system) = perfhub_probe::spawn::own_cpu_time();
        let io = self.io.until(&IoSnapshot::take());
        let heap = self.heap.map(HeapProfiler::finish);
        let cpu = self.cpu.map(CpuSampler::finish);
        Profile {
            name: self.config.name,
            wall,
            user: user.saturating_sub(self.rusage.0),
            system: system.saturating_sub(self.rusage.1),
            cpu,
            heap,
            heap_note: self.heap_note,
            io,
        }
    }
}

/// Why a profile could not be written.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum WriteError {
    /// The profile has no CPU samples to draw.
    #[error(
        "the profile has no CPU samples: was CPU profiling on, and did the region run long enough?"
    )]
    NoCpuSamples,
    /// The profile has no allocation profile (the tracking allocator is not
    /// installed, or heap profiling was off).
    #[error(
        "the profile has no allocation profile: install perfhub's Tracking global allocator and keep heap profiling on"
    )]
    NoHeapProfile,
    /// Rendering failed.
    #[error(transparent)]
    Flame(#[from] perfhub_flame::FlameError),
    /// The output directory is a file, or something else not a directory.
    #[error(
        "{path} is not a directory: give a directory to write the profile into (created if missing)"
    )]
    NotADirectory {
        /// The path given.
        path: std::path::PathBuf,
    },
    /// Writing the file failed.
    #[error("cannot write {path}: {source}")]
    Io {
        /// The file.
        path: std::path::PathBuf,
        /// The error.
        #[source]
        source: std::io::Error,
    },
}

/// The warning that the kernel dropped `lost` samples, if it dropped any.
pub(crate) fn lost_samples_note(lost: u64) -> Option<Note> {
    (lost > 0).then(|| {
        Note::warning(
            "lost_samples",
            format!("the kernel dropped {lost} samples because a buffer was full"),
        )
    })
}

/// Wall time, and user and system CPU time where known, as measurements.
pub(crate) fn times(
    wall: std::time::Duration,
    cpu: Option<(std::time::Duration, std::time::Duration)>,
) -> Vec<Measurement> {
    let mut m = vec![Measurement::from_value(
        metric::WALL_TIME,
        Unit::Seconds,
        wall.as_secs_f64(),
    )];
    if let Some((user, system)) = cpu {
        m.push(Measurement::from_value(
            metric::USER_TIME,
            Unit::Seconds,
            user.as_secs_f64(),
        ));
        m.push(Measurement::from_value(
            metric::SYSTEM_TIME,
            Unit::Seconds,
            system.as_secs_f64(),
        ));
    }
    m
}

/// Writes `bytes` to `path` atomically.
pub(crate) fn write_file(path: &Path, bytes: &[u8]) -> Result<(), WriteError> {
    perfhub_probe::fs::write_atomic(path, bytes).map_err(|source| WriteError::Io {
        path: path.to_path_buf(),
        source,
    })
}

impl Profile {
    fn cpu_stacks(&self) -> Result<&StackProfile, WriteError> {
        match &self.cpu {
            Some(cpu) if cpu.stacks.total() > 0 => Ok(&cpu.stacks),
            _ => Err(WriteError::NoCpuSamples),
        }
    }

    /// Writes the CPU flame graph (interactive SVG) to `path`, atomically.
    pub fn write_flamegraph(&self, path: impl AsRef<Path>) -> Result<(), WriteError> {
        let mut svg = Vec::new();
        let options = FlameOptions::new(format!("CPU: {}", self.name));
        perfhub_flame::write_flamegraph(self.cpu_stacks()?, &options, &mut svg)?;
        write_file(path.as_ref(), &svg)
    }

    /// Writes the heap flame graph of bytes allocated by call site to
    /// `path`; with `live_at_peak`, of the bytes live at the peak instead.
    pub fn write_heap_flamegraph(
        &self,
        path: impl AsRef<Path>,
        live_at_peak: bool,
    ) -> Result<(), WriteError> {
        let heap = self.heap.as_ref().ok_or(WriteError::NoHeapProfile)?;
        let (stacks, what) = if live_at_peak {
            (&heap.live_at_peak, "live bytes at the peak")
        } else {
            (&heap.allocated, "bytes allocated")
        };
        let mut svg = Vec::new();
        let options = FlameOptions::new(format!("Heap, {what}: {}", self.name));
        perfhub_flame::write_flamegraph(stacks, &options, &mut svg)?;
        write_file(path.as_ref(), &svg)
    }

    /// Writes the CPU samples as folded stacks to `path`, atomically.
    pub fn write_folded(&self, path: impl AsRef<Path>) -> Result<(), WriteError> {
        write_file(
            path.as_ref(),
            perfhub_flame::to_folded(self.cpu_stacks()?).as_bytes(),
        )
    }

    /// Writes the CPU samples as a gzip-compressed pprof profile to `path`.
    pub fn write_pprof(&self, path: impl AsRef<Path>) -> Result<(), WriteError> {
        write_file(path.as_ref(), &perfhub_flame::to_pprof(self.cpu_stacks()?))
    }

    /// Writes the CPU samples as speedscope JSON to `path`.
    pub fn write_speedscope(&self, path: impl AsRef<Path>) -> Result<(), WriteError> {
        let json = perfhub_flame::to_speedscope(self.cpu_stacks()?, &self.name);
        write_file(path.as_ref(), json.as_bytes())
    }

    /// The profile's summary as a perfhub report: CPU time, samples and I/O
    /// of the region, with notes on how the samples were taken.
    pub fn to_report(&self, created: perfhub_core::time::UtcTime) -> Report {
        let mut report = Report::new(ReportKind::Profile, created);
        let mut b = Benchmark::new(self.name.clone(), metric::WALL_TIME);
        let m = &mut b.measurements;
        m.extend(times(self.wall, Some((self.user, self.system))));
        if let Some(cpu) = &self.cpu {
            m.push(Measurement::from_value(
                "cpu_samples",
                Unit::Count,
                cpu.samples as f64,
            ));
            b.notes
                .push(Note::info("cpu_sampling", cpu.mechanism.clone()));
            b.notes.extend(lost_samples_note(cpu.lost));
        }
        if let Some(heap) = &self.heap {
            let d = &heap.stats;
            m.push(Measurement::from_value(
                "allocations",
                Unit::Count,
                d.allocations as f64,
            ));
            m.push(Measurement::from_value(
                "frees",
                Unit::Count,
                d.frees as f64,
            ));
            m.push(Measurement::from_value(
                "bytes_allocated",
                Unit::Bytes,
                d.bytes_allocated as f64,
            ));
            m.push(Measurement::from_value(
                "peak_live_bytes",
                Unit::Bytes,
                d.peak_live_bytes as f64,
            ));
            b.notes.push(Note::info(
                "heap_sampling",
                format!(
                    "allocation call sites sampled every {} on average ({} samples); counts and bytes are exact",
                    Unit::Bytes.format(heap.sample_interval_bytes as f64),
                    heap.samples
                ),
            ));
        }
        if let Some(note) = &self.heap_note {
            b.notes.push(Note::info("heap_unavailable", note.clone()));
        }
        if let Some(io) = &self.io.process {
            for (name, unit, value) in io.metrics() {
                m.push(Measurement::from_value(name, unit, value as f64));
            }
        }
        report.benchmarks.push(b);
        report
    }
}
