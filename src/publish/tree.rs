//! Output trees as git trees, and back.

use std::collections::BTreeMap;

use git2::{ObjectType, Oid, Repository, TreeWalkMode, TreeWalkResult};

use super::*;

/// Writes `files` (path → bytes, `/`-separated) as a tree; returns its id.
pub fn write_files(repo: &Repository, files: &BTreeMap<String, Vec<u8>>) -> Outcome<Oid> {
    let items: Vec<(&str, &[u8])> = files
        .iter()
        .map(|(p, b)| (p.as_str(), b.as_slice()))
        .collect();
    write_dir(repo, &items).map_err(git_err)
}

fn write_dir(repo: &Repository, items: &[(&str, &[u8])]) -> Result<Oid, git2::Error> {
    let mut builder = repo.treebuilder(None)?;
    let mut dirs: BTreeMap<&str, Vec<(&str, &[u8])>> = BTreeMap::new();
    for (path, bytes) in items {
        match path.split_once('/') {
            Some((dir, rest)) => dirs.entry(dir).or_default().push((rest, bytes)),
            None => {
                let blob = repo.blob(bytes)?;
                builder.insert(*path, blob, 0o100644)?;
            }
        }
    }
    for (dir, sub) in dirs {
        let tree = write_dir(repo, &sub)?;
        builder.insert(dir, tree, 0o040000)?;
    }
    builder.write()
}

/// Every file of a commit's tree: path → bytes. Symlinks and submodules are listed with
/// their blob (or an empty body), so a verification sees them as unexpected files.
pub(crate) fn commit_files(repo: &Repository, commit: Oid) -> Outcome<BTreeMap<String, Vec<u8>>> {
    let tree = repo
        .find_commit(commit)
        .and_then(|c| c.tree())
        .map_err(git_err)?;
    let mut out = BTreeMap::new();
    let mut failed = None;
    tree.walk(TreeWalkMode::PreOrder, |dir, entry| {
        if entry.kind() == Some(ObjectType::Tree) {
            return TreeWalkResult::Ok;
        }
        let path = format!("{dir}{}", entry.name().unwrap_or("\u{fffd}"));
        let bytes = match entry
            .to_object(repo)
            .map(|o| o.as_blob().map(|b| b.content().to_vec()))
        {
            Ok(b) => b.unwrap_or_default(),
            Err(e) => {
                failed = Some(e);
                return TreeWalkResult::Abort;
            }
        };
        out.insert(path, bytes);
        TreeWalkResult::Ok
    })
    .map_err(git_err)?;
    match failed {
        Some(e) => Err(git_err(e)),
        None => Ok(out),
    }
}
