//! What the test suite needs from the machine, found or provided before
//! anything builds.
//!
//! `cargo xtask ci` first looks for every tool, package and service the
//! suite uses and prints one table: what it found, what it installs, what
//! it starts. As root on a machine with `apt-get` it installs the missing
//! Debian packages in one go, then the `scripts/ci-*.sh` scripts create the
//! virtualenvs (outside the clone, under /var/tmp) and start the services on
//! loopback. Elsewhere it stops before building, with one message that lists
//! everything missing and the command that gets it.
//!
//! A service given through its `PERFHUB_TEST_*` variable is used as it is.
//! A service this run started is stopped when the run ends, pass or fail
//! ([`Services`] stops them on drop).

use std::net::{Ipv4Addr, SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use anyhow::{Context, Result, bail};

/// speedscope's npm package, whose file-format schema perfhub-flame's tests
/// validate perfhub's speedscope output against.
const SPEEDSCOPE_VERSION: &str = "1.25.0";

/// Where `scripts/ci-validators.sh` keeps its virtualenv (its default).
const VALIDATORS_VENV: &str = "/var/tmp/perfhub-ci-venv-validators";

/// A Debian package the suite needs, and how to tell it is there.
struct Package {
    /// What the table calls it.
    what: &'static str,
    /// Debian's package.
    apt: &'static str,
    /// Where it was found, or `None`.
    found: fn() -> Option<String>,
    /// Which tests need it.
    why: &'static str,
    /// A variable that, when set, makes the package unnecessary (the user
    /// provides the service elsewhere).
    unless: Option<&'static str>,
}

const PACKAGES: &[Package] = &[
    Package {
        what: "protoc",
        apt: "protobuf-compiler",
        found: || which("protoc"),
        why: "decodes perfhub's pprof output independently",
        unless: None,
    },
    Package {
        what: "perf",
        apt: "linux-perf",
        found: || runs("perf", &["--version"]).then(|| "perf".into()),
        why: "perfhub profile's fallback sampler",
        unless: None,
    },
    Package {
        what: "nginx",
        apt: "nginx",
        found: || which("nginx"),
        why: "the HTTP/2 peer of perfhub load",
        unless: None,
    },
    Package {
        what: "openssl",
        apt: "openssl",
        found: || which("openssl"),
        why: "certificates for the TLS load tests",
        unless: None,
    },
    Package {
        what: "valgrind",
        apt: "valgrind",
        found: || which("valgrind"),
        why: "instruction counts for perfhub ab",
        unless: None,
    },
    Package {
        what: "git",
        apt: "git",
        found: || which("git"),
        why: "perfhub ab's worktrees",
        unless: None,
    },
    Package {
        what: "ip",
        apt: "iproute2",
        found: || which("ip"),
        why: "the load tests' host in a network namespace",
        unless: None,
    },
    Package {
        what: "curl",
        apt: "curl",
        found: || which("curl"),
        why: "the service scripts' readiness checks",
        unless: None,
    },
    Package {
        what: "node",
        apt: "nodejs",
        found: || which("node"),
        why: "the report page's browser test",
        unless: None,
    },
    Package {
        what: "npm",
        apt: "npm",
        found: || which("npm"),
        why: "playwright-core and speedscope's schema",
        unless: None,
    },
    Package {
        what: "chromium",
        apt: "chromium",
        found: || {
            let path = std::env::var("CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into());
            Path::new(&path).exists().then_some(path)
        },
        why: "the report page's browser test (headless)",
        unless: None,
    },
    Package {
        what: "python3 venv",
        apt: "python3-venv",
        found: || {
            runs("/usr/bin/python3", &["-c", "import ensurepip, venv"])
                .then(|| "/usr/bin/python3".into())
        },
        why: "the validators' and MLflow's virtualenvs",
        unless: None,
    },
    Package {
        what: "taskwarrior",
        apt: "taskwarrior",
        found: || which("task"),
        why: "the workflow adapter's Taskwarrior import",
        unless: Some("PERFHUB_TEST_TASK"),
    },
    Package {
        what: "shellcheck",
        apt: "shellcheck",
        found: || which("shellcheck"),
        why: "actionlint's checks of the workflows' scripts",
        unless: None,
    },
    Package {
        what: "postgresql",
        apt: "postgresql",
        found: || {
            let server = std::fs::read_dir("/usr/lib/postgresql")
                .ok()?
                .find_map(|e| {
                    let bin = e.ok()?.path().join("bin/postgres");
                    bin.exists().then_some(bin)
                })?;
            which("pg_ctlcluster")?;
            Some(server.display().to_string())
        },
        why: "the history store's PostgreSQL tests",
        unless: Some("PERFHUB_TEST_POSTGRES"),
    },
    Package {
        what: "pushgateway",
        apt: "prometheus-pushgateway",
        found: || which("prometheus-pushgateway"),
        why: "the Prometheus adapter's push tests",
        unless: Some("PERFHUB_TEST_PUSHGATEWAY"),
    },
    Package {
        what: "promtool",
        apt: "prometheus",
        found: || which("promtool"),
        why: "checks the Prometheus text format",
        unless: Some("PERFHUB_TEST_PROMTOOL"),
    },
];

/// A service or tool a script provides.
struct Provided {
    what: &'static str,
    /// `scripts/<script>`.
    script: &'static str,
    /// The variables it prints; all set means the user provides it.
    vars: &'static [&'static str],
    /// Whether it is already there (answering, or installed), and where.
    present: fn() -> Option<String>,
    /// What doing it means: "start" or "install".
    action: &'static str,
    why: &'static str,
}

const PROVIDED: &[Provided] = &[
    Provided {
        what: "PostgreSQL server",
        script: "ci-postgres.sh",
        vars: &["PERFHUB_TEST_POSTGRES"],
        present: || answers(5432).then(|| "127.0.0.1:5432".into()),
        action: "start",
        why: "the history store's PostgreSQL tests",
    },
    Provided {
        what: "Pushgateway",
        script: "ci-prometheus.sh",
        vars: &["PERFHUB_TEST_PUSHGATEWAY", "PERFHUB_TEST_PROMTOOL"],
        present: || answers(19091).then(|| "127.0.0.1:19091".into()),
        action: "start",
        why: "the Prometheus adapter's push tests",
    },
    Provided {
        what: "MLflow server",
        script: "ci-mlflow.sh",
        vars: &["PERFHUB_TEST_MLFLOW"],
        present: || answers(15000).then(|| "127.0.0.1:15000".into()),
        action: "start",
        why: "the MLflow adapter's tests",
    },
    Provided {
        what: "Python validators",
        script: "ci-validators.sh",
        vars: &[
            "PERFHUB_TEST_PYTHON",
            "PERFHUB_TEST_FRICTIONLESS",
            "PERFHUB_TEST_TASK",
            "PERFHUB_TEST_ACTIONLINT",
            "PERFHUB_TEST_KUBERNETES_VALIDATE",
        ],
        present: || {
            let venv = Path::new(VALIDATORS_VENV);
            ["frictionless", "actionlint", "kubernetes-validate"]
                .iter()
                .all(|b| venv.join("bin").join(b).exists())
                .then(|| VALIDATORS_VENV.into())
        },
        action: "install",
        why: "frictionless, icalendar, rocrate, jsonschema, actionlint, kubernetes-validate",
    },
    Provided {
        what: "playwright-core",
        script: "ci-browser.sh",
        vars: &["CHROMIUM"],
        present: || {
            Path::new("tests/browser/node_modules/playwright-core")
                .exists()
                .then(|| "tests/browser/node_modules".into())
        },
        action: "install",
        why: "drives Chromium in the browser test",
    },
];

/// The services this run started, stopped on drop (pass, fail or Ctrl-C).
#[derive(Default)]
pub struct Services {
    started: Vec<&'static str>,
}

impl Services {
    /// Stops what this run started, in reverse order.
    pub fn stop(&mut self) {
        while let Some(script) = self.started.pop() {
            eprintln!("ci: stopping what scripts/{script} started");
            let status = Command::new("bash")
                .arg(format!("scripts/{script}"))
                .arg("stop")
                .stdout(Stdio::null())
                .status();
            if !matches!(status, Ok(s) if s.success()) {
                eprintln!("ci: scripts/{script} stop failed ({status:?})");
            }
        }
    }
}

impl Drop for Services {
    fn drop(&mut self) {
        self.stop();
    }
}

/// One row of the preflight table.
struct Row {
    what: &'static str,
    state: String,
    detail: String,
}

fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions and cannot fail.
    unsafe { libc::geteuid() == 0 }
}

fn var_set(name: &str) -> bool {
    std::env::var_os(name).is_some_and(|v| !v.is_empty())
}

/// Looks for everything, prints the table, installs and starts what is
/// missing where it can, and sets the variables the tests read in this
/// process's environment (its children inherit them).
pub fn provision() -> Result<Services> {
    let can_install = is_root() && which("apt-get").is_some();
    let mut rows = Vec::new();
    let mut apt = Vec::new();
    let mut missing = Vec::new();

    for p in PACKAGES {
        if p.unless.is_some_and(var_set) {
            rows.push(Row {
                what: p.what,
                state: "given".into(),
                detail: format!("{} is set", p.unless.unwrap_or_default()),
            });
            continue;
        }
        match (p.found)() {
            Some(at) => rows.push(Row {
                what: p.what,
                state: "found".into(),
                detail: at,
            }),
            None => {
                rows.push(Row {
                    what: p.what,
                    state: if can_install { "install" } else { "MISSING" }.into(),
                    detail: format!("apt: {} ({})", p.apt, p.why),
                });
                apt.push(p.apt);
                if !can_install {
                    missing.push(format!("{} ({}): Debian package {}", p.what, p.why, p.apt));
                }
            }
        }
    }

    let mut components = Vec::new();
    for (what, args) in [
        ("rustfmt", ["fmt", "--version"]),
        ("clippy", ["clippy", "--version"]),
    ] {
        if runs("cargo", &args) {
            rows.push(Row {
                what,
                state: "found".into(),
                detail: "rustup component".into(),
            });
        } else {
            rows.push(Row {
                what,
                state: "install".into(),
                detail: format!("rustup component add {what}"),
            });
            components.push(what);
        }
    }

    let mut scripts = Vec::new();
    for p in PROVIDED {
        if p.vars.iter().all(|v| var_set(v)) {
            rows.push(Row {
                what: p.what,
                state: "given".into(),
                detail: p.vars.join(", "),
            });
            continue;
        }
        let present = (p.present)();
        let state = match (&present, p.action) {
            (Some(_), "start") => "running",
            (Some(_), _) => "found",
            (None, action) => action,
        };
        rows.push(Row {
            what: p.what,
            state: state.into(),
            detail: match present {
                Some(at) => format!("{at} (scripts/{})", p.script),
                None => format!("scripts/{} ({})", p.script, p.why),
            },
        });
        // A running service still goes through its script: it prints the
        // variables and checks that the service really answers.
        scripts.push(p);
        if !is_root() {
            missing.push(format!(
                "{} ({}): run `sudo scripts/{}` and eval what it prints, or set {}",
                p.what,
                p.why,
                p.script,
                p.vars.join(", ")
            ));
        }
    }

    let speedscope = speedscope_schema_path()?;
    let have_schema = speedscope.is_file();
    rows.push(Row {
        what: "speedscope schema",
        state: if have_schema { "found" } else { "fetch" }.into(),
        detail: if have_schema {
            speedscope.display().to_string()
        } else {
            format!("npm pack speedscope@{SPEEDSCOPE_VERSION}")
        },
    });

    print_table(&rows);

    if !missing.is_empty() {
        let mut msg = format!(
            "cannot set up the test suite here ({}); missing:\n",
            if is_root() { "no apt-get" } else { "not root" }
        );
        for m in &missing {
            msg.push_str(&format!("  - {m}\n"));
        }
        if !apt.is_empty() {
            msg.push_str(&format!(
                "install the packages with: sudo apt-get install -y {}\n",
                apt.join(" ")
            ));
        }
        msg.push_str(
            "then run `cargo xtask ci` again (as root on Debian it does all of this itself)",
        );
        bail!(msg);
    }

    if !apt.is_empty() {
        eprintln!("ci: apt-get install {}", apt.join(" "));
        run_quiet("apt-get", &["update", "-qq"])?;
        let mut args = vec!["install", "-y", "-qq", "--no-install-recommends"];
        args.extend(apt.iter().copied());
        let status = Command::new("apt-get")
            .args(&args)
            .env("DEBIAN_FRONTEND", "noninteractive")
            .stdout(Stdio::null())
            .status()
            .context("cannot start apt-get")?;
        if !status.success() {
            bail!("`apt-get {}` failed ({status})", args.join(" "));
        }
    }
    for c in components {
        run_quiet("rustup", &["component", "add", c])?;
    }

    let mut services = Services::default();
    for p in scripts {
        let (vars, started) = run_script(p.script)?;
        if started {
            services.started.push(p.script);
        }
        for (k, v) in vars {
            set_var(&k, &v);
        }
    }

    if !have_schema {
        fetch_speedscope_schema(&speedscope)?;
    }
    set_var(
        "PERFHUB_SPEEDSCOPE_SCHEMA",
        &speedscope.display().to_string(),
    );
    Ok(services)
}

fn print_table(rows: &[Row]) {
    let w = rows.iter().map(|r| r.what.len()).max().unwrap_or(0);
    eprintln!("ci: preflight");
    for r in rows {
        eprintln!("  {:<w$}  {:<8} {}", r.what, r.state, r.detail);
    }
}

/// Runs a service script; the variables it printed and whether it started
/// something (its `# perfhub-ci: started` line).
fn run_script(script: &str) -> Result<(Vec<(String, String)>, bool)> {
    let path = format!("scripts/{script}");
    eprintln!("$ {path}");
    let out = Command::new("bash")
        .arg(&path)
        .stderr(Stdio::inherit())
        .output()
        .with_context(|| format!("cannot start {path}"))?;
    if !out.status.success() {
        bail!("{path} failed ({}): see its messages above", out.status);
    }
    let stdout = String::from_utf8_lossy(&out.stdout);
    Ok(parse_script_output(&stdout))
}

/// Reads `export NAME=value` lines (optionally single-quoted values) and the
/// `# perfhub-ci: started` marker; anything else is ignored.
fn parse_script_output(stdout: &str) -> (Vec<(String, String)>, bool) {
    let mut vars = Vec::new();
    let mut started = false;
    for line in stdout.lines() {
        let line = line.trim();
        if line == "# perfhub-ci: started" {
            started = true;
        } else if let Some((k, v)) = line.strip_prefix("export ").and_then(|r| r.split_once('=')) {
            let v = v
                .strip_prefix('\'')
                .and_then(|v| v.strip_suffix('\''))
                .unwrap_or(v);
            vars.push((k.to_string(), v.to_string()));
        }
    }
    (vars, started)
}

fn set_var(key: &str, value: &str) {
    // SAFETY: xtask sets its environment before it starts any thread; every
    // child process inherits it.
    unsafe { std::env::set_var(key, value) };
}

fn speedscope_schema_path() -> Result<PathBuf> {
    let cache = std::env::var_os("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))
        .context("neither XDG_CACHE_HOME nor HOME is set: no place for the download cache")?;
    Ok(cache
        .join("perfhub")
        .join(format!("speedscope-{SPEEDSCOPE_VERSION}"))
        .join("file-format-schema.json"))
}

/// The schema from speedscope's npm package, into the cache outside the clone.
fn fetch_speedscope_schema(dest: &Path) -> Result<()> {
    eprintln!("ci: fetching speedscope@{SPEEDSCOPE_VERSION}'s file-format schema (npm)");
    let dir = dest.parent().context("the schema path has a parent")?;
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let work = dir.join(format!(".pack-{}", std::process::id()));
    std::fs::create_dir_all(&work)?;
    let result = (|| -> Result<()> {
        let work_s = work.display().to_string();
        run_quiet(
            "npm",
            &[
                "pack",
                "--silent",
                "--pack-destination",
                &work_s,
                &format!("speedscope@{SPEEDSCOPE_VERSION}"),
            ],
        )?;
        run_quiet(
            "tar",
            &[
                "-xzf",
                &format!("{work_s}/speedscope-{SPEEDSCOPE_VERSION}.tgz"),
                "-C",
                &work_s,
                "package/dist/release/file-format-schema.json",
            ],
        )?;
        // Into place by rename: a half-written schema is never seen.
        std::fs::rename(
            work.join("package/dist/release/file-format-schema.json"),
            dest,
        )?;
        Ok(())
    })();
    let _ = std::fs::remove_dir_all(&work);
    result.context("fetching speedscope's schema")
}

/// The first `name` on PATH that is a file, or in the sbin folders (where
/// Debian puts nginx, which a user's PATH often lacks).
fn which(name: &str) -> Option<String> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain(["/usr/local/sbin", "/usr/sbin", "/sbin"].map(PathBuf::from))
        .map(|d| d.join(name))
        .find(|p| p.is_file())
        .map(|p| p.display().to_string())
}

/// Whether `program args` runs and succeeds (its output discarded).
fn runs(program: &str, args: &[&str]) -> bool {
    Command::new(program)
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// Whether something accepts TCP connections on 127.0.0.1:`port`.
fn answers(port: u16) -> bool {
    TcpStream::connect_timeout(
        &SocketAddr::from((Ipv4Addr::LOCALHOST, port)),
        Duration::from_secs(1),
    )
    .is_ok()
}

fn run_quiet(program: &str, args: &[&str]) -> Result<()> {
    eprintln!("$ {program} {}", args.join(" "));
    let status = Command::new(program)
        .args(args)
        .stdout(Stdio::null())
        .status()
        .with_context(|| format!("cannot start {program}"))?;
    if !status.success() {
        bail!("`{program} {}` failed ({status})", args.join(" "));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::parse_script_output;

    #[test]
    fn script_output_gives_variables_and_the_started_marker() {
        let (vars, started) = parse_script_output(
            "export A=http://127.0.0.1:1\n# perfhub-ci: started\nnoise\nexport B='x y'\n",
        );
        assert!(started);
        assert_eq!(
            vars,
            vec![
                ("A".to_string(), "http://127.0.0.1:1".to_string()),
                ("B".to_string(), "x y".to_string())
            ]
        );
        let (vars, started) = parse_script_output("export C=1\n");
        assert!(!started);
        assert_eq!(vars.len(), 1);
    }
}
