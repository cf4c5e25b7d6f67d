//! Read-only file trees that the compiler takes its inputs from.
//!
//! Every stage after `load` sees only bytes handed over by a [`Source`], never the file
//! system. Three trees: the working directory ([`WorkDir`]), a git revision read
//! straight from the object database ([`GitRev`]: no checkout, no work tree), and an
//! in-memory map ([`MemSource`], for tests and generated fleets).

use std::collections::BTreeMap;
use std::io;
use std::path::{Component, Path, PathBuf};

/// What a path in a [`Source`] names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum EntryKind {
    /// A regular file.
    File,
    /// A directory.
    Dir,
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
pub fn validate_rel_path(path: &str) -> io::Result<()> {
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

    fn full(&self, path: &str) -> io::Result<PathBuf> {
        validate_rel_path(path)?;
        let rel = Path::new(path);
        debug_assert!(rel.components().all(|c| matches!(c, Component::Normal(_))));
        Ok(self.root.join(rel))
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
        let meta = std::fs::metadata(self.full(path).ok()?).ok()?;
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
            let meta = std::fs::metadata(entry.path())?;
            let kind = if meta.is_dir() {
                EntryKind::Dir
            } else {
                EntryKind::File
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
pub struct GitRev {
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

    /// The commit this tree is read from.
    pub fn commit(&self) -> git2::Oid {
        self.commit
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

    fn entry(&self, path: &str) -> io::Result<git2::Object<'_>> {
        let full = self.full(path)?;
        let tree = self.repo.find_tree(self.tree).map_err(git_io)?;
        let entry = tree.get_path(Path::new(&full)).map_err(git_io)?;
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
        git_kind(self.entry(path).ok()?.kind())
    }

    fn list(&self, path: &str) -> io::Result<Vec<(String, EntryKind)>> {
        let object = self.entry(path)?;
        let tree = object
            .as_tree()
            .ok_or_else(|| io::Error::other(format!("{path}: not a directory")))?;
        let mut out: Vec<(String, EntryKind)> = tree
            .iter()
            .filter_map(|e| Some((e.name().ok()?.to_string(), git_kind(e.kind())?)))
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
}
