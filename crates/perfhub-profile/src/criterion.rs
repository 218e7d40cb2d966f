//! A flame graph per criterion benchmark.
//!
//! ```no_run
//! use perfhub_profile::criterion::FlameGraphProfiler;
//!
//! fn my_bench(c: &mut criterion::Criterion) {
//!     c.bench_function("sum", |b| b.iter(|| (0..100u64).sum::<u64>()));
//! }
//!
//! criterion::criterion_group! {
//!     name = benches;
//!     config = criterion::Criterion::default().with_profiler(FlameGraphProfiler::default());
//!     targets = my_bench
//! }
//! criterion::criterion_main!(benches);
//! ```
//!
//! Then `cargo bench -- --profile-time 5` profiles each benchmark for five
//! seconds and writes `flamegraph.svg` (and `profile.pb.gz`, for pprof)
//! under `target/criterion/<benchmark>/profile/`.

use std::path::Path;

use crate::cpu::CpuProfileConfig;
use crate::{Profile, ProfileConfig, Profiler};

/// criterion's `Profiler`, drawing each benchmark's CPU profile.
pub struct FlameGraphProfiler {
    frequency_hz: u64,
    active: Option<Profiler>,
    last_error: Option<String>,
}

impl Default for FlameGraphProfiler {
    fn default() -> Self {
        FlameGraphProfiler::new(CpuProfileConfig::default().frequency_hz)
    }
}

impl FlameGraphProfiler {
    /// A profiler sampling at `frequency_hz`.
    pub fn new(frequency_hz: u64) -> Self {
        FlameGraphProfiler {
            frequency_hz,
            active: None,
            last_error: None,
        }
    }

    /// The last error, if profiling or writing a benchmark's files failed
    /// (criterion's trait has no way to return one).
    pub fn last_error(&self) -> Option<&str> {
        self.last_error.as_deref()
    }

    fn write(profile: &Profile, dir: &Path) -> Result<(), String> {
        std::fs::create_dir_all(dir)
            .map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
        profile
            .write_flamegraph(dir.join("flamegraph.svg"))
            .map_err(|e| e.to_string())?;
        profile
            .write_pprof(dir.join("profile.pb.gz"))
            .map_err(|e| e.to_string())
    }
}

impl criterion::profiler::Profiler for FlameGraphProfiler {
    fn start_profiling(&mut self, benchmark_id: &str, _benchmark_dir: &Path) {
        let config = ProfileConfig {
            name: benchmark_id.to_string(),
            cpu: Some(CpuProfileConfig::at(self.frequency_hz)),
            heap: None,
        };
        match Profiler::start(config) {
            Ok(p) => self.active = Some(p),
            Err(e) => self.last_error = Some(format!("{benchmark_id}: {e}")),
        }
    }

    fn stop_profiling(&mut self, benchmark_id: &str, benchmark_dir: &Path) {
        if let Some(p) = self.active.take() {
            let profile = p.finish();
            if let Err(e) = Self::write(&profile, benchmark_dir) {
                self.last_error = Some(format!("{benchmark_id}: {e}"));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::hint::black_box;

    use criterion::profiler::Profiler as _;

    use super::*;

    #[inline(never)]
    fn busy() -> u64 {
        let mut acc = 0u64;
        for i in 0..30_000_000u64 {
            acc = black_box(acc.wrapping_add(i * i));
        }
        acc
    }

    #[test]
    fn writes_a_flame_graph_into_the_benchmark_directory() {
        let dir = std::env::temp_dir().join(format!("perfhub-criterion-{}", std::process::id()));
        let mut p = FlameGraphProfiler::new(997);
        p.start_profiling("group/bench", &dir);
        black_box(busy());
        p.stop_profiling("group/bench", &dir);
        assert_eq!(p.last_error(), None);
        let svg = std::fs::read_to_string(dir.join("flamegraph.svg")).unwrap();
        assert!(
            svg.contains("<svg") && svg.contains("busy"),
            "{}",
            &svg[..svg.len().min(500)]
        );
        assert!(dir.join("profile.pb.gz").is_file());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
