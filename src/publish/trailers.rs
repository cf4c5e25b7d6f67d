//! What a gcc commit records: where its inputs came from, its trailers, its message.

use std::collections::BTreeMap;

use serde::Serialize;

use super::Build;

/// Trailer keys written into every build commit.
pub mod trailer {
    /// The build id (sha256 over the tree's files, see `render::build_id`).
    pub(crate) const BUILD_ID: &str = "Build-Id";
    /// The environment name.
    pub(crate) const ENVIRONMENT: &str = "Environment";
    /// The source commit the inputs were read from (`none` outside a commit).
    pub(crate) const SOURCE_COMMIT: &str = "Source-Commit";
    /// The directory of the inputs inside the source repository, when not its top.
    pub(crate) const SOURCE_PATH: &str = "Source-Path";
    /// Present (`true`) when the inputs had uncommitted changes (`--allow-dirty`).
    pub(crate) const SOURCE_DIRTY: &str = "Source-Dirty";
    /// gcc's version.
    pub(crate) const GCC_VERSION: &str = "Gcc-Version";
    /// On a rollback commit: the commit whose tree it restores.
    pub(crate) const ROLLBACK_TO: &str = "Rollback-To";
}

/// Where the inputs of a build came from.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Provenance {
    /// The source commit, when the inputs were read from (or match) one.
    pub source_commit: Option<String>,
    /// The inputs' directory inside the source repository (`""` at the top).
    pub source_path: String,
    /// The inputs had uncommitted changes.
    pub dirty: bool,
}

/// The trailers of a gcc commit, one type: [`Trailers::format`] writes them (build and
/// rollback commits), [`Trailers::parse`] reads them back (history, pins, verify).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Trailers {
    /// On a rollback: the commit whose tree it restores.
    pub rollback_to: Option<String>,
    /// The build id.
    pub build_id: String,
    /// The environment.
    pub environment: String,
    /// The source commit of the inputs (`none` when there is none).
    pub source_commit: Option<String>,
    /// The inputs' directory inside the source repository (`""` at its top).
    pub source_path: String,
    /// The inputs had uncommitted changes.
    pub source_dirty: bool,
    /// gcc's version (`unknown` when a rolled-back commit did not say).
    pub gcc_version: String,
}

impl Trailers {
    /// The trailer block, one `Key: value` line each, in a fixed order.
    pub fn format(&self) -> String {
        let mut m = String::new();
        let mut line = |k: &str, v: &str| m.push_str(&format!("{k}: {v}\n"));
        if let Some(to) = &self.rollback_to {
            line(trailer::ROLLBACK_TO, to);
        }
        line(trailer::BUILD_ID, &self.build_id);
        line(trailer::ENVIRONMENT, &self.environment);
        line(
            trailer::SOURCE_COMMIT,
            self.source_commit.as_deref().unwrap_or("none"),
        );
        if !self.source_path.is_empty() {
            line(trailer::SOURCE_PATH, &self.source_path);
        }
        if self.source_dirty {
            line(trailer::SOURCE_DIRTY, "true");
        }
        line(trailer::GCC_VERSION, &self.gcc_version);
        m
    }

    /// The trailers of a commit message; `None` when it has no `Build-Id` (not a gcc
    /// commit). The last value of a key wins.
    pub fn parse(message: &str) -> Option<Trailers> {
        let t = trailers(message);
        Some(Trailers {
            rollback_to: t.get(trailer::ROLLBACK_TO).cloned(),
            build_id: t.get(trailer::BUILD_ID)?.clone(),
            environment: t.get(trailer::ENVIRONMENT).cloned().unwrap_or_default(),
            source_commit: t
                .get(trailer::SOURCE_COMMIT)
                .filter(|s| s.as_str() != "none")
                .cloned(),
            source_path: t.get(trailer::SOURCE_PATH).cloned().unwrap_or_default(),
            source_dirty: t.get(trailer::SOURCE_DIRTY).is_some_and(|v| v == "true"),
            gcc_version: t.get(trailer::GCC_VERSION).cloned().unwrap_or_default(),
        })
    }
}

/// The message of a build commit: subject, then the trailers.
pub(crate) fn build_message(
    env: &str,
    build_id: &str,
    gcc_version: &str,
    prov: &Provenance,
) -> String {
    let t = Trailers {
        rollback_to: None,
        build_id: build_id.to_string(),
        environment: env.to_string(),
        source_commit: prov.source_commit.clone(),
        source_path: prov.source_path.clone(),
        source_dirty: prov.dirty,
        gcc_version: gcc_version.to_string(),
    };
    format!("gcc: build {env} {}\n\n{}", short(build_id), t.format())
}

/// The message of a rollback commit: the target's trailers plus `Rollback-To:`.
pub(crate) fn rollback_message(env: &str, to: &Build, asked: &str) -> String {
    let t = Trailers {
        rollback_to: Some(to.commit.clone()),
        build_id: to.build_id.clone(),
        environment: env.to_string(),
        source_commit: to.source_commit.clone(),
        source_path: to.source_path.clone(),
        source_dirty: to.source_dirty,
        gcc_version: to.gcc_version.clone().unwrap_or_else(|| "unknown".into()),
    };
    format!(
        "gcc: rollback {env} to {} ({asked})\n\n{}",
        short(&to.build_id),
        t.format()
    )
}

/// The first 12 characters of an id, as shown to people.
pub(crate) fn short(id: &str) -> &str {
    &id[..id.len().min(12)]
}

/// The trailers of a commit message, by key (the last value wins).
pub fn trailers(message: &str) -> BTreeMap<String, String> {
    git2::message_trailers_strs(message)
        .map(|t| {
            t.iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect()
        })
        .unwrap_or_default()
}

pub(super) fn read_build(c: &git2::Commit<'_>) -> Option<Build> {
    let t = Trailers::parse(c.message().ok()?)?;
    Some(Build {
        commit: c.id().to_string(),
        build_id: t.build_id,
        environment: t.environment,
        time: c.time().seconds(),
        source_commit: t.source_commit,
        source_path: t.source_path,
        source_dirty: t.source_dirty,
        gcc_version: Some(t.gcc_version).filter(|v| !v.is_empty()),
        rollback_to: t.rollback_to,
    })
}

/// `2026-11-23 14:05:09 UTC` for seconds since the epoch (proleptic Gregorian calendar).
pub(crate) fn utc(secs: i64) -> String {
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    // Howard Hinnant's civil_from_days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02} {:02}:{:02}:{:02} UTC",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}
