//! The terminal summary of a [`CommandProfile`], as `perfhub profile`
//! prints it.

use std::io::{self, Write};
use std::path::PathBuf;
use std::time::Duration;

use perfhub_core::report::Severity;
use perfhub_core::units::Unit;

use super::{CommandProfile, SamplerUsed};

fn secs(d: Duration) -> String {
    Unit::Seconds.format(d.as_secs_f64())
}

impl CommandProfile {
    /// The `n` functions with the most samples at the top of the stack (self
    /// time), most first, with their samples' weight.
    pub fn hottest(&self, n: usize) -> Vec<(String, u64)> {
        let mut by_leaf: std::collections::HashMap<&str, u64> = std::collections::HashMap::new();
        for (stack, weight) in &self.stacks.stacks {
            if let Some(leaf) = stack.last() {
                *by_leaf.entry(leaf.as_str()).or_insert(0) += weight;
            }
        }
        let mut hot: Vec<(String, u64)> = by_leaf
            .into_iter()
            .map(|(name, w)| (name.to_string(), w))
            .collect();
        hot.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        hot.truncate(n);
        hot
    }

    /// Writes the summary `perfhub profile` prints: how it was sampled, the
    /// run's times, the samples and the `top` hottest functions, the
    /// timeline's peaks, and the files `written` (as
    /// [`CommandProfile::write_outputs`] returns them).
    pub fn write_summary(
        &self,
        out: &mut impl Write,
        written: &[PathBuf],
        top: usize,
    ) -> io::Result<()> {
        self.write_how(out)?;
        if self.sampler != SamplerUsed::TimelineOnly {
            self.write_samples(out, top)?;
        }
        if let Some(peak) = self.timeline.iter().map(|p| p.cpu_percent).reduce(f64::max) {
            writeln!(
                out,
                "  timeline  {} points, peak CPU {peak:.0}%, peak threads {}",
                self.timeline.len(),
                self.timeline.iter().map(|p| p.threads).max().unwrap_or(0)
            )?;
        }
        writeln!(out, "  wrote")?;
        for path in written {
            writeln!(out, "    {}", path.display())?;
        }
        if let Some(firefox) = written
            .iter()
            .find(|p| p.file_name().is_some_and(|f| f == "profile.firefox.json"))
        {
            writeln!(
                out,
                "  threads over time: load {} at https://profiler.firefox.com, or `samply load` it",
                firefox.display()
            )?;
        }
        Ok(())
    }

    /// What was profiled and how, the warnings, the times and the exit.
    fn write_how(&self, out: &mut impl Write) -> io::Result<()> {
        writeln!(out, "perfhub profile: {}", self.name)?;
        writeln!(
            out,
            "  sampler   {}: {}",
            self.sampler.name(),
            self.mechanism
        )?;
        if let Some(why) = &self.fallback_reason {
            writeln!(out, "  fallback  {why}")?;
        }
        for note in self.notes.iter().chain(&self.no_samples_note()) {
            if note.severity == Severity::Warning {
                writeln!(out, "  note      {}", note.message)?;
            }
        }
        let wall = secs(self.wall);
        match &self.run {
            Some(run) => writeln!(
                out,
                "  time      {wall} wall, {} user, {} system, max RSS {}",
                secs(run.user),
                secs(run.system),
                Unit::Bytes.format(run.max_rss_bytes as f64)
            )?,
            None => writeln!(out, "  time      {wall}")?,
        }
        if let Some(exit) = self.exit.filter(|e| !e.success()) {
            writeln!(out, "  exit      {exit}")?;
        }
        Ok(())
    }

    /// The samples, those lost or without a chain, and the hottest functions.
    fn write_samples(&self, out: &mut impl Write, top: usize) -> io::Result<()> {
        let mut line = format!("  samples   {}", self.samples);
        if self.lost > 0 {
            line += &format!(", {} lost (buffers full)", self.lost);
        }
        if self.unwind_failures > 0 {
            line += &format!(", {} without a call chain", self.unwind_failures);
        }
        if self.sampler == SamplerUsed::PerfEvent {
            line += &format!(
                ", symbolized in {} ({} after sampling ended)",
                secs(self.symbolize_time),
                secs(self.symbolize_wait)
            );
        }
        writeln!(out, "{line}")?;
        let total = self.stacks.total().max(1) as f64;
        let hot = self.hottest(top);
        if !hot.is_empty() {
            writeln!(out, "  hottest functions (self time):")?;
            for (name, w) in hot {
                writeln!(out, "    {:5.1}%  {name}", w as f64 / total * 100.0)?;
            }
        }
        Ok(())
    }
}
