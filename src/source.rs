//! Read-only file trees that the compiler takes its inputs from.
//!
//! Every stage after `load` sees only bytes handed over by a [`Source`], never the file
//! system. Three trees: the working directory ([`WorkDir`]), a git revision read
//! straight from the object database ([`GitRev`]: no checkout, no work tree), and an
//! in-memory map ([`MemSource`], for tests and generated fleets).
//!
//! Symbolic links follow one rule in every tree, so that a work tree and its commit
//! build the same: a link whose target, taken relative to the link, stays inside the
//! tree is followed; one that leaves it (or is absolute) is [`EntryKind::Outside`], and
//! reading it is refused without ever opening the target.

use std::collections::BTreeMap;
use std::io;
use std::path::{Path, PathBuf};

/// What a path in a [`Source`] names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum EntryKind {
    /// A regular file.
    File,
    /// A directory.
    Dir,
    /// A symbolic link that leaves the tree: never followed, never read.
    Outside,
}

/// The error a read of an [`EntryKind::Outside`] path returns (inside an `io::Error`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct LinkOutside {
    /// The link, as a path in the tree.
    pub link: String,
    /// What it points to, as written in the link.
    pub target: String,
}

impl std::fmt::Display for LinkOutside {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} is a symbolic link to `{}`, outside the source tree",
            self.link, self.target
        )
    }
}

impl std::error::Error for LinkOutside {}

impl LinkOutside {
    /// The `LinkOutside` an I/O error carries, if it is one.
    pub fn of(e: &io::Error) -> Option<&LinkOutside> {
        e.get_ref()?.downcast_ref::<LinkOutside>()
    }

    fn error(self) -> io::Error {
        io::Error::new(io::ErrorKind::PermissionDenied, self)
    }
}

/// What one path of a tree is, the last component not followed.
enum Node {
    /// A file, a directory, or nothing (the caller finds out which).
    Plain,
    /// A symbolic link with this target text.
    Link(String),
}

/// Where `path` leads once every link on the way is followed: a path inside the tree,
/// or the first link that leaves it. `lookup` says what a path is without following it.
fn resolve(
    path: &str,
    lookup: impl Fn(&str) -> io::Result<Node>,
) -> io::Result<Result<String, LinkOutside>> {
    validate_rel_path(path)?;
    let mut todo: std::collections::VecDeque<String> =
        path.split('/').map(str::to_string).collect();
    let mut done: Vec<String> = Vec::new();
    let mut hops = 0;
    while let Some(seg) = todo.pop_front() {
        match seg.as_str() {
            "" | "." => continue,
            ".." => {
                done.pop(); // only ever reached through a link: checked below
                continue;
            }
            _ => done.push(seg),
        }
        let here = done.join("/");
        let Node::Link(target) = lookup(&here)? else {
            continue;
        };
        hops += 1;
        if hops > 40 {
            return Err(io::Error::other(format!(
                "{path}: too many levels of symbolic links"
            )));
        }
        done.pop();
        // The target must stay inside at every step: `a/../../x` leaves even if it
        // comes back, and an absolute target is outside by definition.
        let mut depth = done.len() as isize;
        let escapes = target.starts_with('/')
            || target.split('/').any(|seg| {
                match seg {
                    "" | "." => {}
                    ".." => depth -= 1,
                    _ => depth += 1,
                }
                depth < 0
            });
        if escapes || target.is_empty() || target.contains('\\') || target.contains('\0') {
            return Ok(Err(LinkOutside { link: here, target }));
        }
        for seg in target.split('/').rev() {
            todo.push_front(seg.to_string());
        }
    }
    Ok(Ok(done.join("/")))
}

/// A read-only tree of files addressed by relative, `/`-separated paths.
pub trait Source {
    /// Reads the whole file at `path`.
    fn read(&self, path: &str) -> io::Result<Vec<u8>>;
    /// Reads at most `limit` bytes of the file at `path`, so that an oversized input is
    /// never held whole in memory; a result of `limit` bytes means "at least that many".
    fn read_limited(&self, path: &str, limit: usize) -> io::Result<Vec<u8>> {
        let mut bytes = self.read(path)?;
        bytes.truncate(limit);
        Ok(bytes)
    }
    /// Tells whether `path` is a file, a directory, or absent (`None`).
    fn kind(&self, path: &str) -> Option<EntryKind>;
    /// Lists the direct children of the directory `path`: `(name, kind)`, sorted by name.
    fn list(&self, path: &str) -> io::Result<Vec<(String, EntryKind)>>;
    /// Says what this tree is, for messages (`working directory /srv/cloud`).
    fn describe(&self) -> String;
}

/// Rejects paths that could leave the tree: absolute, `..`, empty segments, backslashes.
pub(crate) fn validate_rel_path(path: &str) -> io::Result<()> {
    let bad = path.is_empty()
        || path.starts_with('/')
        || path.contains('\\')
        || path.contains('\0')
        || path
            .split('/')
            .any(|seg| seg.is_empty() || seg == "." || seg == "..");
    if bad {
        Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("path {path:?} is not a plain relative path inside the source tree"),
        ))
    } else {
        Ok(())
    }
}

/// The inputs as they are on disk below a root directory.
#[derive(Debug, Clone)]
pub struct WorkDir {
    root: PathBuf,
}

impl WorkDir {
    /// A tree rooted at `root` (usually the repository's top directory).
    pub fn new(root: impl Into<PathBuf>) -> Self {
        Self { root: root.into() }
    }

    /// The real path of `path` below the root, links followed inside the tree; a link
    /// that leaves it is an error carrying [`LinkOutside`].
    fn full(&self, path: &str) -> io::Result<PathBuf> {
        match self.resolved(path)? {
            Ok(rel) => Ok(self.root.join(rel)),
            Err(outside) => Err(outside.error()),
        }
    }

    fn resolved(&self, path: &str) -> io::Result<Result<String, LinkOutside>> {
        resolve(path, |p| {
            let full = self.root.join(p);
            match std::fs::symlink_metadata(&full) {
                Ok(m) if m.file_type().is_symlink() => {
                    let target = std::fs::read_link(&full)?;
                    Ok(Node::Link(target.to_string_lossy().into_owned()))
                }
                _ => Ok(Node::Plain),
            }
        })
    }
}

impl Source for WorkDir {
    fn read(&self, path: &str) -> io::Result<Vec<u8>> {
        std::fs::read(self.full(path)?)
    }

    fn read_limited(&self, path: &str, limit: usize) -> io::Result<Vec<u8>> {
        use std::io::Read;
        let mut bytes = Vec::new();
        std::fs::File::open(self.full(path)?)?
            .take(limit as u64)
            .read_to_end(&mut bytes)?;
        Ok(bytes)
    }

    fn kind(&self, path: &str) -> Option<EntryKind> {
        let rel = match self.resolved(path).ok()? {
            Ok(rel) => rel,
            Err(_) => return Some(EntryKind::Outside),
        };
        let meta = std::fs::metadata(self.root.join(rel)).ok()?;
        if meta.is_dir() {
            Some(EntryKind::Dir)
        } else if meta.is_file() {
            Some(EntryKind::File)
        } else {
            None
        }
    }

    fn list(&self, path: &str) -> io::Result<Vec<(String, EntryKind)>> {
        let mut out = Vec::new();
        for entry in std::fs::read_dir(self.full(path)?)? {
            let entry = entry?;
            let Ok(name) = entry.file_name().into_string() else {
                continue; // names that are not UTF-8 cannot be inputs
            };
            let kind = match self.resolved(&format!("{path}/{name}"))? {
                Err(_) => EntryKind::Outside,
                Ok(rel) if std::fs::metadata(self.root.join(&rel))?.is_dir() => EntryKind::Dir,
                Ok(_) => EntryKind::File,
            };
            out.push((name, kind));
        }
        out.sort();
        Ok(out)
    }

    fn describe(&self) -> String {
        format!("working directory {}", self.root.display())
    }
}

/// The inputs as they are in a git commit, read from the object database.
///
/// `prefix` is where the inputs live inside the repository (empty at the top), so a
/// project kept in a subdirectory builds the same from a revision as from its checkout.
pub(crate) struct GitRev {
    repo: git2::Repository,
    commit: git2::Oid,
    tree: git2::Oid,
    prefix: String,
}

impl GitRev {
    /// The tree of commit `commit` in `repo`, below `prefix` (`""` or `a/b`).
    pub fn new(
        repo: git2::Repository,
        commit: git2::Oid,
        prefix: &str,
    ) -> Result<Self, git2::Error> {
        let tree = repo.find_commit(commit)?.tree()?.id();
        Ok(Self {
            repo,
            commit,
            tree,
            prefix: prefix.trim_matches('/').to_string(),
        })
    }

    /// The repository path of an input path.
    fn full(&self, path: &str) -> io::Result<String> {
        validate_rel_path(path)?;
        Ok(if self.prefix.is_empty() {
            path.to_string()
        } else {
            format!("{}/{path}", self.prefix)
        })
    }

    /// `path` with every link on the way followed, as [`WorkDir`] follows them.
    fn resolved(&self, path: &str) -> io::Result<Result<String, LinkOutside>> {
        let tree = self.repo.find_tree(self.tree).map_err(git_io)?;
        resolve(path, |p| {
            let Ok(entry) = tree.get_path(Path::new(&self.full(p)?)) else {
                return Ok(Node::Plain);
            };
            if entry.filemode() != 0o120000 {
                return Ok(Node::Plain);
            }
            let blob = self.repo.find_blob(entry.id()).map_err(git_io)?;
            Ok(Node::Link(
                String::from_utf8_lossy(blob.content()).into_owned(),
            ))
        })
    }

    fn entry(&self, path: &str) -> io::Result<git2::Object<'_>> {
        let rel = self.resolved(path)?.map_err(LinkOutside::error)?;
        let tree = self.repo.find_tree(self.tree).map_err(git_io)?;
        let entry = if rel.is_empty() {
            return Ok(tree.into_object());
        } else {
            tree.get_path(Path::new(&self.full(&rel)?))
                .map_err(git_io)?
        };
        entry.to_object(&self.repo).map_err(git_io)
    }
}

/// A libgit2 error as an I/O error (`NotFound` stays `NotFound`).
fn git_io(e: git2::Error) -> io::Error {
    let kind = if e.code() == git2::ErrorCode::NotFound {
        io::ErrorKind::NotFound
    } else {
        io::ErrorKind::Other
    };
    io::Error::new(kind, e.message().to_string())
}

fn git_kind(kind: Option<git2::ObjectType>) -> Option<EntryKind> {
    match kind? {
        git2::ObjectType::Blob => Some(EntryKind::File),
        git2::ObjectType::Tree => Some(EntryKind::Dir),
        _ => None,
    }
}

impl Source for GitRev {
    fn read(&self, path: &str) -> io::Result<Vec<u8>> {
        let object = self.entry(path)?;
        match object.as_blob() {
            Some(blob) => Ok(blob.content().to_vec()),
            None => Err(io::Error::other(format!("{path}: not a file"))),
        }
    }

    fn kind(&self, path: &str) -> Option<EntryKind> {
        match self.entry(path) {
            Ok(object) => git_kind(object.kind()),
            Err(e) if LinkOutside::of(&e).is_some() => Some(EntryKind::Outside),
            Err(_) => None,
        }
    }

    fn list(&self, path: &str) -> io::Result<Vec<(String, EntryKind)>> {
        let object = self.entry(path)?;
        let tree = object
            .as_tree()
            .ok_or_else(|| io::Error::other(format!("{path}: not a directory")))?;
        let mut out: Vec<(String, EntryKind)> = tree
            .iter()
            .filter_map(|e| {
                let name = e.name().ok()?.to_string();
                let kind = self.kind(&format!("{path}/{name}"))?;
                Some((name, kind))
            })
            .collect();
        out.sort();
        Ok(out)
    }

    fn describe(&self) -> String {
        let short = &self.commit.to_string()[..12];
        match self.prefix.as_str() {
            "" => format!("git commit {short}"),
            p => format!("git commit {short}, directory {p}"),
        }
    }
}

/// A tree held in memory: path → bytes. Directories are implied by the paths.
#[derive(Debug, Clone, Default)]
pub struct MemSource {
    files: BTreeMap<String, Vec<u8>>,
}

impl MemSource {
    /// An empty tree.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds or replaces the file at `path`.
    pub fn insert(&mut self, path: impl Into<String>, bytes: impl Into<Vec<u8>>) -> &mut Self {
        self.files.insert(path.into(), bytes.into());
        self
    }

    /// Builder form of [`MemSource::insert`].
    pub fn with(mut self, path: impl Into<String>, bytes: impl Into<Vec<u8>>) -> Self {
        self.insert(path, bytes);
        self
    }
}

impl Source for MemSource {
    fn read(&self, path: &str) -> io::Result<Vec<u8>> {
        validate_rel_path(path)?;
        self.files
            .get(path)
            .cloned()
            .ok_or_else(|| io::Error::new(io::ErrorKind::NotFound, format!("{path}: not found")))
    }

    fn kind(&self, path: &str) -> Option<EntryKind> {
        validate_rel_path(path).ok()?;
        if self.files.contains_key(path) {
            return Some(EntryKind::File);
        }
        let prefix = format!("{path}/");
        self.files
            .range(prefix.clone()..)
            .next()
            .filter(|(k, _)| k.starts_with(&prefix))
            .map(|_| EntryKind::Dir)
    }

    fn list(&self, path: &str) -> io::Result<Vec<(String, EntryKind)>> {
        validate_rel_path(path)?;
        let prefix = format!("{path}/");
        let mut out: BTreeMap<String, EntryKind> = BTreeMap::new();
        for key in self.files.keys().filter(|k| k.starts_with(&prefix)) {
            let rest = &key[prefix.len()..];
            match rest.split_once('/') {
                Some((dir, _)) => out.insert(dir.to_string(), EntryKind::Dir),
                None => out.insert(rest.to_string(), EntryKind::File),
            };
        }
        if out.is_empty() {
            return Err(io::Error::new(
                io::ErrorKind::NotFound,
                format!("{path}: no such directory"),
            ));
        }
        Ok(out.into_iter().collect())
    }

    fn describe(&self) -> String {
        "in-memory source".to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rejects_escaping_paths() {
        for p in [
            "",
            "/etc/passwd",
            "../x",
            "a/../b",
            "a//b",
            "a/./b",
            "a\\b",
            "a/",
        ] {
            assert!(validate_rel_path(p).is_err(), "{p:?} should be rejected");
        }
        assert!(validate_rel_path("inventory/lab.yaml").is_ok());
    }

    #[test]
    fn mem_source_lists_and_kinds() {
        let src = MemSource::new()
            .with("inventory/lab/a.yaml", "a")
            .with("inventory/lab/b.yaml", "b")
            .with("inventory/lab/sub/c.yaml", "c")
            .with("inventory/other.yaml", "o");
        assert_eq!(src.kind("inventory/lab"), Some(EntryKind::Dir));
        assert_eq!(src.kind("inventory/other.yaml"), Some(EntryKind::File));
        assert_eq!(src.kind("inventory/la"), None);
        let names: Vec<_> = src.list("inventory/lab").unwrap();
        assert_eq!(
            names,
            vec![
                ("a.yaml".to_string(), EntryKind::File),
                ("b.yaml".to_string(), EntryKind::File),
                ("sub".to_string(), EntryKind::Dir),
            ]
        );
        assert!(src.read("../x").is_err());
    }

    #[test]
    fn workdir_reads_below_root() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("environments")).unwrap();
        std::fs::write(dir.path().join("environments/prod.yaml"), "x: 1\n").unwrap();
        let src = WorkDir::new(dir.path());
        assert_eq!(src.read("environments/prod.yaml").unwrap(), b"x: 1\n");
        assert_eq!(src.kind("environments"), Some(EntryKind::Dir));
        assert!(src.read("../etc/passwd").is_err());
    }

    #[test]
    fn links_are_followed_inside_the_tree_only() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("site");
        std::fs::create_dir_all(root.join("a/b")).unwrap();
        std::fs::write(root.join("a/b/f.yaml"), "in").unwrap();
        std::fs::write(dir.path().join("secret"), "out").unwrap();
        let link =
            |target: &str, at: &str| std::os::unix::fs::symlink(target, root.join(at)).unwrap();
        link("b/f.yaml", "a/in.yaml");
        link("../a/b", "a/dir");
        link("../../secret", "a/up.yaml");
        link("b/../../../secret", "a/zigzag.yaml");
        link("/etc/hostname", "a/abs.yaml");
        link("loop.yaml", "a/loop.yaml");
        let src = WorkDir::new(&root);
        assert_eq!(src.read("a/in.yaml").unwrap(), b"in");
        assert_eq!(src.read("a/dir/f.yaml").unwrap(), b"in");
        assert_eq!(src.kind("a/dir"), Some(EntryKind::Dir));
        for out in ["a/up.yaml", "a/zigzag.yaml", "a/abs.yaml"] {
            assert_eq!(src.kind(out), Some(EntryKind::Outside), "{out}");
            let e = src.read(out).unwrap_err();
            assert_eq!(LinkOutside::of(&e).unwrap().link, out);
        }
        assert!(
            src.read("a/loop.yaml")
                .unwrap_err()
                .to_string()
                .contains("too many levels")
        );
        assert!(
            src.list("a").is_err(),
            "an entry that resolves to nothing fails the listing"
        );
        std::fs::remove_file(root.join("a/loop.yaml")).unwrap();
        let names: Vec<_> = src.list("a").unwrap();
        assert!(names.contains(&("up.yaml".to_string(), EntryKind::Outside)));
        assert!(names.contains(&("dir".to_string(), EntryKind::Dir)));
    }
}
