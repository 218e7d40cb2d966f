//! The git state of a directory: the commit checked out, the branch, and
//! whether tracked files differ from the commit.
//!
//! The commit and the branch are read from the repository's own files
//! (`HEAD`, the loose ref, `packed-refs`): a few system calls, where
//! starting `git` costs 2 to 10 ms. Outside a repository nothing is started
//! at all. Whatever this reader is not sure to read exactly as `git` would is
//! left to `git` itself: environment variables that move or configure the
//! repository, a bare repository, a repository owned by another user (which
//! `git` may refuse), the reftable format, a symbolic ref pointing at another
//! symbolic ref, a branch name that `git rev-parse --abbrev-ref` would
//! disambiguate, anything malformed. Whether tracked files changed always
//! takes `git status`, which only `git` can answer.
//!
//! The values are those of `git rev-parse HEAD`, `git rev-parse --abbrev-ref
//! HEAD` (`None` when detached) and `git status --porcelain
//! --untracked-files=no`; with no commit (outside a repository, on an unborn
//! branch, or without `git` where it is needed) all three are `None`.

use std::fs;
use std::io;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::Command;

/// The git state of a directory.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GitState {
    /// The commit checked out (`git rev-parse HEAD`).
    pub commit: Option<String>,
    /// The branch checked out, `None` when HEAD is detached.
    pub branch: Option<String>,
    /// Whether tracked files differ from the commit; `None` when `git`
    /// could not say.
    pub dirty: Option<bool>,
}

/// Reads the git state of `dir`, starting `git` only for what the files do
/// not tell exactly (always for the dirty state, inside a repository).
pub fn read(dir: &Path) -> GitState {
    match head_from_files(dir) {
        Ok(None) => GitState::default(),
        Ok(Some(head)) => GitState {
            dirty: dirty(dir),
            commit: Some(head.commit),
            branch: head.branch,
        },
        Err(AskGit) => from_git(dir),
    }
}

/// The commit and branch, as read from files.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Head {
    commit: String,
    branch: Option<String>,
}

/// The files do not tell for sure: `git` must be asked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct AskGit;

/// A repository found from a directory.
#[derive(Debug)]
struct Repo {
    /// Where `HEAD` and the per-worktree refs are.
    git_dir: PathBuf,
    /// Where the shared refs and `packed-refs` are (the main repository's
    /// git directory, for a linked worktree).
    common_dir: PathBuf,
}

/// Variables that move the repository, change how it is found or read, or
/// configure `git` beyond what this reader follows.
const GIT_VARIABLES: [&str; 9] = [
    "GIT_DIR",
    "GIT_WORK_TREE",
    "GIT_COMMON_DIR",
    "GIT_CEILING_DIRECTORIES",
    "GIT_DISCOVERY_ACROSS_FILESYSTEM",
    "GIT_OBJECT_DIRECTORY",
    "GIT_NAMESPACE",
    "GIT_REF_STORAGE",
    "GIT_DEFAULT_REF_FORMAT",
];

/// The commit and branch of the repository containing `start`: `Ok(None)`
/// when `git rev-parse HEAD` would fail (no repository, an unborn branch).
fn head_from_files(start: &Path) -> Result<Option<Head>, AskGit> {
    let moved = std::env::vars_os().any(|(k, _)| {
        let k = k.to_string_lossy();
        GIT_VARIABLES.contains(&k.as_ref()) || k.starts_with("GIT_CONFIG")
    });
    if moved {
        return Err(AskGit);
    }
    let Some(repo) = discover(start)? else {
        return Ok(None);
    };
    let config = fs::read_to_string(repo.common_dir.join("config")).map_err(|_| AskGit)?;
    if config.to_ascii_lowercase().contains("refstorage") {
        // The reftable format (or a future one) keeps refs elsewhere.
        return Err(AskGit);
    }
    let head = read_ref_file(&repo.git_dir.join("HEAD"))?.ok_or(AskGit)?;
    match head {
        RefValue::Id(commit) => Ok(Some(Head {
            commit,
            branch: None,
        })),
        RefValue::Symbolic(target) => {
            let mut packed = None;
            let Some(commit) = resolve_direct(&repo, &target, &mut packed)? else {
                // An unborn branch: `git rev-parse HEAD` fails.
                return Ok(None);
            };
            Ok(Some(Head {
                commit,
                branch: Some(abbreviate(&repo, &target, &mut packed)?),
            }))
        }
    }
}

/// Finds the repository containing `start` the way `git` does: the first
/// directory upwards holding a `.git` directory or file, without crossing
/// into another file system. `Err` for what this reader leaves to `git`.
fn discover(start: &Path) -> Result<Option<Repo>, AskGit> {
    if !start.is_absolute() {
        return Err(AskGit);
    }
    let device = fs::metadata(start).map_err(|_| AskGit)?.dev();
    let mut dir = start.to_path_buf();
    loop {
        let dot_git = dir.join(".git");
        match fs::metadata(&dot_git) {
            Ok(m) if m.is_dir() => {
                let common_dir = common_dir(&dot_git)?;
                if !is_git_dir(&dot_git, &common_dir)? {
                    return Err(AskGit);
                }
                check_owner(&[&dir, &dot_git])?;
                return Ok(Some(Repo {
                    git_dir: dot_git,
                    common_dir,
                }));
            }
            Ok(m) if m.is_file() => {
                // A linked worktree or a submodule: `gitdir: PATH`.
                let text = fs::read_to_string(&dot_git).map_err(|_| AskGit)?;
                let target = text
                    .strip_prefix("gitdir: ")
                    .map(|t| t.trim_end_matches(['\n', '\r']))
                    .filter(|t| !t.is_empty())
                    .ok_or(AskGit)?;
                let git_dir = dir.join(target);
                let common_dir = common_dir(&git_dir)?;
                if !is_git_dir(&git_dir, &common_dir)? {
                    return Err(AskGit);
                }
                check_owner(&[&dir, &dot_git, &git_dir])?;
                return Ok(Some(Repo {
                    git_dir,
                    common_dir,
                }));
            }
            Ok(_) => return Err(AskGit),
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(_) => return Err(AskGit),
        }
        // `dir` itself may be a git directory: a bare repository, or the
        // inside of a `.git`.
        match fs::symlink_metadata(dir.join("HEAD")) {
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            _ => return Err(AskGit),
        }
        if !dir.pop() {
            return Ok(None);
        }
        // `git` stops at a file system boundary.
        if fs::metadata(&dir).map_err(|_| AskGit)?.dev() != device {
            return Ok(None);
        }
    }
}

/// The common directory of a git directory: where its `commondir` file
/// points (a linked worktree), or itself.
fn common_dir(git_dir: &Path) -> Result<PathBuf, AskGit> {
    match fs::read_to_string(git_dir.join("commondir")) {
        Ok(text) => {
            let target = text.trim_end_matches(['\n', '\r']);
            if target.is_empty() {
                return Err(AskGit);
            }
            Ok(git_dir.join(target))
        }
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(git_dir.to_path_buf()),
        Err(_) => Err(AskGit),
    }
}

/// `git`'s test of a git directory: a valid `HEAD`, and `objects` and
/// `refs` in the common directory. `Ok(false)` when it is none.
fn is_git_dir(git_dir: &Path, common_dir: &Path) -> Result<bool, AskGit> {
    let head = git_dir.join("HEAD");
    match fs::symlink_metadata(&head) {
        Ok(m) if m.is_file() => {}
        // A symbolic link as HEAD is an ancient format.
        Ok(_) => return Err(AskGit),
        Err(_) => return Ok(false),
    }
    if read_ref_file(&head).is_err() {
        return Ok(false);
    }
    Ok(common_dir.join("objects").is_dir() && common_dir.join("refs").is_dir())
}

/// `git` refuses a repository owned by someone else unless configured to
/// trust it (`safe.directory`); root acting for another user through sudo
/// is judged as that user. Both are left to `git`.
fn check_owner(paths: &[&Path]) -> Result<(), AskGit> {
    // SAFETY: geteuid has no preconditions.
    let euid = unsafe { libc::geteuid() };
    if euid == 0 && std::env::var_os("SUDO_UID").is_some() {
        return Err(AskGit);
    }
    for p in paths {
        if fs::metadata(p).map_err(|_| AskGit)?.uid() != euid {
            return Err(AskGit);
        }
    }
    Ok(())
}

/// What a ref holds.
#[derive(Debug, Clone, PartialEq, Eq)]
enum RefValue {
    /// An object id (SHA-1 or SHA-256, in hex).
    Id(String),
    /// `ref: NAME`.
    Symbolic(String),
}

/// Reads a loose ref file: `Ok(None)` when there is none.
fn read_ref_file(path: &Path) -> Result<Option<RefValue>, AskGit> {
    let text = match fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        // A directory (refs/heads/a when a/b exists) is no ref.
        Err(_) if path.is_dir() => return Ok(None),
        Err(_) => return Err(AskGit),
    };
    let text = text.trim_end_matches(['\n', '\r']);
    if let Some(target) = text.strip_prefix("ref:") {
        let target = target.trim_start_matches([' ', '\t']);
        if !is_plain_ref_name(target) || !target.starts_with("refs/") {
            return Err(AskGit);
        }
        return Ok(Some(RefValue::Symbolic(target.to_string())));
    }
    if is_object_id(text) {
        return Ok(Some(RefValue::Id(text.to_string())));
    }
    Err(AskGit)
}

fn is_object_id(s: &str) -> bool {
    (s.len() == 40 || s.len() == 64) && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

/// A ref name this reader can look up as a path: no empty, `.`-led or
/// `..` components, no characters `git` forbids in ref names.
fn is_plain_ref_name(name: &str) -> bool {
    !name.is_empty()
        && !name.ends_with(".lock")
        && name.split('/').all(|c| {
            !c.is_empty()
                && !c.starts_with('.')
                && !c.contains("..")
                && !c.contains("@{")
                && !c
                    .bytes()
                    .any(|b| b < 0x20 || b == 0x7f || b" ~^:?*[\\".contains(&b))
        })
}

/// Whether a ref name lives in the worktree's own git directory rather
/// than the common one.
fn is_per_worktree(name: &str) -> bool {
    !name.starts_with("refs/")
        || ["refs/bisect/", "refs/worktree/", "refs/rewritten/"]
            .iter()
            .any(|p| name.starts_with(p))
}

/// The object id a ref names directly: its loose file, else its line in
/// `packed-refs`; `Ok(None)` when it does not exist.
fn resolve_direct(
    repo: &Repo,
    name: &str,
    packed: &mut Option<String>,
) -> Result<Option<String>, AskGit> {
    let base = if is_per_worktree(name) {
        &repo.git_dir
    } else {
        &repo.common_dir
    };
    match read_ref_file(&base.join(name))? {
        Some(RefValue::Id(id)) => return Ok(Some(id)),
        // A symbolic ref to a symbolic ref: rare, left to `git`.
        Some(RefValue::Symbolic(_)) => return Err(AskGit),
        None => {}
    }
    Ok(packed_lookup(repo, name, packed)?.map(str::to_string))
}

/// The id of `name` in `packed-refs` (read once, on first use).
fn packed_lookup<'a>(
    repo: &Repo,
    name: &str,
    packed: &'a mut Option<String>,
) -> Result<Option<&'a str>, AskGit> {
    if packed.is_none() {
        *packed = Some(
            match fs::read_to_string(repo.common_dir.join("packed-refs")) {
                Ok(t) => t,
                Err(e) if e.kind() == io::ErrorKind::NotFound => String::new(),
                Err(_) => return Err(AskGit),
            },
        );
    }
    let text = packed.as_deref().expect("read above");
    for line in text.lines() {
        if line.starts_with('#') || line.starts_with('^') || line.is_empty() {
            continue;
        }
        let (id, ref_name) = line.split_once(' ').ok_or(AskGit)?;
        if ref_name == name {
            return if is_object_id(id) {
                Ok(Some(id))
            } else {
                Err(AskGit)
            };
        }
    }
    Ok(None)
}

/// Whether a ref exists, loose or packed.
fn ref_exists(repo: &Repo, name: &str, packed: &mut Option<String>) -> Result<bool, AskGit> {
    let base = if is_per_worktree(name) {
        &repo.git_dir
    } else {
        &repo.common_dir
    };
    if read_ref_file(&base.join(name))?.is_some() {
        return Ok(true);
    }
    Ok(packed_lookup(repo, name, packed)?.is_some())
}

/// The short name `git rev-parse --abbrev-ref HEAD` prints for the ref
/// HEAD points to. A branch `refs/heads/X` is `X` unless `X` also names
/// another ref (a tag `X`, say), where `git` disambiguates: left to it.
fn abbreviate(repo: &Repo, full: &str, packed: &mut Option<String>) -> Result<String, AskGit> {
    let short = full.strip_prefix("refs/heads/").ok_or(AskGit)?;
    // `git` reads a one-level name such as `FETCH_HEAD` as a file in the
    // git directory.
    for dir in [&repo.git_dir, &repo.common_dir] {
        match fs::symlink_metadata(dir.join(short)) {
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            _ => return Err(AskGit),
        }
    }
    let others = [
        format!("refs/{short}"),
        format!("refs/tags/{short}"),
        format!("refs/remotes/{short}"),
        format!("refs/remotes/{short}/HEAD"),
    ];
    for other in &others {
        if ref_exists(repo, other, packed)? {
            return Err(AskGit);
        }
    }
    Ok(short.to_string())
}

/// Whether tracked files differ from HEAD, from `git status`. It takes no
/// optional lock (`GIT_OPTIONAL_LOCKS=0`: no refresh of the index written
/// back), so it never holds `index.lock` against a `git` command being
/// measured at the same time.
fn dirty(dir: &Path) -> Option<bool> {
    Command::new("git")
        .args(["status", "--porcelain", "--untracked-files=no"])
        .env("GIT_OPTIONAL_LOCKS", "0")
        .current_dir(dir)
        .stdin(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| !o.stdout.is_empty())
}

/// The state as `git` itself reports it.
fn from_git(dir: &Path) -> GitState {
    let line = |args: &[&str]| -> Option<String> {
        let out = Command::new("git")
            .args(args)
            .current_dir(dir)
            .stdin(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .output()
            .ok()?;
        if !out.status.success() {
            return None;
        }
        let s = String::from_utf8(out.stdout).ok()?;
        let s = s.trim();
        (!s.is_empty()).then(|| s.to_string())
    };
    let Some(commit) = line(&["rev-parse", "HEAD"]) else {
        return GitState::default();
    };
    GitState {
        branch: line(&["rev-parse", "--abbrev-ref", "HEAD"]).filter(|b| b != "HEAD"),
        dirty: dirty(dir),
        commit: Some(commit),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Runs `git` in `dir` with a fixed identity, panicking on failure.
    fn git(dir: &Path, args: &[&str]) -> String {
        let out = Command::new("git")
            .args([
                "-c",
                "user.name=perfhub",
                "-c",
                "user.email=perfhub@example.com",
                "-c",
                "commit.gpgsign=false",
                "-c",
                "init.defaultBranch=main",
            ])
            .args(args)
            .current_dir(dir)
            .output()
            .expect("git runs");
        assert!(
            out.status.success(),
            "git {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap().trim().to_string()
    }

    fn have_git() -> bool {
        Command::new("git").arg("--version").output().is_ok()
    }

    /// A fresh directory, removed on drop; its path is canonical, as the
    /// current directory is.
    struct Scratch(PathBuf);

    impl Scratch {
        fn new() -> Scratch {
            use std::sync::atomic::{AtomicU32, Ordering};
            static N: AtomicU32 = AtomicU32::new(0);
            let dir = std::env::temp_dir().join(format!(
                "perfhub-git-test-{}-{}",
                std::process::id(),
                N.fetch_add(1, Ordering::Relaxed)
            ));
            std::fs::create_dir_all(&dir).unwrap();
            Scratch(dir.canonicalize().unwrap())
        }

        fn path(&self) -> &Path {
            &self.0
        }
    }

    impl Drop for Scratch {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    /// A repository with one commit of `a.txt`, on branch `main`.
    fn repo() -> Scratch {
        let dir = Scratch::new();
        git(dir.path(), &["init", "-q"]);
        std::fs::write(dir.path().join("a.txt"), "one\n").unwrap();
        git(dir.path(), &["add", "a.txt"]);
        git(dir.path(), &["commit", "-q", "-m", "one"]);
        dir
    }

    /// The state from files must be the one `git` reports, with no
    /// fallback to `git` for the cases the reader is meant to handle.
    fn assert_read_from_files(dir: &Path) -> GitState {
        let expected = from_git(dir);
        let head = head_from_files(dir).expect("read from files, without git");
        assert_eq!(
            head.as_ref().map(|h| h.commit.clone()),
            expected.commit,
            "commit"
        );
        assert_eq!(
            head.as_ref().and_then(|h| h.branch.clone()),
            expected.branch,
            "branch"
        );
        let state = read(dir);
        assert_eq!(state, expected);
        state
    }

    #[test]
    fn reads_branch_and_commit_of_a_clean_then_dirty_checkout() {
        if !have_git() {
            return;
        }
        let dir = repo();
        let state = assert_read_from_files(dir.path());
        assert_eq!(state.branch.as_deref(), Some("main"));
        assert_eq!(state.commit.as_deref().map(str::len), Some(40));
        assert_eq!(state.dirty, Some(false));

        // Untracked files do not count; a changed tracked file does.
        std::fs::write(dir.path().join("new.txt"), "x").unwrap();
        assert_eq!(read(dir.path()).dirty, Some(false));
        std::fs::write(dir.path().join("a.txt"), "two\n").unwrap();
        assert_eq!(assert_read_from_files(dir.path()).dirty, Some(true));

        // From a subdirectory too.
        let sub = dir.path().join("sub/deeper");
        std::fs::create_dir_all(&sub).unwrap();
        assert_eq!(assert_read_from_files(&sub).branch.as_deref(), Some("main"));
    }

    #[test]
    fn reads_a_detached_head_and_a_nested_branch_name() {
        if !have_git() {
            return;
        }
        let dir = repo();
        git(dir.path(), &["checkout", "-q", "-b", "feature/x"]);
        let state = assert_read_from_files(dir.path());
        assert_eq!(state.branch.as_deref(), Some("feature/x"));

        let commit = git(dir.path(), &["rev-parse", "HEAD"]);
        git(dir.path(), &["checkout", "-q", "--detach"]);
        let state = assert_read_from_files(dir.path());
        assert_eq!(state.commit.as_deref(), Some(commit.as_str()));
        assert_eq!(state.branch, None);
    }

    #[test]
    fn reads_packed_refs() {
        if !have_git() {
            return;
        }
        let dir = repo();
        git(dir.path(), &["pack-refs", "--all"]);
        assert!(!dir.path().join(".git/refs/heads/main").exists());
        let state = assert_read_from_files(dir.path());
        assert_eq!(state.branch.as_deref(), Some("main"));
        assert!(state.commit.is_some());
    }

    #[test]
    fn reads_a_linked_worktree() {
        if !have_git() {
            return;
        }
        let dir = repo();
        let wt = dir.path().join("wt");
        git(dir.path(), &["worktree", "add", "-q", "-b", "side", "wt"]);
        let state = assert_read_from_files(&wt);
        assert_eq!(state.branch.as_deref(), Some("side"));
        assert_eq!(state.dirty, Some(false));
    }

    #[test]
    fn an_unborn_branch_and_no_repository_have_no_state() {
        if !have_git() {
            return;
        }
        let dir = Scratch::new();
        git(dir.path(), &["init", "-q"]);
        assert_eq!(head_from_files(dir.path()), Ok(None));
        assert_eq!(read(dir.path()), GitState::default());

        let plain = Scratch::new();
        // Only meaningful where the temporary directory is outside any repository.
        if from_git(plain.path()).commit.is_none() {
            assert_eq!(head_from_files(plain.path()), Ok(None));
            assert_eq!(read(plain.path()), GitState::default());
        }
    }

    #[test]
    fn an_ambiguous_branch_name_is_left_to_git() {
        if !have_git() {
            return;
        }
        let dir = repo();
        git(dir.path(), &["tag", "main"]);
        assert_eq!(head_from_files(dir.path()), Err(AskGit));
        // git disambiguates as `heads/main`; the reader reports what git says.
        let state = read(dir.path());
        assert_eq!(state, from_git(dir.path()));
        assert_eq!(state.branch.as_deref(), Some("heads/main"));
    }

    #[test]
    fn ref_names_that_are_not_plain_paths_are_refused() {
        assert!(is_plain_ref_name("refs/heads/feature/x"));
        assert!(!is_plain_ref_name("refs/heads/../../etc"));
        assert!(!is_plain_ref_name("refs/heads/.hidden"));
        assert!(!is_plain_ref_name("refs//heads"));
        assert!(!is_plain_ref_name("refs/heads/a b"));
        assert!(!is_plain_ref_name("refs/heads/x.lock"));
        assert!(is_object_id(&"a".repeat(40)));
        assert!(is_object_id(&"0".repeat(64)));
        assert!(!is_object_id(&"A".repeat(40)));
        assert!(!is_object_id("abc"));
    }
}
