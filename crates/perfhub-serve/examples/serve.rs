//! Runs perfhub's target server in the foreground until killed, for trying
//! load tools against it:
//!
//! ```text
//! cargo run --release -p perfhub-serve --example serve -- --addr 127.0.0.1:8080 \
//!     --latency lognormal:median=5ms,p99=50ms --stall 1s/5s --error-rate 0.01
//! wrk -t1 -c64 -d5s http://127.0.0.1:8080/
//! ```
//!
//! Flags: `--addr ADDR` (loopback only; default 127.0.0.1:8080),
//! `--latency SPEC`, `--error-rate F`, `--stall PAUSE/EVERY`,
//! `--fault reset|hang`, `--body-bytes N`, `--seed N`.

use std::net::SocketAddr;
use std::process::ExitCode;
use std::time::Duration;

use perfhub_serve::{Fault, ServeConfig, Server, parse_latency, parse_stall};

fn parse_args() -> Result<(SocketAddr, ServeConfig), String> {
    let mut addr: SocketAddr = "127.0.0.1:8080".parse().expect("a valid default");
    let mut config = ServeConfig::default();
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        if flag == "-h" || flag == "--help" {
            return Err(USAGE.into());
        }
        let value = args
            .next()
            .ok_or_else(|| format!("{flag} needs a value\n{USAGE}"))?;
        match flag.as_str() {
            "--addr" => {
                addr = value
                    .parse()
                    .map_err(|e| format!("bad --addr {value:?}: {e}; e.g. 127.0.0.1:8080"))?;
            }
            "--latency" => config.latency = parse_latency(&value).map_err(|e| e.to_string())?,
            "--stall" => config.stall = Some(parse_stall(&value).map_err(|e| e.to_string())?),
            "--error-rate" => {
                config.error_rate = value.parse().map_err(|_| {
                    format!("bad --error-rate {value:?}: give a fraction such as 0.01")
                })?;
            }
            "--fault" => {
                config.fault = Some(match value.as_str() {
                    "reset" => Fault::Reset,
                    "hang" => Fault::Hang,
                    _ => return Err(format!("bad --fault {value:?}: give reset or hang")),
                });
            }
            "--body-bytes" => {
                config.body_bytes = value.parse().map_err(|_| {
                    format!("bad --body-bytes {value:?}: give a byte count such as 13")
                })?;
            }
            "--seed" => {
                config.seed = value
                    .parse()
                    .map_err(|_| format!("bad --seed {value:?}: give an integer"))?;
            }
            _ => return Err(format!("unknown flag {flag}\n{USAGE}")),
        }
    }
    Ok((addr, config))
}

const USAGE: &str = "usage: serve [--addr 127.0.0.1:8080] [--latency SPEC] [--error-rate F] \
[--stall PAUSE/EVERY] [--fault reset|hang] [--body-bytes N] [--seed N]";

fn main() -> ExitCode {
    let (addr, config) = match parse_args() {
        Ok(parsed) => parsed,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::from(2);
        }
    };
    let server = match Server::start(addr, config) {
        Ok(server) => server,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::FAILURE;
        }
    };
    println!("serving on {}", server.url());
    // Until killed; report the count now and then.
    let mut last = 0;
    loop {
        std::thread::sleep(Duration::from_secs(5));
        let served = server.requests_served();
        if served != last {
            eprintln!("{served} requests served ({}/s)", (served - last) / 5);
            last = served;
        }
    }
}
