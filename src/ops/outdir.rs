//! The output directory: the only place gcc writes files, and the rules it keeps there.
//!
//! * gcc replaces a directory only when it is absent, empty, or a gcc output tree: a
//!   `gcc.lock.json` whose build id is the one its file list hashes to, and no file that
//!   lock does not list ([`claim`]). Anything else is refused with the strangers named.
//! * No output directory may be, contain or sit inside the source root's inputs or a git
//!   directory, and no two outputs of one run may overlap ([`Placement`]).
//! * The new tree is written beside the old one (`.<name>.new`, lock first) and swapped
//!   in: on Linux with one exchange rename, so a reader never sees the directory missing;
//!   elsewhere with two renames. The old tree is removed lock last, so that whatever an
//!   interrupted run leaves behind still says it is gcc's and the next build removes it.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::fs;
use std::io;
use std::path::{Component, Path, PathBuf};

use walkdir::WalkDir;

use crate::diag::Diagnostic;
use crate::render::{LOCK_FILE, validate_output_path};

/// Code: the tree has no environments/ directory or no environment in it (`build --all`).
pub(crate) const NO_ENVIRONMENTS: &str = "gcc::build::no_environments";
/// Code: the output tree could not be written.
pub(crate) const WRITE_FAILED: &str = "gcc::build::write_failed";
/// Code: the output directory holds files gcc did not write.
pub const NOT_OURS: &str = "gcc::build::not_gcc_output";
/// Code: an output directory is, holds or sits inside an input, the source root, a git
/// directory, or another output of the same run.
pub const OVERLAP: &str = "gcc::build::output_overlaps";

/// How many strangers a refusal names before it says "and N more".
const NAMED_STRANGERS: usize = 10;

/// Why a tree was not written. Whatever the reason, the output directory is as it was.
#[derive(Debug)]
pub enum WriteError {
    /// The output directory is a symbolic link.
    Symlink(PathBuf),
    /// The output path exists and is not a directory.
    NotADirectory(PathBuf),
    /// The output directory, one below it, or its parent is read-only.
    ReadOnly(PathBuf),
    /// The directory holds what gcc did not write.
    NotOurs {
        /// The directory.
        dir: PathBuf,
        /// Why it is not a gcc tree.
        why: &'static str,
        /// Paths relative to `dir`, sorted.
        strangers: Vec<String>,
    },
    /// The file system said no.
    Io {
        /// The path being written, moved or removed.
        path: PathBuf,
        /// What the error was.
        error: io::Error,
    },
}

impl WriteError {
    fn io(path: &Path, error: io::Error) -> Self {
        WriteError::Io {
            path: path.to_path_buf(),
            error,
        }
    }

    /// The diagnostic for this failure to write the tree of `out`.
    pub fn diagnostic(&self, out: &Path) -> Diagnostic {
        let untouched = format!("nothing in {} was changed", out.display());
        match self {
            WriteError::Symlink(p) => Diagnostic::error(
                WRITE_FAILED,
                format!(
                    "output directory {} is a symbolic link; gcc writes only real directories",
                    p.display()
                ),
            )
            .help(format!("{untouched}; point --out at a real directory")),
            WriteError::NotADirectory(p) => Diagnostic::error(
                WRITE_FAILED,
                format!(
                    "{} exists and is not a directory; gcc replaces only its own output trees",
                    p.display()
                ),
            )
            .help(format!(
                "{untouched}; move the file away or choose another --out"
            )),
            WriteError::ReadOnly(p) => Diagnostic::error(
                WRITE_FAILED,
                format!(
                    "cannot write {}: {} is read-only",
                    out.display(),
                    p.display()
                ),
            )
            .help(format!("{untouched}; fix the permissions and build again")),
            WriteError::NotOurs {
                dir,
                why,
                strangers,
            } => {
                let mut named: Vec<String> = strangers
                    .iter()
                    .take(NAMED_STRANGERS)
                    .map(|s| format!("`{s}`"))
                    .collect();
                if strangers.len() > NAMED_STRANGERS {
                    named.push(format!("and {} more", strangers.len() - NAMED_STRANGERS));
                }
                Diagnostic::error(
                    NOT_OURS,
                    format!(
                        "refusing to replace {}: it {why}: {}",
                        dir.display(),
                        named.join(", ")
                    ),
                )
                .help(format!(
                    "{untouched}; gcc replaces only a directory that is absent, empty or a tree \
                     it wrote itself; choose another --out, or move those files away"
                ))
            }
            WriteError::Io { path, error } => io_diagnostic(out, path, error, &untouched),
        }
    }
}

/// Says what happened: a full disk, a lost race with another build, a permission.
fn io_diagnostic(out: &Path, path: &Path, e: &io::Error, untouched: &str) -> Diagnostic {
    use io::ErrorKind as K;
    let at = path.display();
    match e.kind() {
        K::StorageFull | K::QuotaExceeded => Diagnostic::error(
            WRITE_FAILED,
            format!(
                "cannot write {}: the disk is full (writing {at})",
                out.display()
            ),
        )
        .help(format!("{untouched}; free some space and build again")),
        K::NotFound | K::DirectoryNotEmpty | K::AlreadyExists => Diagnostic::error(
            WRITE_FAILED,
            format!(
                "cannot write {}: {at} was changed by another process while gcc wrote it ({e})",
                out.display()
            ),
        )
        .help(format!(
            "{untouched} by this build; another build of the same output probably ran at the \
             same time: let it finish, then build again"
        )),
        K::PermissionDenied | K::ReadOnlyFilesystem => Diagnostic::error(
            WRITE_FAILED,
            format!("cannot write {}: {at}: {e}", out.display()),
        )
        .help(format!(
            "{untouched}; fix the path or its permissions and build again"
        )),
        _ => Diagnostic::error(
            WRITE_FAILED,
            format!("cannot write {}: {at}: {e}", out.display()),
        )
        .help(format!("{untouched}; build again once the cause is fixed")),
    }
}

impl fmt::Display for WriteError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let d = self.diagnostic(Path::new("the output"));
        f.write_str(&d.message)
    }
}

impl std::error::Error for WriteError {}

/// Every regular file under `dir`, by `/`-separated relative path. A symbolic link
/// anywhere in the tree is an error: gcc never writes one.
pub fn read_tree(dir: &Path) -> io::Result<BTreeMap<String, Vec<u8>>> {
    let mut files = BTreeMap::new();
    for entry in WalkDir::new(dir).min_depth(1).sort_by_file_name() {
        let entry = entry.map_err(io::Error::other)?;
        let kind = entry.file_type();
        if kind.is_symlink() {
            return Err(io::Error::other(format!(
                "{} is a symbolic link",
                entry.path().display()
            )));
        }
        if kind.is_file() {
            files.insert(rel(dir, entry.path()), fs::read(entry.path())?);
        }
    }
    Ok(files)
}

fn rel(dir: &Path, path: &Path) -> String {
    path.strip_prefix(dir)
        .unwrap_or(path)
        .components()
        .map(|c| c.as_os_str().to_string_lossy())
        .collect::<Vec<_>>()
        .join("/")
}

/// The paths a gcc lock lists, when `bytes` is one: its build id is the hash of its file
/// list and it names a gcc version. `None` for anything else.
fn lock_listing(bytes: &[u8]) -> Option<BTreeSet<String>> {
    let lock = crate::lock::Lock::parse(bytes).ok()?;
    (lock.consistent() && !lock.gcc_version.is_empty()).then(|| lock.files.into_keys().collect())
}

/// Files and other non-directories under `dir` (symbolic links included, never
/// followed), relative and sorted.
fn entries(dir: &Path) -> Result<(Vec<String>, Vec<String>), WriteError> {
    let (mut files, mut others) = (Vec::new(), Vec::new());
    for entry in WalkDir::new(dir).min_depth(1).sort_by_file_name() {
        let entry = entry.map_err(|e| {
            let path = e.path().unwrap_or(dir).to_path_buf();
            WriteError::io(&path, e.into())
        })?;
        let kind = entry.file_type();
        if kind.is_file() {
            files.push(rel(dir, entry.path()));
        } else if !kind.is_dir() {
            others.push(rel(dir, entry.path()));
        }
    }
    Ok((files, others))
}

/// Refuses a `dir` that gcc may not replace: a symbolic link, a file, or a directory
/// holding anything but an empty tree or a gcc tree (lock and the files it lists).
pub fn claim(dir: &Path) -> Result<(), WriteError> {
    match fs::symlink_metadata(dir) {
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(WriteError::io(dir, e)),
        Ok(m) if m.file_type().is_symlink() => return Err(WriteError::Symlink(dir.into())),
        Ok(m) if !m.is_dir() => return Err(WriteError::NotADirectory(dir.into())),
        Ok(_) => {}
    }
    let (files, others) = entries(dir)?;
    if files.is_empty() && others.is_empty() {
        return Ok(());
    }
    let not_ours = |why, strangers| WriteError::NotOurs {
        dir: dir.to_path_buf(),
        why,
        strangers,
    };
    let all = || files.iter().chain(&others).cloned().collect::<Vec<_>>();
    if !files.iter().any(|f| f == LOCK_FILE) {
        return Err(not_ours(
            "is not a gcc output tree (no gcc.lock.json)",
            all(),
        ));
    }
    let Some(listed) = fs::read(dir.join(LOCK_FILE))
        .ok()
        .and_then(|b| lock_listing(&b))
    else {
        return Err(not_ours(
            "is not a gcc output tree (its gcc.lock.json is not one gcc wrote)",
            all(),
        ));
    };
    let strangers: Vec<String> = files
        .iter()
        .filter(|f| *f != LOCK_FILE && !listed.contains(*f))
        .chain(&others)
        .cloned()
        .collect();
    if strangers.is_empty() {
        Ok(())
    } else {
        Err(not_ours("holds files gcc did not write", strangers))
    }
}

/// Removes a staging or old tree an interrupted build left at `path`, when it is gcc's:
/// a real directory with a `gcc.lock.json` at its top, or no file at all.
fn clean_leftover(path: &Path) -> Result<(), WriteError> {
    match fs::symlink_metadata(path) {
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(WriteError::io(path, e)),
        Ok(m) if !m.is_dir() => {
            return Err(WriteError::NotOurs {
                dir: path.to_path_buf(),
                why: "is where gcc stages its tree, and is not a directory gcc left",
                strangers: vec![String::new()],
            });
        }
        Ok(_) => {}
    }
    let (files, others) = entries(path)?;
    let ours = others.is_empty() && (files.is_empty() || files.iter().any(|f| f == LOCK_FILE));
    if !ours {
        return Err(WriteError::NotOurs {
            dir: path.to_path_buf(),
            why: "is where gcc stages its tree, and holds what gcc did not leave",
            strangers: files.into_iter().chain(others).collect(),
        });
    }
    remove_tree(path)
}

/// Removes what an interrupted build left beside `dir` (its `.<name>.new` and
/// `.<name>.old`), for a build that found `dir` up to date and writes nothing.
pub(crate) fn tidy(dir: &Path) -> Result<(), WriteError> {
    let (Some(name), Some(parent)) = (dir.file_name(), dir.parent()) else {
        return Ok(());
    };
    let name = name.to_string_lossy();
    clean_leftover(&parent.join(format!(".{name}.new")))?;
    clean_leftover(&parent.join(format!(".{name}.old")))
}

/// Removes a gcc tree, its lock last.
fn remove_tree(path: &Path) -> Result<(), WriteError> {
    let lock = path.join(LOCK_FILE);
    for entry in WalkDir::new(path).min_depth(1).contents_first(true) {
        let entry = entry.map_err(|e| WriteError::io(path, e.into()))?;
        let p = entry.path();
        let result = if entry.file_type().is_dir() {
            fs::remove_dir(p)
        } else if p == lock {
            continue;
        } else {
            fs::remove_file(p)
        };
        result.map_err(|e| WriteError::io(p, e))?;
    }
    match fs::remove_file(&lock) {
        Err(e) if e.kind() != io::ErrorKind::NotFound => return Err(WriteError::io(&lock, e)),
        _ => {}
    }
    fs::remove_dir(path).map_err(|e| WriteError::io(path, e))
}

/// Writes `files` as the whole content of `dir`, atomically: the new tree is written
/// beside it (`.<name>.new`), then swapped in; the old tree is removed last. A failure
/// before the swap leaves `dir` untouched and removes the partial tree. A `dir` that
/// already holds exactly `files` is left alone. Refuses, before anything moves, a `dir`
/// that [`claim`] refuses.
/// What [`write_tree`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Written {
    /// The directory already held exactly this tree: nothing was written.
    Unchanged,
    /// The new tree was swapped in.
    Wrote,
}

pub fn write_tree(dir: &Path, files: &BTreeMap<String, Vec<u8>>) -> Result<Written, WriteError> {
    for path in files.keys() {
        validate_output_path(path)
            .map_err(|e| WriteError::io(dir, io::Error::new(io::ErrorKind::InvalidInput, e)))?;
    }
    let name = dir
        .file_name()
        .ok_or_else(|| {
            let e = io::Error::new(
                io::ErrorKind::InvalidInput,
                "the output directory has no name",
            );
            WriteError::io(dir, e)
        })?
        .to_string_lossy()
        .into_owned();
    let parent = match dir.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    claim(dir)?;
    if fs::symlink_metadata(&parent).is_ok_and(|m| !m.is_dir()) {
        return Err(WriteError::NotADirectory(parent));
    }
    let staging = parent.join(format!(".{name}.new"));
    let old = parent.join(format!(".{name}.old"));
    let parent_exists = parent.is_dir();
    if parent_exists {
        // Leftovers of an interrupted build go first, even when the tree is unchanged.
        clean_leftover(&staging)?;
        clean_leftover(&old)?;
    }
    // The lock is one of the files: when it differs the tree differs, and the rest need not
    // be read back. When it is the same, every file is still compared byte for byte, so an
    // edited file is noticed.
    let same_lock =
        fs::read(dir.join(LOCK_FILE)).ok().as_deref() == files.get(LOCK_FILE).map(Vec::as_slice);
    if same_lock && read_tree(dir).is_ok_and(|t| &t == files) {
        return Ok(Written::Unchanged); // already this tree: no churn for file watchers, no write at all
    }
    if parent_exists {
        refuse_read_only(dir, &parent)?;
    }
    fs::create_dir_all(&parent).map_err(|e| WriteError::io(&parent, e))?;
    if let Err(e) = stage(&staging, files) {
        let _ = remove_tree(&staging);
        return Err(e);
    }
    if fs::symlink_metadata(dir).is_err() {
        if let Err(e) = fs::rename(&staging, dir) {
            let _ = remove_tree(&staging);
            return Err(WriteError::io(dir, e));
        }
        return Ok(Written::Wrote);
    }
    match exchange(&staging, dir) {
        // The old tree, now at `staging`.
        Ok(true) => return remove_tree(&staging).map(|()| Written::Wrote),
        Ok(false) => {}
        Err(e) => {
            let _ = remove_tree(&staging);
            return Err(WriteError::io(dir, e));
        }
    }
    if let Err(e) = fs::rename(dir, &old) {
        let _ = remove_tree(&staging);
        return Err(WriteError::io(dir, e));
    }
    if let Err(e) = fs::rename(&staging, dir) {
        let _ = fs::rename(&old, dir);
        let _ = remove_tree(&staging);
        return Err(WriteError::io(dir, e));
    }
    remove_tree(&old).map(|()| Written::Wrote)
}

/// Mode bits are honoured even by root: a tree marked read-only is not replaced, and an
/// old tree that could not be removed after the swap would leave two trees behind.
fn refuse_read_only(dir: &Path, parent: &Path) -> Result<(), WriteError> {
    let below = WalkDir::new(dir)
        .into_iter()
        .filter_map(Result::ok)
        .filter(|e| e.file_type().is_dir())
        .map(|e| e.into_path());
    for d in std::iter::once(parent.to_path_buf()).chain(below) {
        if fs::metadata(&d).is_ok_and(|m| m.permissions().readonly()) {
            return Err(WriteError::ReadOnly(d));
        }
    }
    Ok(())
}

/// Writes the tree at `staging`, the lock first: a partial staging tree still says whose
/// it is.
fn stage(staging: &Path, files: &BTreeMap<String, Vec<u8>>) -> Result<(), WriteError> {
    fs::create_dir(staging).map_err(|e| WriteError::io(staging, e))?;
    if let Some(lock) = files.get(LOCK_FILE) {
        let p = staging.join(LOCK_FILE);
        fs::write(&p, lock).map_err(|e| WriteError::io(&p, e))?;
    }
    let dirs: BTreeSet<&str> = files
        .keys()
        .filter_map(|p| p.rsplit_once('/').map(|(d, _)| d))
        .collect();
    for d in dirs {
        let p = staging.join(d);
        fs::create_dir_all(&p).map_err(|e| WriteError::io(&p, e))?;
    }
    for (path, bytes) in files.iter().filter(|(p, _)| *p != LOCK_FILE) {
        let p = staging.join(path);
        fs::write(&p, bytes).map_err(|e| WriteError::io(&p, e))?;
    }
    Ok(())
}

/// Swaps two directories in one step (Linux `renameat2(RENAME_EXCHANGE)`). `Ok(false)`
/// when the file system or the platform cannot, so the caller falls back to two renames.
#[cfg(target_os = "linux")]
fn exchange(a: &Path, b: &Path) -> io::Result<bool> {
    use std::ffi::CString;
    use std::os::unix::ffi::OsStrExt;
    let a = CString::new(a.as_os_str().as_bytes())?;
    let b = CString::new(b.as_os_str().as_bytes())?;
    // SAFETY: both pointers are NUL-terminated strings that outlive the call; the
    // syscall reads them and nothing else.
    let r = unsafe {
        libc::syscall(
            libc::SYS_renameat2,
            libc::AT_FDCWD,
            a.as_ptr(),
            libc::AT_FDCWD,
            b.as_ptr(),
            libc::RENAME_EXCHANGE,
        )
    };
    if r == 0 {
        return Ok(true);
    }
    let e = io::Error::last_os_error();
    match e.raw_os_error() {
        Some(libc::EINVAL | libc::ENOSYS | libc::EOPNOTSUPP) => Ok(false),
        _ => Err(e),
    }
}

#[cfg(not(target_os = "linux"))]
fn exchange(_: &Path, _: &Path) -> io::Result<bool> {
    Ok(false)
}

/// `path` made absolute and free of `.`, `..` and symbolic links, as far as it exists;
/// the part that does not exist yet is appended as written, `..` taken lexically.
pub(crate) fn absolute(path: &Path) -> PathBuf {
    let joined = if path.is_absolute() {
        path.to_path_buf()
    } else {
        std::env::current_dir().unwrap_or_default().join(path)
    };
    let mut rest = Vec::new();
    let mut base = joined.as_path();
    let canonical = loop {
        if let Ok(c) = fs::canonicalize(base) {
            break c;
        }
        match (base.file_name(), base.parent()) {
            (Some(name), Some(parent)) => {
                rest.push(name.to_os_string());
                base = parent;
            }
            _ => break base.to_path_buf(),
        }
    };
    let mut out = canonical;
    for part in rest.into_iter().rev() {
        match Path::new(&part).components().next() {
            Some(Component::ParentDir) => {
                out.pop();
            }
            Some(Component::CurDir) | None => {}
            _ => out.push(part),
        }
    }
    out
}

/// What an output directory must stay clear of: the source root, its inputs, git
/// directories. Paths are kept [`absolute`].
#[derive(Debug, Clone, Default)]
pub struct Placement {
    /// Must not be an output or below one (`contains`).
    kept: Vec<(PathBuf, String)>,
    /// Must not hold an output either (`inside`).
    walls: Vec<(PathBuf, String)>,
}

impl Placement {
    /// The rules for the source tree at `root`: the root itself, `environments/` and
    /// `inventory/`, the git directory of its repository (`git_dir`, when it has one).
    pub fn new(root: &Path, git_dir: Option<&Path>) -> Self {
        let mut p = Placement::default();
        p.kept.push((absolute(root), "the source root".into()));
        for input in ["environments", "inventory"] {
            p.wall(&root.join(input), format!("the input directory {input}/"));
        }
        p.wall(&root.join(".git"), "a git directory".into());
        if let Some(g) = git_dir {
            p.wall(g, "the git directory of the source repository".into());
        }
        p
    }

    /// [`Placement::new`] for `root`, with the git directory of the repository that holds
    /// it, if any.
    pub(crate) fn for_root(root: &Path) -> Self {
        let repo = crate::origin::SourceRepo::discover(root).ok();
        Self::new(root, repo.as_ref().map(|r| r.git_dir()))
    }

    /// Adds the git directory of the repository at `path` (a deploy repository named
    /// with --repo), when there is one.
    pub fn repository(&mut self, path: &Path) {
        if let Ok(repo) = crate::origin::SourceRepo::discover(path) {
            self.wall(
                repo.git_dir(),
                "the git directory of the deploy repository".into(),
            );
        }
    }

    fn wall(&mut self, path: &Path, what: String) {
        let abs = absolute(path);
        self.kept.push((abs.clone(), what.clone()));
        self.walls.push((abs, what));
    }

    /// Adds an input file (`root`-relative `rel`), resolved through any link.
    pub fn input(&mut self, root: &Path, rel: &str) {
        self.kept
            .push((absolute(&root.join(rel)), format!("the input {rel}")));
    }

    /// Refuses, naming the first conflict, any of `outs` (environment, directory) that is,
    /// holds or sits inside what must be kept, or that overlaps another of `outs`.
    pub fn check(&self, outs: &[(&str, &Path)]) -> Result<(), Box<Diagnostic>> {
        let abs: Vec<(&str, &Path, PathBuf)> =
            outs.iter().map(|(e, d)| (*e, *d, absolute(d))).collect();
        let refuse = |env: &str, dir: &Path, why: String| {
            Box::new(
                Diagnostic::error(
                    OVERLAP,
                    format!("refusing to write {env} into {}: {why}", dir.display()),
                )
                .help(
                    "nothing was changed; an output directory must be a directory of its own, \
                     such as out/<env> (the default)",
                ),
            )
        };
        for (env, dir, a) in &abs {
            for (kept, what) in &self.kept {
                if kept.starts_with(a) {
                    let how = if kept == a { "it is" } else { "it holds" };
                    return Err(refuse(env, dir, format!("{how} {what}")));
                }
            }
            for (wall, what) in &self.walls {
                if a.starts_with(wall) {
                    return Err(refuse(env, dir, format!("it is inside {what}")));
                }
            }
        }
        for (i, (env, dir, a)) in abs.iter().enumerate() {
            for (other, other_dir, b) in &abs[i + 1..] {
                if a.starts_with(b) || b.starts_with(a) {
                    return Err(refuse(
                        env,
                        dir,
                        format!("it overlaps the output of {other}, {}", other_dir.display()),
                    ));
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::render::build_id;

    fn lock_for(files: &[(&str, &[u8])]) -> Vec<u8> {
        let hashes: BTreeMap<String, String> = files
            .iter()
            .map(|(p, b)| (p.to_string(), crate::render::sha256_hex(b)))
            .collect();
        let id = build_id(hashes.iter().map(|(p, h)| (p.as_str(), h.as_str())));
        serde_json::to_vec(&serde_json::json!({
            "build_id": id, "gcc_version": "0", "files": hashes,
        }))
        .unwrap()
    }

    /// A tree with a real lock, as gcc writes one.
    fn tree(files: &[(&str, &[u8])]) -> BTreeMap<String, Vec<u8>> {
        let mut t: BTreeMap<String, Vec<u8>> = files
            .iter()
            .map(|(p, b)| (p.to_string(), b.to_vec()))
            .collect();
        t.insert(LOCK_FILE.into(), lock_for(files));
        t
    }

    fn names(dir: &Path) -> Vec<String> {
        let mut n: Vec<String> = fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        n.sort();
        n
    }

    #[test]
    fn read_tree_refuses_symbolic_links() {
        let dir = tempfile::tempdir().unwrap();
        fs::create_dir(dir.path().join("a")).unwrap();
        fs::write(dir.path().join("a/x.yaml"), "x").unwrap();
        let files = read_tree(dir.path()).unwrap();
        assert_eq!(files.keys().collect::<Vec<_>>(), ["a/x.yaml"]);
        std::os::unix::fs::symlink("/etc/passwd", dir.path().join("a/y.yaml")).unwrap();
        assert!(read_tree(dir.path()).is_err());
    }

    #[test]
    fn an_identical_tree_is_not_rewritten() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("env");
        let files = tree(&[("a/x.yaml", b"x")]);
        write_tree(&out, &files).unwrap();
        let inode = |p: &Path| std::os::unix::fs::MetadataExt::ino(&fs::metadata(p).unwrap());
        let before = inode(&out.join("a/x.yaml"));
        write_tree(&out, &files).unwrap();
        assert_eq!(
            inode(&out.join("a/x.yaml")),
            before,
            "same file, not a new one"
        );
        write_tree(&out, &tree(&[("a/x.yaml", b"y")])).unwrap();
        assert_eq!(fs::read(out.join("a/x.yaml")).unwrap(), b"y");
        assert_eq!(names(dir.path()), ["env"]);
    }

    #[test]
    fn a_file_edited_under_an_unchanged_lock_is_still_rewritten() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("env");
        let files = tree(&[("a/x.yaml", b"x"), ("b.yaml", b"b")]);
        write_tree(&out, &files).unwrap();
        // Someone edits a file and leaves the lock alone: the lock matches, the tree does not.
        fs::write(out.join("a/x.yaml"), "edited").unwrap();
        assert!(matches!(write_tree(&out, &files).unwrap(), Written::Wrote));
        assert_eq!(fs::read(out.join("a/x.yaml")).unwrap(), b"x");
        // A lock that differs is a different tree, whatever the other files hold.
        let older = lock_for(&[("a/x.yaml", b"old"), ("b.yaml", b"b")]);
        fs::write(out.join(LOCK_FILE), older).unwrap();
        assert!(matches!(write_tree(&out, &files).unwrap(), Written::Wrote));
        assert_eq!(read_tree(&out).unwrap(), files);
        assert!(matches!(
            write_tree(&out, &files).unwrap(),
            Written::Unchanged
        ));
    }

    #[test]
    fn a_write_failing_half_way_leaves_the_old_tree_and_no_staging() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("env");
        write_tree(&out, &tree(&[("kept.yaml", b"old")])).unwrap();
        // `a.yaml/b.yaml` needs `a.yaml` to be a directory, and it is written as a file.
        let clash = tree(&[("a.yaml", b"file"), ("a.yaml/b.yaml", b"under it")]);
        assert!(write_tree(&out, &clash).is_err());
        assert_eq!(fs::read(out.join("kept.yaml")).unwrap(), b"old");
        assert_eq!(names(dir.path()), ["env"], "no staging tree left behind");
    }

    #[test]
    fn only_absent_empty_or_gcc_trees_are_replaced() {
        let dir = tempfile::tempdir().unwrap();
        let files = tree(&[("a/x.yaml", b"1\n")]);
        // Absent, and empty: written.
        write_tree(&dir.path().join("absent"), &files).unwrap();
        fs::create_dir_all(dir.path().join("empty/sub")).unwrap();
        write_tree(&dir.path().join("empty"), &files).unwrap();
        assert_eq!(read_tree(&dir.path().join("empty")).unwrap(), files);

        // A gcc tree with one stranger: refused, the stranger named, nothing moved.
        let out = dir.path().join("absent");
        fs::write(out.join("notes.txt"), "mine").unwrap();
        let e = write_tree(&out, &tree(&[("b.yaml", b"2\n")])).unwrap_err();
        let d = e.diagnostic(&out);
        assert_eq!(d.code, NOT_OURS);
        assert!(d.message.contains("`notes.txt`"), "{}", d.message);
        assert_eq!(fs::read(out.join("a/x.yaml")).unwrap(), b"1\n");

        // A directory of someone else's: no lock.
        let photos = dir.path().join("userdata");
        fs::create_dir_all(photos.join("photos")).unwrap();
        fs::write(photos.join("photos/cat.jpg"), "meow").unwrap();
        let d = write_tree(&photos, &files).unwrap_err().diagnostic(&photos);
        assert!(d.message.contains("no gcc.lock.json"), "{}", d.message);
        assert!(d.message.contains("`photos/cat.jpg`"), "{}", d.message);
        assert_eq!(fs::read(photos.join("photos/cat.jpg")).unwrap(), b"meow");

        // A forged lock (its build id is not its files' hash) proves nothing.
        fs::write(
            photos.join(LOCK_FILE),
            br#"{"build_id":"00","gcc_version":"0","files":{"photos/cat.jpg":"x"}}"#,
        )
        .unwrap();
        let d = write_tree(&photos, &files).unwrap_err().diagnostic(&photos);
        assert!(d.message.contains("not one gcc wrote"), "{}", d.message);

        // Many strangers: ten named, the rest counted.
        let many = dir.path().join("many");
        fs::create_dir(&many).unwrap();
        for i in 0..12 {
            fs::write(many.join(format!("f{i:02}")), "x").unwrap();
        }
        let d = write_tree(&many, &files).unwrap_err().diagnostic(&many);
        assert!(d.message.contains("`f09`, and 2 more"), "{}", d.message);
        assert_eq!(names(&many).len(), 12);
    }

    #[test]
    fn leftover_staging_is_cleaned_even_when_the_tree_is_unchanged() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("env");
        let files = tree(&[("a/x.yaml", b"1\n")]);
        write_tree(&out, &files).unwrap();
        // What a killed build leaves: a partial staging tree (lock first) and an old
        // tree half removed (lock last), and an empty staging directory.
        fs::create_dir_all(dir.path().join(".env.new/a")).unwrap();
        fs::write(dir.path().join(".env.new").join(LOCK_FILE), "{").unwrap();
        fs::create_dir_all(dir.path().join(".env.old/b")).unwrap();
        fs::write(dir.path().join(".env.old").join(LOCK_FILE), "{").unwrap();
        fs::write(dir.path().join(".env.old/b/y.yaml"), "").unwrap();
        write_tree(&out, &files).unwrap();
        assert_eq!(names(dir.path()), ["env"]);
        fs::create_dir_all(dir.path().join(".env.new/deep/er")).unwrap();
        write_tree(&out, &files).unwrap();
        assert_eq!(names(dir.path()), ["env"]);
        // A `.env.new` gcc did not leave (no lock, a file) is refused, not removed.
        fs::create_dir_all(dir.path().join(".env.new")).unwrap();
        fs::write(dir.path().join(".env.new/diary.txt"), "dear").unwrap();
        let e = write_tree(&out, &files).unwrap_err();
        assert_eq!(e.diagnostic(&out).code, NOT_OURS);
        assert_eq!(
            fs::read(dir.path().join(".env.new/diary.txt")).unwrap(),
            b"dear"
        );
    }

    #[test]
    fn write_tree_replaces_and_refuses_symlinks() {
        let tmp = tempfile::tempdir().unwrap();
        let out = tmp.path().join("prod");
        let files = tree(&[("a/x.yaml", b"1\n")]);
        write_tree(&out, &files).unwrap();
        let files2 = tree(&[("b.yaml", b"2\n")]);
        write_tree(&out, &files2).unwrap();
        assert!(!out.join("a/x.yaml").exists());
        assert_eq!(fs::read(out.join("b.yaml")).unwrap(), b"2\n");
        assert_eq!(names(tmp.path()), ["prod"]);
        let link = tmp.path().join("link");
        std::os::unix::fs::symlink(&out, &link).unwrap();
        assert!(matches!(
            write_tree(&link, &files),
            Err(WriteError::Symlink(_))
        ));
        let mut bad = files2.clone();
        bad.insert("../escape.yaml".into(), vec![]);
        assert!(write_tree(&out, &bad).is_err());
        assert_eq!(fs::read(out.join("b.yaml")).unwrap(), b"2\n");
    }

    #[test]
    fn io_errors_say_what_happened() {
        let out = Path::new("out/prod");
        let full = WriteError::io(
            Path::new("out/.prod.new/x.yaml"),
            io::Error::from_raw_os_error(28),
        );
        let d = full.diagnostic(out);
        assert!(d.message.contains("the disk is full"), "{}", d.message);
        assert!(!d.help.as_deref().unwrap_or("").contains("permissions"));
        let race = WriteError::io(out, io::Error::from_raw_os_error(39)); // ENOTEMPTY
        let d = race.diagnostic(out);
        assert!(
            d.message.contains("changed by another process"),
            "{}",
            d.message
        );
        let denied = WriteError::io(out, io::Error::from_raw_os_error(13));
        assert!(denied.diagnostic(out).help.unwrap().contains("permissions"));
    }

    #[test]
    fn placement_refuses_the_root_inputs_git_and_overlaps() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("site");
        for d in ["environments", "inventory", ".git", "out"] {
            fs::create_dir_all(root.join(d)).unwrap();
        }
        fs::write(root.join("inventory/lab.yaml"), "").unwrap();
        let mut p = Placement::new(&root, None);
        p.input(&root, "inventory/lab.yaml");
        let refused = |out: &Path| p.check(&[("prod", out)]).unwrap_err().message;
        assert!(refused(&root).contains("it is the source root"));
        assert!(refused(dir.path()).contains("it holds the source root"));
        assert!(refused(&root.join(".git")).contains("it is a git directory"));
        assert!(refused(&root.join(".git/x")).contains("inside a git directory"));
        assert!(refused(&root.join("inventory")).contains("it is the input directory inventory/"));
        assert!(
            refused(&root.join("environments/wip"))
                .contains("inside the input directory environments/")
        );
        assert!(refused(&root.join("out/../inventory")).contains("inventory/"));
        assert!(p.check(&[("prod", &root.join("out/prod"))]).is_ok());
        assert!(p.check(&[("prod", Path::new("/nonexistent/x/y"))]).is_ok());
        let (a, b) = (root.join("out/a"), root.join("out/a/b"));
        let e = p.check(&[("a", &a), ("b", &b)]).unwrap_err();
        assert!(
            e.message.contains("overlaps the output of b"),
            "{}",
            e.message
        );
    }
}
