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

use crate::render::api_group;

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

/// Finds the schema file of `apiVersion`/`kind` under `schemas`.
pub(crate) fn schema_path(schemas: &Path, api_version: &str, kind: &str) -> Option<PathBuf> {
    let group = api_group(api_version);
    let version = api_version.rsplit('/').next().unwrap_or(api_version);
    let kind_l = kind.to_ascii_lowercase();
    // A CRD's schema is filed under its group (gateway.networking.k8s.io's too); a
    // built-in kind's under kubernetes/<version>/.
    if group.contains('.') {
        let file = format!("{kind_l}_{version}.json");
        let mut derived: Vec<PathBuf> = std::fs::read_dir(schemas.join("derived"))
            .map(|rd| rd.filter_map(|e| e.ok().map(|e| e.path())).collect())
            .unwrap_or_default();
        derived.sort();
        let crd = derived
            .into_iter()
            .rev()
            .map(|d| d.join(group).join(&file))
            .chain(std::iter::once(schemas.join(group).join(&file)))
            .find(|p| p.is_file());
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
    let k8s = schemas.join("kubernetes");
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(&k8s)
        .ok()?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_dir())
        .collect();
    dirs.sort();
    dirs.into_iter()
        .rev()
        .map(|d| d.join(&file))
        .find(|p| p.is_file())
}

/// Compiled schemas of one schema directory, each compiled once, on first use.
pub(crate) struct Schemas {
    dir: PathBuf,
    validators: BTreeMap<PathBuf, jsonschema::Validator>,
}

/// What a schema says of one object.
pub(crate) enum Verdict {
    /// No schema for its apiVersion and kind.
    NoSchema,
    /// Validated against this schema file (relative to the directory); its violations
    /// (JSON pointer in the object, message).
    Checked(String, Vec<(String, String)>),
}

impl Schemas {
    /// The schemas under `dir` (an error when it is not a directory).
    pub fn new(dir: &Path) -> Result<Schemas, String> {
        if !dir.is_dir() {
            return Err(format!("schema directory {} does not exist", dir.display()));
        }
        Ok(Schemas {
            dir: dir.to_path_buf(),
            validators: BTreeMap::new(),
        })
    }

    /// Validates one object against the schema of its apiVersion and kind.
    pub fn check(&mut self, obj: &Value) -> Result<Verdict, String> {
        let api_version = obj["apiVersion"].as_str().unwrap_or_default();
        let kind = obj["kind"].as_str().unwrap_or_default();
        let Some(file) = schema_path(&self.dir, api_version, kind) else {
            return Ok(Verdict::NoSchema);
        };
        if !self.validators.contains_key(&file) {
            let text =
                std::fs::read_to_string(&file).map_err(|e| format!("{}: {e}", file.display()))?;
            let schema: Value =
                serde_json::from_str(&text).map_err(|e| format!("{}: {e}", file.display()))?;
            let v = jsonschema::validator_for(&schema)
                .map_err(|e| format!("{}: {e}", file.display()))?;
            self.validators.insert(file.clone(), v);
        }
        let rel = file
            .strip_prefix(&self.dir)
            .unwrap_or(&file)
            .to_string_lossy()
            .replace('\\', "/");
        let errors = self.validators[&file]
            .iter_errors(obj)
            .map(|e| (e.instance_path().to_string(), e.to_string()))
            .collect();
        Ok(Verdict::Checked(rel, errors))
    }
}

/// Validates every object file under `dir` (kustomization files and the lock excepted).
pub fn validate_tree(dir: &Path, schemas: &Path) -> Result<Report, String> {
    let mut schemas = Schemas::new(schemas)?;
    let mut report = Report::default();
    for entry in WalkDir::new(dir).sort_by_file_name() {
        let entry = entry.map_err(|e| e.to_string())?;
        let path = entry.path();
        let name = entry.file_name().to_string_lossy();
        if !entry.file_type().is_file() || !name.ends_with(".yaml") || name == "kustomization.yaml"
        {
            continue;
        }
        let rel = path
            .strip_prefix(dir)
            .unwrap_or(path)
            .to_string_lossy()
            .replace('\\', "/");
        let text = std::fs::read_to_string(path).map_err(|e| format!("{rel}: {e}"))?;
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
