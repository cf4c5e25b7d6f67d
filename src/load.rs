//! Stage 1, load: find the environment file and the inventory it names in a [`Source`],
//! read them (size limit, UTF-8) and parse them into [`Doc`]s.
//!
//! Architecture invariant: load reads only through [`Source`]; it never interprets the
//! data beyond the `inventory:` key it needs to find the inventory.

use std::collections::BTreeSet;

use crate::diag::{Diagnostic, FileId, Files, Label, did_you_mean};
use crate::source::{EntryKind, Source};
use crate::yaml::{self, Doc};

/// Code: an input file is larger than [`MAX_FILE_BYTES`].
pub(crate) const TOO_LARGE: &str = "gcc::load::too_large";
/// Code: an input file is not UTF-8.
pub(crate) const NOT_UTF8: &str = "gcc::load::not_utf8";
/// Code: an input file holds a NUL byte: it is binary (or UTF-16), not YAML text.
pub(crate) const NUL_BYTE: &str = "gcc::load::nul_byte";
/// Code: an input file has CR (Windows) line endings.
pub const CRLF: &str = "gcc::load::crlf";
/// Code: the environment asked for does not exist (a usage error).
pub(crate) const UNKNOWN_ENVIRONMENT: &str = "gcc::load::unknown_environment";
/// Code: an input is a symbolic link that leaves the source tree.
pub const LINK_OUTSIDE: &str = "gcc::load::link_outside";
/// Code: a file could not be read.
pub(crate) const IO: &str = "gcc::load::io";
/// Code: the environment names an inventory that does not exist.
pub(crate) const UNKNOWN_INVENTORY: &str = "gcc::env::unknown_inventory";
/// Code: both `inventory/<name>.yaml` and `inventory/<name>/` exist.
pub(crate) const AMBIGUOUS_INVENTORY: &str = "gcc::env::ambiguous_inventory";

/// Largest input file accepted: inventories of thousands of nodes stay far below it.
pub const MAX_FILE_BYTES: usize = 16 * 1024 * 1024;

/// A failure to even start: the environment does not exist, or the source is unreadable.
/// The CLI exits 2 on it.
#[derive(Debug, Clone)]
pub struct Fatal(pub Box<Diagnostic>);

/// What load found: every file's text, the parsed documents and the problems so far.
#[derive(Debug, Default)]
pub struct Loaded {
    /// Name of the environment.
    pub env_name: String,
    /// Text of every file read, for spans.
    pub files: Files,
    /// The environment document, if it parsed.
    pub env: Option<Doc>,
    /// Name of the inventory the environment names, if it could be read.
    pub inventory_name: Option<String>,
    /// The inventory's documents in path order (one, or one per file of a directory).
    pub inventory: Vec<Doc>,
    /// Ids of the inventory's files, parsed or not, in path order.
    pub inventory_files: Vec<FileId>,
    /// Problems found while loading.
    pub diagnostics: Vec<Diagnostic>,
    /// JSON pointers (per file) already reported by the YAML reader.
    pub flagged: Vec<(FileId, String)>,
}

impl Loaded {
    /// The parsed document of a file, if it parsed.
    pub(crate) fn doc(&self, file: FileId) -> Option<&Doc> {
        self.env
            .iter()
            .chain(self.inventory.iter())
            .find(|d| d.file == file)
    }

    /// A label on the value at `at` (an empty span when its file did not parse).
    pub fn label(&self, at: &crate::model::Loc, text: impl Into<String>) -> crate::diag::Label {
        match self.doc(at.file) {
            Some(doc) => doc.label(&at.ptr, text),
            None => crate::diag::Label::new(at.file, 0..0, text),
        }
    }

    /// A label on the key of `at` (for a whole mapping entry).
    pub(crate) fn key_label(
        &self,
        at: &crate::model::Loc,
        text: impl Into<String>,
    ) -> crate::diag::Label {
        match self.doc(at.file) {
            Some(doc) => doc.key_label(&at.ptr, text),
            None => crate::diag::Label::new(at.file, 0..0, text),
        }
    }

    /// Pointers of `file` already reported by the YAML reader.
    pub(crate) fn flagged_in(&self, file: FileId) -> BTreeSet<String> {
        self.flagged
            .iter()
            .filter(|(f, _)| *f == file)
            .map(|(_, p)| p.clone())
            .collect()
    }
}

/// True for names usable as environment or inventory names (a DNS-1123 label, or
/// anything made of lowercase letters, digits, `-`, `_` and `.` that is not a path).
fn is_plain_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 253
        && !name.starts_with('.')
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
}

/// Loads environment `env` and its inventory from `source`.
pub fn load(source: &dyn Source, env: &str) -> Result<Loaded, Fatal> {
    let mut loaded = Loaded {
        env_name: env.to_string(),
        ..Loaded::default()
    };
    let env_path = format!("environments/{env}.yaml");
    refuse_outside(source, &env_path)?;
    if !is_plain_name(env) || source.kind(&env_path) != Some(EntryKind::File) {
        let known = list_names(source, "environments", EntryKind::File);
        let help = if known.is_empty() {
            format!(
                "no environments found in {}/environments; create environments/{env}.yaml",
                source.describe()
            )
        } else {
            did_you_mean(env, &known, "environments")
        };
        return Err(Fatal(Box::new(
            Diagnostic::error(
                UNKNOWN_ENVIRONMENT,
                format!("no environment `{env}` (looked for {env_path})"),
            )
            .help(help),
        )));
    }
    let env_file = read_file(source, &env_path, &mut loaded)?;
    loaded.env = parse_into(&mut loaded, env_file);
    let Some(env_doc) = &loaded.env else {
        return Ok(loaded);
    };
    let Some(inv_name) = env_doc.value.get("inventory").and_then(|v| v.as_str()) else {
        return Ok(loaded); // the schema reports a missing or mistyped `inventory`
    };
    let inv_name = inv_name.to_string();
    let inv_label = env_doc.label("/inventory", "named here");
    load_inventory(source, &inv_name, inv_label, &mut loaded)?;
    Ok(loaded)
}

fn load_inventory(
    source: &dyn Source,
    name: &str,
    at: Label,
    loaded: &mut Loaded,
) -> Result<(), Fatal> {
    let file_path = format!("inventory/{name}.yaml");
    let dir_path = format!("inventory/{name}");
    let plain = is_plain_name(name);
    if plain {
        refuse_outside(source, &file_path)?;
        refuse_outside(source, &dir_path)?;
    }
    let as_file = plain && source.kind(&file_path) == Some(EntryKind::File);
    let as_dir = plain && source.kind(&dir_path) == Some(EntryKind::Dir);
    let paths = match (as_file, as_dir) {
        (true, true) => {
            loaded.diagnostics.push(
                Diagnostic::error(
                    AMBIGUOUS_INVENTORY,
                    format!("inventory `{name}` is both {file_path} and the directory {dir_path}/"),
                )
                .at(at)
                .help("keep one of them: a single file, or a directory of files merged by section"),
            );
            return Ok(());
        }
        (true, false) => vec![file_path],
        (false, true) => {
            let mut paths = Vec::new();
            collect_yaml(source, &dir_path, &mut paths)?;
            if paths.is_empty() {
                loaded.diagnostics.push(
                    Diagnostic::error(
                        UNKNOWN_INVENTORY,
                        format!("inventory directory {dir_path}/ holds no .yaml files"),
                    )
                    .at(at)
                    .help("add the inventory's files (site.yaml, nodes.yaml, ...) to it"),
                );
                return Ok(());
            }
            paths
        }
        (false, false) => {
            let mut known = list_names(source, "inventory", EntryKind::File);
            known.extend(list_names(source, "inventory", EntryKind::Dir));
            known.sort();
            let help = did_you_mean(name, &known, "inventories under inventory/");
            loaded.diagnostics.push(
                Diagnostic::error(
                    UNKNOWN_INVENTORY,
                    format!(
                        "inventory `{name}` does not exist (neither {file_path} nor {dir_path}/)"
                    ),
                )
                .at(at)
                .help(help),
            );
            return Ok(());
        }
    };
    loaded.inventory_name = Some(name.to_string());
    for path in paths {
        let file = read_file(source, &path, loaded)?;
        loaded.inventory_files.push(file.0);
        if let Some(doc) = parse_into(loaded, file) {
            loaded.inventory.push(doc);
        }
    }
    Ok(())
}

/// Every `.yaml`/`.yml` file below `dir`, recursively, in path order.
fn collect_yaml(source: &dyn Source, dir: &str, out: &mut Vec<String>) -> Result<(), Fatal> {
    let entries = source.list(dir).map_err(|e| io_error(dir, &e))?;
    for (name, kind) in entries {
        if name.starts_with('.') {
            continue;
        }
        let path = format!("{dir}/{name}");
        match kind {
            EntryKind::Dir => collect_yaml(source, &path, out)?,
            EntryKind::File if name.ends_with(".yaml") || name.ends_with(".yml") => out.push(path),
            EntryKind::File => {}
            EntryKind::Outside => refuse_outside(source, &path)?,
        }
    }
    Ok(())
}

/// Names of the `.yaml` files (without extension) or directories directly in `dir`.
fn list_names(source: &dyn Source, dir: &str, kind: EntryKind) -> Vec<String> {
    let Ok(entries) = source.list(dir) else {
        return Vec::new();
    };
    entries
        .into_iter()
        .filter(|(_, k)| *k == kind)
        .filter_map(|(n, _)| match kind {
            EntryKind::File => n.strip_suffix(".yaml").map(str::to_string),
            EntryKind::Dir => Some(n),
            EntryKind::Outside => None,
        })
        .collect()
}

/// Refuses `path` when it is a symbolic link that leaves the source tree: the link is
/// named, its target's content never read.
fn refuse_outside(source: &dyn Source, path: &str) -> Result<(), Fatal> {
    if source.kind(path) != Some(EntryKind::Outside) {
        return Ok(());
    }
    match source.read_limited(path, 0) {
        Err(e) => Err(io_error(path, &e)),
        Ok(_) => Ok(()),
    }
}

fn io_error(path: &str, err: &std::io::Error) -> Fatal {
    if let Some(link) = crate::source::LinkOutside::of(err) {
        return Fatal(Box::new(
            Diagnostic::error(LINK_OUTSIDE, format!("refusing to read {path}: {link}")).help(
                "gcc follows symbolic links only inside the source tree, the same in the \
                       working directory and in git; copy the file in, or point the link at a \
                       file inside the tree",
            ),
        ));
    }
    Fatal(Box::new(
        Diagnostic::error(IO, format!("cannot read {path}: {err}"))
            .help("check that the file exists and is readable"),
    ))
}

/// A file that was read and registered: its id and whether its text is usable.
type ReadFile = (FileId, bool);

/// Reads `path`, registers its text and checks size and encoding; the result says
/// whether the text is usable (parse it) or already reported.
fn read_file(source: &dyn Source, path: &str, loaded: &mut Loaded) -> Result<ReadFile, Fatal> {
    let bytes = source
        .read_limited(path, MAX_FILE_BYTES + 1)
        .map_err(|e| io_error(path, &e))?;
    if bytes.len() > MAX_FILE_BYTES {
        let id = loaded.files.add(path, "");
        loaded.diagnostics.push(
            Diagnostic::error(
                TOO_LARGE,
                format!(
                    "{path} is larger than the {} MiB an input file may have",
                    MAX_FILE_BYTES / (1024 * 1024)
                ),
            )
            .at(Label::new(id, 0..0, "this file"))
            .help("split the inventory into a directory of files (inventory/<name>/*.yaml)"),
        );
        return Ok((id, false));
    }
    match String::from_utf8(bytes) {
        Ok(text) => {
            let text = text
                .strip_prefix('\u{feff}')
                .map(str::to_string)
                .unwrap_or(text);
            let nul = text.find('\0');
            let cr = text.find('\r');
            let id = loaded.files.add(path, text);
            let refusal = if let Some(at) = nul {
                Diagnostic::error(NUL_BYTE, format!("{path} holds a NUL byte: it is binary, not YAML text"))
                    .at(Label::new(id, at..at + 1, "NUL byte"))
                    .help("check that this is the file you meant (a binary or UTF-16 file?) and save it as UTF-8 text")
            } else if let Some(at) = cr {
                Diagnostic::error(CRLF, format!("{path} has Windows (CRLF) line endings"))
                    .at(Label::new(id, at..at + 1, "carriage return"))
                    .help(format!(
                        "gcc reads LF line endings only, so that every checkout of a commit has the \
                         same input digests and build id: convert it (`sed -i 's/\\r$//' {path}`) and add \
                         `*.yaml text eol=lf` to .gitattributes"
                    ))
            } else {
                return Ok((id, true));
            };
            loaded.diagnostics.push(refusal);
            Ok((id, false))
        }
        Err(err) => {
            let at = err.utf8_error().valid_up_to();
            let text = String::from_utf8_lossy(err.as_bytes()).into_owned();
            let id = loaded.files.add(path, text);
            loaded.diagnostics.push(
                Diagnostic::error(NOT_UTF8, format!("{path} is not valid UTF-8 (byte {at})"))
                    .at(Label::new(id, at..at + 1, "invalid byte"))
                    .help("save the file as UTF-8"),
            );
            Ok((id, false))
        }
    }
}

fn parse_into(loaded: &mut Loaded, (file, usable): ReadFile) -> Option<Doc> {
    if !usable {
        return None;
    }
    let text = loaded.files.get(file).text.clone();
    let parsed = yaml::parse(file, &text);
    loaded.diagnostics.extend(parsed.diagnostics);
    loaded
        .flagged
        .extend(parsed.flagged.into_iter().map(|p| (file, p)));
    parsed.doc
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::MemSource;

    #[test]
    fn unknown_environment_is_fatal_with_suggestion() {
        let src = MemSource::new().with("environments/prod.yaml", "inventory: lab\n");
        let err = load(&src, "prd").unwrap_err();
        assert_eq!(err.0.code, UNKNOWN_ENVIRONMENT);
        assert_eq!(err.0.help.as_deref(), Some("did you mean `prod`?"));
        assert!(load(&src, "../prod").is_err());
    }

    #[test]
    fn inventory_directory_files_load_in_path_order() {
        let src = MemSource::new()
            .with("environments/e.yaml", "inventory: lab\n")
            .with("inventory/lab/b.yaml", "nodes: []\n")
            .with("inventory/lab/a.yml", "site: lab\n")
            .with("inventory/lab/notes.txt", "ignored");
        let l = load(&src, "e").unwrap();
        let paths: Vec<_> = l
            .inventory_files
            .iter()
            .map(|f| l.files.get(*f).path.clone())
            .collect();
        assert_eq!(paths, ["inventory/lab/a.yml", "inventory/lab/b.yaml"]);
        assert!(l.diagnostics.is_empty());
    }

    #[test]
    fn missing_inventory_points_at_the_reference() {
        let src = MemSource::new()
            .with("environments/e.yaml", "inventory: labb\n")
            .with("inventory/lab.yaml", "site: lab\n");
        let l = load(&src, "e").unwrap();
        assert_eq!(l.diagnostics.len(), 1);
        let d = &l.diagnostics[0];
        assert_eq!(d.code, UNKNOWN_INVENTORY);
        assert_eq!(d.primary.as_ref().unwrap().span, 11..15);
        assert_eq!(d.help.as_deref(), Some("did you mean `lab`?"));
    }

    #[test]
    fn non_utf8_and_oversized_files_are_reported() {
        let src = MemSource::new()
            .with(
                "environments/e.yaml",
                b"inventory: lab\n# caf\xe9\n".to_vec(),
            )
            .with("inventory/lab.yaml", vec![b'#'; MAX_FILE_BYTES + 1]);
        let l = load(&src, "e").unwrap();
        assert_eq!(l.diagnostics.len(), 1, "{:?}", l.diagnostics);
        assert_eq!(l.diagnostics[0].code, NOT_UTF8);
        assert_eq!(l.diagnostics[0].primary.as_ref().unwrap().span.start, 20);
        let src = MemSource::new()
            .with("environments/e.yaml", "inventory: lab\n")
            .with("inventory/lab.yaml", vec![b'#'; MAX_FILE_BYTES + 1]);
        let l = load(&src, "e").unwrap();
        assert_eq!(l.diagnostics[0].code, TOO_LARGE);
    }
}
