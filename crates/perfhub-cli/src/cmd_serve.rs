//! `perfhub serve`: the target server for load tests and demos.

use std::net::SocketAddr;

use anyhow::{Context, Result};
use clap::Args;
use perfhub_serve::{Fault, ServeConfig, Server, parse_error_rate, parse_latency, parse_stall};

use crate::Outcome;

/// Serve HTTP with a chosen latency, error rate and stalls.
#[derive(Debug, Args)]
#[command(
    after_help = "Every path answers 200 with a small body; /status/CODE answers CODE; /stats answers the counts served so far as JSON. It runs until interrupted.\n\nExamples:\n  perfhub serve --port 8080 --latency 5ms\n  perfhub serve --latency lognormal:median=5ms,p99=50ms --error-rate 0.1%\n  perfhub serve --stall 1s/5s        # pause 1 s every 5 s: coordinated omission made visible\n  perfhub serve --fault reset        # every connection reset after its request\n  perfhub serve --tls --cert-out cert.pem   # HTTPS; then perfhub load https://127.0.0.1:8080/ --cacert cert.pem"
)]
pub struct ServeArgs {
    /// The address to listen on: 127.0.0.1 by default, 0.0.0.0 or :: for
    /// every interface (in a container, say).
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1")]
    bind: std::net::IpAddr,

    /// The port (0 picks a free one, printed at start).
    #[arg(short, long, value_name = "PORT", default_value_t = 8080)]
    port: u16,

    /// Per-request latency: none, 5ms, 1ms..10ms, or
    /// lognormal:median=5ms,p99=50ms (at most 3600s).
    #[arg(long, value_name = "LATENCY", default_value = "none")]
    latency: String,

    /// The share of responses answered 500, such as 0.1% or 0.001.
    #[arg(long, value_name = "RATE", default_value = "0", value_parser = parse_error_rate)]
    error_rate: f64,

    /// A periodic stall of the whole server, PAUSE/EVERY, such as 1s/5s
    /// (a period of at most 3600s).
    #[arg(long, value_name = "PAUSE/EVERY")]
    stall: Option<String>,

    /// A fault on every connection: reset (closed with a reset after the
    /// request) or hang (never answered).
    #[arg(long, value_name = "FAULT", value_parser = ["reset", "hang"])]
    fault: Option<String>,

    /// The size of the 200 response body, in bytes.
    #[arg(long, value_name = "BYTES", default_value_t = 13)]
    body_bytes: usize,

    /// Serve HTTPS, with a self-signed certificate made at start.
    #[arg(long)]
    tls: bool,

    /// With --tls, write the certificate (PEM) here, for clients to trust
    /// (`perfhub load --cacert FILE`).
    #[arg(long, value_name = "FILE", requires = "tls")]
    cert_out: Option<std::path::PathBuf>,

    /// The seed of the random latencies and errors.
    #[arg(long, value_name = "N", default_value_t = 0)]
    seed: u64,
}

/// Runs `perfhub serve` until interrupted.
pub fn serve(args: ServeArgs) -> Result<Outcome> {
    let config = ServeConfig {
        latency: parse_latency(&args.latency)?,
        error_rate: args.error_rate,
        stall: args.stall.as_deref().map(parse_stall).transpose()?,
        fault: match args.fault.as_deref() {
            Some("reset") => Some(Fault::Reset),
            Some("hang") => Some(Fault::Hang),
            _ => None,
        },
        body_bytes: args.body_bytes,
        seed: args.seed,
        tls: args.tls,
    };
    crate::interrupt::install();
    let server = Server::start(SocketAddr::new(args.bind, args.port), config)
        .with_context(|| format!("cannot serve on {}:{}", args.bind, args.port))?;
    if let (Some(path), Some(pem)) = (&args.cert_out, server.certificate_pem()) {
        crate::report_io::write_file(path, pem.as_bytes())?;
    }
    let scheme = if args.tls { "https" } else { "http" };
    eprintln!(
        "perfhub serve: listening on {scheme}://{}/ (Ctrl-C stops)",
        server.addr()
    );
    while !crate::interrupt::requested() {
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    let served = server.requests_served();
    server.stop();
    eprintln!("perfhub serve: stopped after {served} requests");
    Ok(Outcome::Success)
}
