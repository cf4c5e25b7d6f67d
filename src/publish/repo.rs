//! Repositories, branch names, the signature and revisions.

use std::path::Path;

use git2::{Oid, Repository, Signature};

use super::*;

pub(crate) use crate::model::default_branch;

/// A deploy branch name as git's rules for branches accept it: `refs/heads/` is stripped
/// (the second value says so), `HEAD`, a leading `-` and anything `git check-ref-format
/// --branch` refuses are errors.
pub(crate) fn branch_name(raw: &str) -> Outcome<(String, bool)> {
    let (name, stripped) = match raw.strip_prefix("refs/heads/") {
        Some(rest) => (rest, true),
        None => (raw, false),
    };
    let valid = !name.is_empty()
        && name != "HEAD"
        && !name.starts_with('-')
        && git2::Reference::is_valid_name(&format!("refs/heads/{name}"));
    if valid {
        Ok((name.to_string(), stripped))
    } else {
        Err(Box::new(
            Diagnostic::error(BAD_NAME, format!("`{raw}` is not a valid git branch name"))
                .help("use letters, digits, `-`, `_`, `.` and `/`, not starting with `-`, e.g. `gcc/prod` (set it with publish.branch or --branch)"),
        ))
    }
}

/// Opens the repository containing `path` (searching upwards).
pub(crate) fn open_repo(path: &Path) -> Outcome<Repository> {
    Repository::discover(path).map_err(|e| {
        Box::new(
            Diagnostic::error(
                NO_REPOSITORY,
                format!(
                    "{} is not inside a git repository: {}",
                    path.display(),
                    e.message()
                ),
            )
            .help("run `git init` (and commit the inputs) first, or name one with --repo"),
        )
    })
}

/// The author and committer: `user.name` / `user.email` from git config, else
/// [`FALLBACK_IDENTITY`]. The time is now: the only time gcc ever records.
pub(crate) fn signature(repo: &Repository) -> Outcome<Signature<'static>> {
    repo.signature()
        .or_else(|_| Signature::now(FALLBACK_IDENTITY.0, FALLBACK_IDENTITY.1))
        .map_err(git_err)
}

pub(super) fn peel_rev(repo: &Repository, rev: &str) -> Result<Oid, git2::Error> {
    repo.revparse_single(rev)
        .and_then(|o| o.peel_to_commit())
        .map(|c| c.id())
}

/// The commit a git revision names (a branch, tag, `HEAD~2`, a hash), or `not_found`.
pub(crate) fn rev_commit(repo: &Repository, rev: &str) -> Outcome<Oid> {
    peel_rev(repo, rev).map_err(|e| {
        Box::new(
            Diagnostic::error(
                NOT_FOUND,
                format!("`{rev}` does not name a commit: {}", e.message()),
            )
            .help("give a branch, a tag, a commit hash or an expression like HEAD~1"),
        )
    })
}
