//! The few git operations the gate needs: resolving a revision and checking
//! it out into a temporary worktree that is removed again, whatever happens.

use std::ffi::OsStr;
use std::io::Write;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use crate::GateError;

/// Runs `git args` in `dir` and returns its trimmed standard output.
pub(crate) fn git<I, S>(dir: &Path, args: I) -> Result<String, GateError>
where
    I: IntoIterator<Item = S>,
    S: AsRef<OsStr>,
{
    let out = git_bytes(dir, args, None)?;
    Ok(String::from_utf8_lossy(&out).trim().to_string())
}

/// Runs `git args` in `dir`, with `input` on its standard input, and
/// returns its standard output as it is.
fn git_bytes<I, S>(dir: &Path, args: I, input: Option<&[u8]>) -> Result<Vec<u8>, GateError>
where
    I: IntoIterator<Item = S>,
    S: AsRef<OsStr>,
{
    let args: Vec<_> = args.into_iter().map(|a| a.as_ref().to_owned()).collect();
    let shown = args
        .iter()
        .map(|a| a.to_string_lossy().into_owned())
        .collect::<Vec<_>>()
        .join(" ");
    let cannot_run = |e: std::io::Error| GateError::Git {
        command: shown.clone(),
        message: format!("cannot run git: {e}; install git and put it on the PATH"),
    };
    let mut child = Command::new("git")
        .args(&args)
        .current_dir(dir)
        .stdin(if input.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(cannot_run)?;
    if let (Some(input), Some(mut stdin)) = (input, child.stdin.take()) {
        // git reads the patch whole before it writes: no deadlock.
        stdin.write_all(input).map_err(cannot_run)?;
    }
    let out = child.wait_with_output().map_err(cannot_run)?;
    if !out.status.success() {
        return Err(GateError::Git {
            command: shown,
            message: String::from_utf8_lossy(&out.stderr).trim().to_string(),
        });
    }
    Ok(out.stdout)
}

/// Where the head's checkout is: the repository's top level, and the
/// working directory relative to it.
#[derive(Debug, Clone)]
pub struct Checkout {
    /// `git rev-parse --show-toplevel`.
    pub toplevel: PathBuf,
    /// The working directory within it (empty at the top level).
    pub subdir: PathBuf,
}

impl Checkout {
    /// The checkout that contains `dir`.
    pub fn of(dir: &Path) -> Result<Checkout, GateError> {
        let toplevel = PathBuf::from(git(dir, ["rev-parse", "--show-toplevel"]).map_err(
            |e| match e {
                GateError::Git { message, .. } => GateError::NotARepository {
                    dir: dir.to_path_buf(),
                    message,
                },
                other => other,
            },
        )?);
        let dir = dir.canonicalize().map_err(|e| GateError::Io {
            path: dir.to_path_buf(),
            source: e,
        })?;
        let top = toplevel.canonicalize().unwrap_or_else(|_| toplevel.clone());
        let subdir = dir
            .strip_prefix(&top)
            .unwrap_or(Path::new(""))
            .to_path_buf();
        Ok(Checkout {
            toplevel: top,
            subdir,
        })
    }

    /// The full commit hash of `rev`.
    pub fn resolve(&self, rev: &str) -> Result<String, GateError> {
        git(
            &self.toplevel,
            [
                "rev-parse",
                "--verify",
                "--quiet",
                &format!("{rev}^{{commit}}"),
            ],
        )
        .map_err(|_| GateError::UnknownRevision {
            rev: rev.to_string(),
        })
    }
}

/// A detached worktree of one commit, removed on drop.
#[derive(Debug)]
pub struct Worktree {
    repo: PathBuf,
    path: PathBuf,
    // Holds the directory the worktree lives in.
    _dir: tempfile::TempDir,
}

impl Worktree {
    /// Checks `commit` out into a new temporary worktree of `repo`.
    pub fn add(repo: &Path, commit: &str) -> Result<Worktree, GateError> {
        let dir = tempfile::Builder::new()
            .prefix("perfhub-ab-")
            .tempdir()
            .map_err(|e| GateError::Io {
                path: std::env::temp_dir(),
                source: e,
            })?;
        let path = dir.path().join("base");
        git(
            repo,
            [
                OsStr::new("worktree"),
                OsStr::new("add"),
                OsStr::new("--detach"),
                OsStr::new("--quiet"),
                path.as_os_str(),
                OsStr::new(commit),
            ],
        )?;
        Ok(Worktree {
            repo: repo.to_path_buf(),
            path,
            _dir: dir,
        })
    }

    /// The worktree's top level.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Turns the worktree into a copy of `head`'s working tree: its commit,
    /// its uncommitted changes and its untracked files (not the ignored
    /// ones, nor anything under a `target` directory). Building the head
    /// here, at the path the base was built from, gives identical code an
    /// identical executable: cargo's hash of a path dependency includes its
    /// directory, and with it the names and the order of the functions.
    pub fn take_tree_of(&self, head: &Checkout) -> Result<(), GateError> {
        let commit = head.resolve("HEAD")?;
        git(
            &self.path,
            ["checkout", "--detach", "--quiet", "--force", &commit],
        )?;
        git(&self.path, ["clean", "-d", "--force", "--quiet"])?;
        let diff = git_bytes(&head.toplevel, ["diff", "--binary", "HEAD"], None)?;
        if !diff.is_empty() {
            git_bytes(&self.path, ["apply", "--binary", "-"], Some(&diff))?;
        }
        let untracked = git_bytes(
            &head.toplevel,
            ["ls-files", "--others", "--exclude-standard", "-z"],
            None,
        )?;
        for rel in untracked.split(|&b| b == 0).filter(|p| !p.is_empty()) {
            let rel = Path::new(OsStr::from_bytes(rel));
            if rel.components().any(|c| c.as_os_str() == "target") {
                continue;
            }
            let to = self.path.join(rel);
            let io = |e: std::io::Error| GateError::Io {
                path: to.clone(),
                source: e,
            };
            if let Some(parent) = to.parent() {
                std::fs::create_dir_all(parent).map_err(io)?;
            }
            std::fs::copy(head.toplevel.join(rel), &to).map_err(io)?;
        }
        Ok(())
    }
}

impl Drop for Worktree {
    fn drop(&mut self) {
        let _ = git(
            &self.repo,
            [
                OsStr::new("worktree"),
                OsStr::new("remove"),
                OsStr::new("--force"),
                self.path.as_os_str(),
            ],
        );
        let _ = git(&self.repo, ["worktree", "prune"]);
    }
}
