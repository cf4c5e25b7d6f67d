//! What a deploy branch holds, read back: builds, history, pins, and the names a user
//! gives them (a pin, a build id, a revision).

use git2::{ObjectType, Oid};

use super::*;

impl Deploy {
    /// The build recorded in `commit`, or `not_a_build`.
    pub fn build(&self, commit: Oid) -> Outcome<Build> {
        let c = self.repo.find_commit(commit).map_err(git_err)?;
        let short_id = short(&commit.to_string()).to_string();
        let build = read_build(&c).ok_or_else(|| {
            Box::new(Diagnostic::error(
                NOT_A_BUILD,
                format!(
                    "commit {short_id} is not a gcc build: its message has no `{}:` trailer",
                    trailer::BUILD_ID
                ),
            ))
        })?;
        if !build.environment.is_empty() && build.environment != self.env {
            return Err(Box::new(
                Diagnostic::error(
                    FOREIGN_BRANCH,
                    format!(
                        "commit {short_id} is a build of environment `{}`, not of {}",
                        build.environment, self.env
                    ),
                )
                .help("its Environment trailer says so; check publish.branch of both environments"),
            ));
        }
        Ok(build)
    }

    /// The builds on the branch, newest first, following first parents; at most `limit`.
    pub(crate) fn history(&self, limit: usize) -> Outcome<Vec<Build>> {
        let mut out = Vec::new();
        self.walk(|e| {
            if let Entry::Build(b) = e {
                out.push(b);
            }
            out.len() < limit
        })?;
        Ok(out)
    }

    /// The branch's commits, newest first, following first parents: gcc's builds and
    /// the commits it did not make; at most `limit` of each.
    pub(crate) fn log(&self, limit: usize) -> Outcome<Vec<Entry>> {
        let (mut out, mut builds, mut others) = (Vec::new(), 0, 0);
        self.walk(|e| {
            let n = match e {
                Entry::Build(_) => &mut builds,
                Entry::Other(_) => &mut others,
            };
            if *n < limit {
                *n += 1;
                out.push(e);
            }
            builds < limit || others < limit
        })?;
        Ok(out)
    }

    /// Calls `each` on the branch's first-parent commits, newest first, while it says go on.
    fn walk(&self, mut each: impl FnMut(Entry) -> bool) -> Outcome<()> {
        let Some(tip) = self.tip()? else {
            return Ok(());
        };
        let mut walk = self.repo.revwalk().map_err(git_err)?;
        walk.push(tip).map_err(git_err)?;
        walk.simplify_first_parent().map_err(git_err)?;
        for oid in walk {
            let c = self
                .repo
                .find_commit(oid.map_err(git_err)?)
                .map_err(git_err)?;
            let entry = match read_build(&c) {
                Some(b) => Entry::Build(b),
                None => Entry::Other(other_commit(&c)),
            };
            if !each(entry) {
                break;
            }
        }
        Ok(())
    }

    /// The pins of this environment, by name.
    pub fn pins(&self) -> Outcome<Vec<Pin>> {
        let prefix = self.pin_prefix();
        let refs = self
            .repo
            .references_glob(&format!("{prefix}*"))
            .map_err(git_err)?;
        let mut out = Vec::new();
        for r in refs {
            let r = r.map_err(git_err)?;
            let Some(name) = r.name().ok().and_then(|n| n.strip_prefix(&prefix)) else {
                continue;
            };
            let name = name.to_string();
            let commit = r.peel_to_commit().map_err(git_err)?;
            if let Some(build) = read_build(&commit) {
                out.push(Pin { name, build });
            }
        }
        out.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(out)
    }

    /// Pins `commit` (a build) as `gcc/<env>/<name>`; an existing pin needs `force`.
    pub fn pin(&self, name: &str, commit: Oid, force: bool) -> Outcome<Pin> {
        let tag = format!("gcc/{}/{name}", self.env);
        if name.contains('/')
            || name.starts_with('-')
            || !git2::Reference::is_valid_name(&format!("refs/tags/{tag}"))
        {
            return Err(Box::new(
                Diagnostic::error(BAD_NAME, format!("`{name}` is not a valid pin name")).help(
                    "use letters, digits, `-`, `_` and `.`, not starting with `-`, e.g. `good` or `2026-11-release`",
                ),
            ));
        }
        let build = self.build(commit)?;
        if !force
            && self
                .repo
                .find_reference(&format!("refs/tags/{tag}"))
                .is_ok()
        {
            return Err(Box::new(
                Diagnostic::error(PIN_EXISTS, format!("pin `{name}` already exists"))
                    .help("pass --force to move it"),
            ));
        }
        let object = self
            .repo
            .find_object(commit, Some(ObjectType::Commit))
            .map_err(git_err)?;
        let message = format!(
            "gcc: pin {name} of {env}\n\n{}: {}\n{}: {env}\n",
            trailer::BUILD_ID,
            build.build_id,
            trailer::ENVIRONMENT,
            env = self.env
        );
        let sig = signature(&self.repo)?;
        self.repo
            .tag(&tag, &object, &sig, &message, force)
            .map_err(git_err)?;
        Ok(Pin {
            name: name.to_string(),
            build,
        })
    }

    /// Resolves what a user names: a pin, then a build id (prefix, at least 7 hex digits)
    /// on the branch, then any git revision.
    /// A spec that is both a pin and a build id prefix of two different builds is
    /// ambiguous and refused, naming both.
    pub(crate) fn resolve(&self, spec: &str) -> Outcome<Oid> {
        let pin = format!("{}{spec}", self.pin_prefix());
        let pinned = match self.repo.find_reference(&pin) {
            Ok(r) if git2::Reference::is_valid_name(&pin) => {
                Some(r.peel_to_commit().map(|c| c.id()).map_err(git_err)?)
            }
            _ => None,
        };
        let by_id = self.find_build_id(spec)?;
        match (pinned, by_id) {
            (Some(p), Some(b)) if self.tree_of(p)? != self.tree_of(b)? => {
                let id = self.build(b)?.build_id;
                return Err(Box::new(
                    Diagnostic::error(
                        AMBIGUOUS,
                        format!(
                            "`{spec}` is ambiguous: the pin gcc/{}/{spec} (commit {}) and build {} (commit {})",
                            self.env,
                            short(&p.to_string()),
                            short(&id),
                            short(&b.to_string())
                        ),
                    )
                    .help("give more digits of the build id, or rename the pin (`gcc pin --force` moves one)"),
                ));
            }
            (Some(p), _) => return Ok(p),
            (None, Some(b)) => return Ok(b),
            (None, None) => {}
        }
        self.find_rev(spec).map_err(|_| {
            Box::new(
                Diagnostic::error(
                    NOT_FOUND,
                    format!(
                        "`{spec}` is neither a pin of {}, nor a build id on {}, nor a commit",
                        self.env, self.branch
                    ),
                )
                .help(format!(
                    "`gcc pins {}` lists the pins and recent builds",
                    self.env
                )),
            )
        })
    }

    /// The newest commit on the branch whose build id starts with `id` (7+ hex digits).
    pub(crate) fn resolve_build_id(&self, id: &str) -> Outcome<Oid> {
        self.find_build_id(id)?.ok_or_else(|| {
            Box::new(
                Diagnostic::error(
                    NOT_FOUND,
                    format!(
                        "no build on {} has a build id starting with `{id}`",
                        self.branch
                    ),
                )
                .help(format!(
                    "`gcc pins {}` lists the recent builds (at least 7 hex digits)",
                    self.env
                )),
            )
        })
    }

    /// The commit a git revision names.
    pub(crate) fn resolve_rev(&self, rev: &str) -> Outcome<Oid> {
        rev_commit(&self.repo, rev)
    }

    /// The branch tip, or `not_found` before the first publish.
    pub(crate) fn require_tip(&self) -> Outcome<Oid> {
        self.tip()?.ok_or_else(|| {
            Box::new(
                Diagnostic::error(
                    NOT_FOUND,
                    format!("the deploy branch {} does not exist yet", self.branch),
                )
                .help(format!(
                    "publish a build first: gcc build {} --commit",
                    self.env
                )),
            )
        })
    }

    fn tree_of(&self, commit: Oid) -> Outcome<Oid> {
        self.repo
            .find_commit(commit)
            .map(|c| c.tree_id())
            .map_err(git_err)
    }

    fn find_rev(&self, rev: &str) -> Result<Oid, git2::Error> {
        peel_rev(&self.repo, rev)
    }

    fn find_build_id(&self, spec: &str) -> Outcome<Option<Oid>> {
        if spec.len() < 7 || !spec.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Ok(None);
        }
        let spec = spec.to_ascii_lowercase();
        let builds = self.history(usize::MAX)?;
        let ids: std::collections::BTreeSet<&str> = builds
            .iter()
            .filter(|b| b.build_id.starts_with(&spec))
            .map(|b| b.build_id.as_str())
            .collect();
        match ids.len() {
            0 => Ok(None),
            1 => {
                // Newest first: a rollback's commit wins over the original; same tree.
                let newest = builds.iter().find(|b| ids.contains(b.build_id.as_str()));
                newest
                    .map(|b| Oid::from_str(&b.commit).map_err(git_err))
                    .transpose()
            }
            _ => Err(Box::new(
                Diagnostic::error(
                    NOT_FOUND,
                    format!(
                        "build id prefix `{spec}` is ambiguous: {}",
                        ids.into_iter().collect::<Vec<_>>().join(", ")
                    ),
                )
                .help("give more digits"),
            )),
        }
    }
}

/// What a user needs to recognise a commit gcc did not make.
fn other_commit(c: &git2::Commit<'_>) -> OtherCommit {
    let a = c.author();
    OtherCommit {
        commit: c.id().to_string(),
        time: c.time().seconds(),
        summary: c.summary().ok().flatten().unwrap_or("").to_string(),
        author: format!("{} <{}>", a.name().unwrap_or(""), a.email().unwrap_or("")),
    }
}
