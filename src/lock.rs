//! `gcc.lock.json`, one type: written by [`crate::render`], read by [`crate::verify`],
//! [`crate::ops::fleet`] (is the tree up to date?), [`crate::diff`] (what each side is) and
//! [`crate::ops::outdir`] (is this directory gcc's?).
//!
//! The file is the build id, what was built (environment, profile, target, gcc version),
//! the digest of every input and of every file, and the Secrets the cluster must provide.
//! Its JSON has its keys sorted (as `serde_json`'s maps keep them): the bytes are a
//! function of the content.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::plan::{Plan, RequiredSecret};

/// The lock file's name.
pub(crate) const LOCK_FILE: &str = "gcc.lock.json";
/// The version of gcc written into every lock.
pub(crate) const GCC_VERSION: &str = env!("CARGO_PKG_VERSION");
/// This binary's build fingerprint (see `build.rs`): sha256 over the version, the
/// compiler and every source file. Written into every lock, so a tree written by another
/// build of the same version is never taken as up to date.
pub const GCC_BUILD: &str = env!("GCC_BUILD");

/// Hex sha256 of `bytes`.
pub(crate) fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// The build id of a set of files: sha256 over the sorted `path NUL sha256(file) LF`
/// lines. The lock file itself is never part of it.
pub fn build_id<'a>(hashes: impl IntoIterator<Item = (&'a str, &'a str)>) -> String {
    let mut lines: Vec<String> = hashes
        .into_iter()
        .filter(|(p, _)| *p != LOCK_FILE)
        .map(|(p, h)| format!("{p}\0{h}\n"))
        .collect();
    lines.sort();
    sha256_hex(lines.concat().as_bytes())
}

/// The lock of one output tree.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Lock {
    /// sha256 over the sorted `path\0sha256\n` lines of every other file.
    pub build_id: String,
    /// sha256 of every file but the lock, by path.
    pub files: BTreeMap<String, String>,
    /// Environment name.
    #[serde(default)]
    pub environment: String,
    /// Profile (`base`, `aio`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub profile: Option<String>,
    /// Target (`flux`, `argocd`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target: Option<String>,
    /// The gcc that built it.
    #[serde(default)]
    pub gcc_version: String,
    /// That gcc's build fingerprint ([`GCC_BUILD`]); empty in locks older than it.
    #[serde(default)]
    pub gcc_build: String,
    /// sha256 of every input, by path (the catalog as `gcc:catalog/<file>`).
    #[serde(default)]
    pub inputs: BTreeMap<String, String>,
    /// The Secrets the cluster must provide.
    #[serde(default)]
    pub secrets: Vec<RequiredSecret>,
}

impl Lock {
    /// The lock of `plan`'s build: `files` are the other files' digests.
    pub fn of(
        plan: &Plan,
        build_id: &str,
        inputs: &BTreeMap<String, String>,
        files: &BTreeMap<String, String>,
    ) -> Lock {
        let name = |v: serde_json::Value| v.as_str().map(str::to_string);
        Lock {
            build_id: build_id.to_string(),
            files: files.clone(),
            environment: plan.env.clone(),
            profile: name(serde_json::json!(plan.profile)),
            target: name(serde_json::json!(plan.target)),
            gcc_version: GCC_VERSION.to_string(),
            gcc_build: GCC_BUILD.to_string(),
            inputs: inputs.clone(),
            secrets: plan.secrets.clone(),
        }
    }

    /// The file's text: pretty JSON, keys sorted, a final newline.
    pub fn to_text(&self) -> Result<String, String> {
        // Through a `Value`, whose maps sort their keys, whatever the fields' order.
        let value = serde_json::to_value(self).map_err(|e| e.to_string())?;
        let mut text = serde_json::to_string_pretty(&value).map_err(|e| e.to_string())?;
        text.push('\n');
        Ok(text)
    }

    /// Reads a lock; the error is the JSON parser's.
    pub fn parse(bytes: &[u8]) -> Result<Lock, String> {
        serde_json::from_slice(bytes).map_err(|e| e.to_string())
    }

    /// Whether its build id is the one its file list hashes to (a lock gcc wrote, intact).
    pub fn consistent(&self) -> bool {
        build_id(self.files.iter().map(|(p, h)| (p.as_str(), h.as_str()))) == self.build_id
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_lock_reads_back_as_written_and_knows_whether_it_is_intact() {
        let files = BTreeMap::from([("a.yaml".to_string(), "00".to_string())]);
        let id = build_id(files.iter().map(|(p, h)| (p.as_str(), h.as_str())));
        let lock = Lock {
            build_id: id,
            files,
            environment: "prod".into(),
            profile: Some("base".into()),
            target: Some("flux".into()),
            gcc_version: "1".into(),
            gcc_build: "f00d".into(),
            inputs: BTreeMap::new(),
            secrets: Vec::new(),
        };
        let text = lock.to_text().unwrap();
        // Keys sorted, whatever the struct's field order.
        let keys: Vec<&str> = text
            .lines()
            .filter(|l| l.starts_with("  \""))
            .map(|l| l.trim().split('"').nth(1).unwrap())
            .collect();
        assert_eq!(
            keys,
            [
                "build_id",
                "environment",
                "files",
                "gcc_build",
                "gcc_version",
                "inputs",
                "profile",
                "secrets",
                "target"
            ]
        );
        let back = Lock::parse(text.as_bytes()).unwrap();
        assert_eq!(back, lock);
        assert!(back.consistent());
        let mut tampered = back;
        tampered.files.insert("b.yaml".into(), "11".into());
        assert!(!tampered.consistent());
        // The essentials are required; the rest may be missing (older or foreign locks).
        assert!(Lock::parse(br#"{"files": {}}"#).is_err());
        let bare = Lock::parse(br#"{"build_id": "x", "files": {}}"#).unwrap();
        assert_eq!(bare.gcc_version, "");
        assert_eq!(bare.gcc_build, "");
        assert_eq!(bare.profile, None);
    }
}
