//! Verify: a published tree against its own lock file, and against a fresh build.
//!
//! A tree is trusted when every file's sha256 equals the one in `gcc.lock.json`, no file
//! is missing or extra, and the build id recomputed from the files equals the lock's
//! (and the commit's `Build-Id:` trailer). `compare` is the byte-for-byte comparison of
//! two trees used by `verify --rebuild`.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::lock::Lock;
use crate::render::{LOCK_FILE, build_id, sha256_hex};

/// Code: a tree does not match its lock file, or a rebuild does not match the tree.
pub(crate) const MISMATCH: &str = "gcc::verify::mismatch";

/// How two file trees differ, by path.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct TreeDiff {
    /// In both, with different bytes.
    pub differ: Vec<String>,
    /// Expected but absent.
    pub missing: Vec<String>,
    /// Present but not expected.
    pub extra: Vec<String>,
}

impl TreeDiff {
    /// No file differs, is missing or is extra.
    pub fn is_empty(&self) -> bool {
        self.differ.is_empty() && self.missing.is_empty() && self.extra.is_empty()
    }
}

/// Compares `actual` against `expected`, byte for byte.
pub(crate) fn compare(
    expected: &BTreeMap<String, Vec<u8>>,
    actual: &BTreeMap<String, Vec<u8>>,
) -> TreeDiff {
    let mut d = TreeDiff::default();
    for (path, bytes) in expected {
        match actual.get(path) {
            None => d.missing.push(path.clone()),
            Some(b) if b != bytes => d.differ.push(path.clone()),
            Some(_) => {}
        }
    }
    d.extra = actual
        .keys()
        .filter(|p| !expected.contains_key(*p))
        .cloned()
        .collect();
    d
}

/// The result of checking a tree against its lock file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Verification {
    /// The build id the lock records (`None` when the lock is missing or unreadable).
    pub locked_build_id: Option<String>,
    /// The build id recomputed from the files.
    pub computed_build_id: String,
    /// Files whose hash differs from the lock, or that the lock does not list.
    pub files: TreeDiff,
    /// Anything else wrong: no lock, an unreadable lock, build ids that disagree.
    pub problems: Vec<String>,
}

impl Verification {
    /// The tree is exactly what its lock says.
    pub fn ok(&self) -> bool {
        self.files.is_empty() && self.problems.is_empty()
    }
}

/// Checks `files` (a whole output tree, lock included) against its `gcc.lock.json`.
/// `claimed`, when given, is the build id the tree is said to be (a commit trailer).
pub fn verify_files(files: &BTreeMap<String, Vec<u8>>, claimed: Option<&str>) -> Verification {
    let hashes: BTreeMap<String, String> = files
        .iter()
        .filter(|(p, _)| p.as_str() != LOCK_FILE)
        .map(|(p, b)| (p.clone(), sha256_hex(b)))
        .collect();
    let computed = build_id(hashes.iter().map(|(p, h)| (p.as_str(), h.as_str())));
    let mut v = Verification {
        locked_build_id: None,
        computed_build_id: computed.clone(),
        files: TreeDiff::default(),
        problems: Vec::new(),
    };
    let lock = match files.get(LOCK_FILE) {
        None => {
            v.problems.push(format!("there is no {LOCK_FILE}"));
            return v;
        }
        Some(bytes) => match Lock::parse(bytes) {
            Ok(l) => l,
            Err(e) => {
                v.problems.push(format!("{LOCK_FILE} cannot be read: {e}"));
                return v;
            }
        },
    };
    for (path, want) in &lock.files {
        match hashes.get(path) {
            None => v.files.missing.push(path.clone()),
            Some(have) if have != want => v.files.differ.push(path.clone()),
            Some(_) => {}
        }
    }
    v.files.extra = hashes
        .keys()
        .filter(|p| !lock.files.contains_key(*p))
        .cloned()
        .collect();
    if lock.build_id != computed {
        v.problems.push(format!(
            "the lock says build {}, the files hash to {}",
            lock.build_id, computed
        ));
    }
    if let Some(claimed) = claimed
        && claimed != lock.build_id
    {
        v.problems.push(format!(
            "the commit says build {claimed}, the lock says {}",
            lock.build_id
        ));
    }
    v.locked_build_id = Some(lock.build_id);
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tree(files: &[(&str, &str)]) -> BTreeMap<String, Vec<u8>> {
        let mut out: BTreeMap<String, Vec<u8>> = files
            .iter()
            .map(|(p, b)| (p.to_string(), b.as_bytes().to_vec()))
            .collect();
        let hashes: BTreeMap<&str, String> = files
            .iter()
            .map(|(p, b)| (*p, sha256_hex(b.as_bytes())))
            .collect();
        let id = build_id(hashes.iter().map(|(p, h)| (*p, h.as_str())));
        let lock = serde_json::json!({"build_id": id, "files": hashes});
        out.insert(LOCK_FILE.into(), lock.to_string().into_bytes());
        out
    }

    #[test]
    fn a_tree_matching_its_lock_verifies() {
        let t = tree(&[("a.yaml", "a"), ("b/c.yaml", "c")]);
        let v = verify_files(&t, None);
        assert!(v.ok(), "{v:?}");
        assert_eq!(
            v.locked_build_id.as_deref(),
            Some(v.computed_build_id.as_str())
        );
        let claimed = v.computed_build_id.clone();
        assert!(verify_files(&t, Some(&claimed)).ok());
        assert!(!verify_files(&t, Some("0000")).ok());
    }

    #[test]
    fn edits_removals_and_additions_are_named() {
        let mut t = tree(&[("a.yaml", "a"), ("b/c.yaml", "c")]);
        t.insert("a.yaml".into(), b"edited".to_vec());
        t.remove("b/c.yaml");
        t.insert("new.yaml".into(), b"n".to_vec());
        let v = verify_files(&t, None);
        assert_eq!(v.files.differ, ["a.yaml"]);
        assert_eq!(v.files.missing, ["b/c.yaml"]);
        assert_eq!(v.files.extra, ["new.yaml"]);
        assert_eq!(v.problems.len(), 1, "{:?}", v.problems);
        t.remove(LOCK_FILE);
        assert_eq!(
            verify_files(&t, None).problems,
            ["there is no gcc.lock.json"]
        );
    }

    #[test]
    fn compare_names_every_difference() {
        let a = tree(&[("x", "1"), ("y", "2")]);
        let mut b = a.clone();
        b.insert("x".into(), b"9".to_vec());
        b.remove("y");
        b.insert("z".into(), b"3".to_vec());
        let d = compare(&a, &b);
        assert_eq!(
            (d.differ, d.missing, d.extra),
            (
                vec!["x".to_string()],
                vec!["y".to_string()],
                vec!["z".to_string()]
            )
        );
        assert!(compare(&a, &a).is_empty());
    }
}
