//! Validates a rendered tree against upstream JSON Schemas (`gcc validate`).
//!
//! Schema lookup, for a directory laid out like `../shared/schemas` (kubeconform /
//! datree naming): built-in kinds in `kubernetes/<k8s version>-standalone-strict/
//! <kind>[-<group>]-<version>.json`; custom resources in `<group>/<kind>_<version>.json`,
//! preferring a `derived/*/<group>/...` copy (schemas regenerated at the operator
//! version gcc pins). Objects with no schema are reported, not silently passed.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Serialize;
use serde_json::Value;
use walkdir::WalkDir;

use crate::diag::Diagnostic;
use crate::render::api_group;

/// Code: an object of a new tree that its schema refuses (`gcc build --validate`).
pub(crate) const SCHEMA_VIOLATION: &str = "gcc::build::schema_violation";

/// One schema violation.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Violation {
    /// File, relative to the tree.
    pub file: String,
    /// `apiVersion/kind name`.
    pub object: String,
    /// JSON pointer in the object.
    pub path: String,
    /// What is wrong.
    pub message: String,
}

/// The outcome of validating a tree.
#[derive(Debug, Default, Serialize)]
pub struct Report {
    /// Objects validated against a schema.
    pub validated: usize,
    /// Schema file used per `apiVersion/kind`.
    pub schemas: BTreeMap<String, String>,
    /// Objects with no schema in the schema directory (`apiVersion/kind` → files).
    pub unvalidated: BTreeMap<String, Vec<String>>,
    /// Violations.
    pub violations: Vec<Violation>,
}

include!(concat!(env!("OUT_DIR"), "/output_schemas.rs"));

/// Where schemas come from: a directory laid out like `../shared/schemas`, or the copies
/// of the kinds gcc writes compiled into the binary (`schema/output/`).
#[derive(Debug, Clone)]
pub enum Store {
    /// A schema directory.
    Dir(PathBuf),
    /// The embedded output schemas.
    Embedded,
}

impl Store {
    /// The subdirectories of `sub` (relative paths), sorted.
    fn dirs(&self, sub: &str) -> Vec<String> {
        match self {
            Store::Dir(root) => {
                let mut d: Vec<String> = std::fs::read_dir(root.join(sub))
                    .map(|rd| {
                        rd.filter_map(|e| e.ok())
                            .filter(|e| e.path().is_dir())
                            .map(|e| format!("{sub}/{}", e.file_name().to_string_lossy()))
                            .collect()
                    })
                    .unwrap_or_default();
                d.sort();
                d
            }
            Store::Embedded => {
                let set: std::collections::BTreeSet<String> = OUTPUT_SCHEMAS
                    .iter()
                    .filter_map(|(rel, _)| {
                        let rest = rel.strip_prefix(sub)?.strip_prefix('/')?;
                        let (first, _) = rest.split_once('/')?;
                        Some(format!("{sub}/{first}"))
                    })
                    .collect();
                set.into_iter().collect()
            }
        }
    }

    fn exists(&self, rel: &str) -> bool {
        match self {
            Store::Dir(root) => root.join(rel).is_file(),
            Store::Embedded => OUTPUT_SCHEMAS.iter().any(|(r, _)| *r == rel),
        }
    }

    fn read(&self, rel: &str) -> Result<String, String> {
        match self {
            Store::Dir(root) => {
                std::fs::read_to_string(root.join(rel)).map_err(|e| format!("{rel}: {e}"))
            }
            Store::Embedded => OUTPUT_SCHEMAS
                .iter()
                .find(|(r, _)| *r == rel)
                .map(|(_, t)| t.to_string())
                .ok_or_else(|| format!("{rel}: not embedded")),
        }
    }

    /// Every embedded schema: (path under `schema/output/`, text).
    pub fn embedded() -> &'static [(&'static str, &'static str)] {
        OUTPUT_SCHEMAS
    }
}

/// Finds the schema of `apiVersion`/`kind` in `store`: its path there.
pub(crate) fn schema_path(store: &Store, api_version: &str, kind: &str) -> Option<String> {
    let group = api_group(api_version);
    let version = api_version.rsplit('/').next().unwrap_or(api_version);
    let kind_l = kind.to_ascii_lowercase();
    // A CRD's schema is filed under its group (gateway.networking.k8s.io's too), preferring
    // a `derived/*/` copy; a built-in kind's under kubernetes/<version>/.
    if group.contains('.') {
        let file = format!("{kind_l}_{version}.json");
        let crd = store
            .dirs("derived")
            .into_iter()
            .rev()
            .map(|d| format!("{d}/{group}/{file}"))
            .chain(std::iter::once(format!("{group}/{file}")))
            .find(|p| store.exists(p));
        if crd.is_some() || !group.ends_with(".k8s.io") {
            return crd;
        }
    }
    let file = if group.is_empty() {
        format!("{kind_l}-{version}.json")
    } else {
        let short = group.split('.').next().unwrap_or(group);
        format!("{kind_l}-{short}-{version}.json")
    };
    store
        .dirs("kubernetes")
        .into_iter()
        .rev()
        .map(|d| format!("{d}/{file}"))
        .find(|p| store.exists(p))
}

/// Compiled schemas of one store, each compiled once, on first use.
pub(crate) struct Schemas {
    store: Store,
    validators: BTreeMap<String, jsonschema::Validator>,
}

/// What a schema says of one object.
pub(crate) enum Verdict {
    /// No schema for its apiVersion and kind.
    NoSchema,
    /// Validated against this schema file (relative to the store); its violations
    /// (JSON pointer in the object, message).
    Checked(String, Vec<(String, String)>),
}

impl Schemas {
    /// The schemas under `dir` (an error when it is not a directory).
    pub fn new(dir: &Path) -> Result<Schemas, String> {
        if !dir.is_dir() {
            return Err(format!("schema directory {} does not exist", dir.display()));
        }
        Ok(Schemas::of(Store::Dir(dir.to_path_buf())))
    }

    /// The schemas of `store`.
    pub fn of(store: Store) -> Schemas {
        Schemas {
            store,
            validators: BTreeMap::new(),
        }
    }

    /// Validates one object against the schema of its apiVersion and kind.
    pub fn check(&mut self, obj: &Value) -> Result<Verdict, String> {
        let api_version = obj["apiVersion"].as_str().unwrap_or_default();
        let kind = obj["kind"].as_str().unwrap_or_default();
        let Some(rel) = schema_path(&self.store, api_version, kind) else {
            return Ok(Verdict::NoSchema);
        };
        if !self.validators.contains_key(&rel) {
            let text = self.store.read(&rel)?;
            let schema: Value = serde_json::from_str(&text).map_err(|e| format!("{rel}: {e}"))?;
            let v = jsonschema::validator_for(&schema).map_err(|e| format!("{rel}: {e}"))?;
            self.validators.insert(rel.clone(), v);
        }
        let errors = self.validators[&rel]
            .iter_errors(obj)
            .map(|e| (e.instance_path().to_string(), e.to_string()))
            .collect();
        Ok(Verdict::Checked(rel, errors))
    }
}

/// Validates every object file under `dir` (kustomization files and the lock excepted)
/// against the schemas of `store`.
pub fn validate_tree(dir: &Path, store: &Store) -> Result<Report, String> {
    if let Store::Dir(d) = store
        && !d.is_dir()
    {
        return Err(format!("schema directory {} does not exist", d.display()));
    }
    let mut files = BTreeMap::new();
    for entry in WalkDir::new(dir).sort_by_file_name() {
        let entry = entry.map_err(|e| e.to_string())?;
        let path = entry.path();
        if !entry.file_type().is_file() {
            continue;
        }
        let rel = path
            .strip_prefix(dir)
            .unwrap_or(path)
            .to_string_lossy()
            .replace('\\', "/");
        if rel.ends_with(".yaml") {
            let bytes = std::fs::read(path).map_err(|e| format!("{rel}: {e}"))?;
            files.insert(rel, bytes);
        }
    }
    validate_files(&files, store)
}

/// What `gcc build --validate` runs on a new tree before it is written: how many objects
/// were validated, or why the tree must not be written (each violation an error
/// [`SCHEMA_VIOLATION`]; an unreadable tree or schema store a refused `render` error).
pub(crate) fn gate(
    files: &BTreeMap<String, Vec<u8>>,
    store: &Store,
) -> Result<usize, Vec<Diagnostic>> {
    let report = validate_files(files, store)
        .map_err(|e| vec![Diagnostic::error(crate::compile::RENDER, e)])?;
    if report.violations.is_empty() {
        return Ok(report.validated);
    }
    Err(report
        .violations
        .iter()
        .map(|v| {
            Diagnostic::error(
                SCHEMA_VIOLATION,
                format!("{} in {} at `{}`: {}", v.object, v.file, v.path, v.message),
            )
            .help("nothing was written; `gcc validate` checks a tree against the same schemas")
        })
        .collect())
}

/// Validates the object files of a tree held in memory (path → bytes), as
/// [`validate_tree`] does on disk: what `gcc build --validate` runs before it writes.
pub fn validate_files(files: &BTreeMap<String, Vec<u8>>, store: &Store) -> Result<Report, String> {
    let mut schemas = Schemas::of(store.clone());
    let mut report = Report::default();
    for (rel, bytes) in files {
        if !crate::render::holds_objects(rel) {
            continue;
        }
        let rel = rel.clone();
        let text = String::from_utf8(bytes.clone()).map_err(|e| format!("{rel}: {e}"))?;
        let opts = serde_saphyr::options! { strict_booleans: true };
        let obj: Value = serde_saphyr::from_str_with_options(&text, opts)
            .map_err(|e| format!("{rel}: not valid YAML: {e}"))?;
        let api_version = obj["apiVersion"].as_str().unwrap_or_default();
        let kind = obj["kind"].as_str().unwrap_or_default();
        let name = obj["metadata"]["name"].as_str().unwrap_or_default();
        let key = format!("{api_version}/{kind}");
        match schemas.check(&obj)? {
            Verdict::NoSchema => report.unvalidated.entry(key).or_default().push(rel),
            Verdict::Checked(schema, errors) => {
                report.schemas.insert(key.clone(), schema);
                report.validated += 1;
                for (path, message) in errors {
                    report.violations.push(Violation {
                        file: rel.clone(),
                        object: format!("{key} {name}"),
                        path,
                        message,
                    });
                }
            }
        }
    }
    Ok(report)
}
