//! `perfhub serve-metrics`: the flags, translated into the Prometheus
//! adapter's scrape server (`perfhub_adapter_prometheus::scrape`).

use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Result;
use clap::Args;
use perfhub_adapter_prometheus::scrape::{ScrapeConfig, ScrapeServer};

use crate::Outcome;

/// Serve the latest reports for Prometheus to scrape.
#[derive(Debug, Args)]
#[command(
    after_help = "Each report's series carry a `report` label, the file's name without .json. Files are re-read when they change; directories are listed again on every scrape.\n\nExamples:\n  perfhub serve-metrics results/                 # every *.json report in results/\n  perfhub serve-metrics --port 0 load.json run.json\n  curl -s http://127.0.0.1:9464/metrics"
)]
pub struct ServeMetricsArgs {
    /// The address to listen on (loopback unless you choose otherwise).
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1")]
    bind: IpAddr,

    /// The port (0 picks a free one, printed at start).
    #[arg(short, long, value_name = "PORT", default_value_t = 9464)]
    port: u16,

    /// Report files, or directories whose *.json perfhub reports are served.
    #[arg(value_name = "REPORTS", required = true)]
    reports: Vec<PathBuf>,
}

/// Runs `perfhub serve-metrics` until interrupted.
pub fn serve_metrics(args: ServeMetricsArgs) -> Result<Outcome> {
    let config = ScrapeConfig {
        warn: Arc::new(|w| eprintln!("perfhub serve-metrics: {w}")),
        ..ScrapeConfig::new(SocketAddr::new(args.bind, args.port), args.reports)
    };
    let server = ScrapeServer::bind(config)?;
    crate::interrupt::install();
    eprintln!(
        "perfhub serve-metrics: serving {} report(s) on http://{}/metrics (Ctrl-C stops)",
        server.report_count(),
        server.local_addr()
    );
    server.serve_until(&crate::interrupt::requested);
    eprintln!("perfhub serve-metrics: stopped");
    Ok(Outcome::Success)
}
