//! `gcc init`: a new input repository, ready for an editor and CI: the bundled all-in-one
//! example (an environment and its inventory), the input schemas the files' first lines
//! point editors at, `.gitattributes` (LF: gcc refuses CRLF), `.gitignore` (`out/`) and a
//! CI workflow. It writes only files that do not exist yet, and refuses before writing
//! anything when one does: it never changes a file it did not write.

use std::path::{Path, PathBuf};

/// The files `gcc init` writes, by path relative to the directory.
pub const FILES: [(&str, &str); 7] = [
    (
        "environments/aio.yaml",
        include_str!("../../environments/aio.yaml"),
    ),
    (
        "inventory/aio-lab.yaml",
        include_str!("../../inventory/aio-lab.yaml"),
    ),
    (
        "schema/environment.schema.json",
        include_str!("../../schema/environment.schema.json"),
    ),
    (
        "schema/inventory.schema.json",
        include_str!("../../schema/inventory.schema.json"),
    ),
    (".gitattributes", "* text=auto eol=lf\n"),
    (".gitignore", "# gcc's output trees\nout/\n"),
    (".github/workflows/gcc.yaml", WORKFLOW),
];

/// Builds and validates every environment on each push, and keeps one comment with the
/// diff of every environment on a pull request (README, "In CI"; tests/workflow.rs runs
/// its steps).
const WORKFLOW: &str = include_str!("../../examples/ci/gcc.yaml");

/// What `init` did, or why it did nothing.
#[derive(Debug)]
pub enum Init {
    /// Every file written, by path relative to the directory.
    Written(Vec<&'static str>),
    /// These files exist already; nothing was written.
    Exists(Vec<&'static str>),
}

/// Writes [`FILES`] into `dir` (created if missing), or nothing when one of them exists.
/// On an I/O error, the files written so far are removed again.
pub fn init(dir: &Path) -> Result<Init, String> {
    let exists: Vec<&str> = FILES
        .iter()
        .map(|(p, _)| *p)
        .filter(|p| std::fs::symlink_metadata(dir.join(p)).is_ok())
        .collect();
    if !exists.is_empty() {
        return Ok(Init::Exists(exists));
    }
    let mut written: Vec<PathBuf> = Vec::new();
    let result = FILES.iter().try_for_each(|(rel, text)| {
        let path = dir.join(rel);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(|e| format!("{}: {e}", parent.display()))?;
        }
        // create_new: a file that appeared since the check is not overwritten.
        use std::io::Write;
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&path)
            .map_err(|e| format!("{}: {e}", path.display()))?;
        written.push(path.clone());
        f.write_all(text.as_bytes())
            .map_err(|e| format!("{}: {e}", path.display()))
    });
    match result {
        Ok(()) => Ok(Init::Written(FILES.iter().map(|(p, _)| *p).collect())),
        Err(e) => {
            for p in written {
                let _ = std::fs::remove_file(p);
            }
            Err(e)
        }
    }
}
