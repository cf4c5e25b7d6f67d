//! This tool is called `gcc`, and so is the GNU C compiler. Once this binary is first on
//! `PATH`, build systems (`CC=gcc`, the `cc` crate's probes, `./configure`) call it with a
//! C compiler's arguments. Those calls are handed, unchanged, to the next `gcc` on `PATH`
//! that is not this binary, so that every C build on the machine keeps working. A call
//! whose first argument is one of this tool's verbs is never handed on.

use std::ffi::{OsStr, OsString};
use std::path::{Path, PathBuf};

/// Flags that only a C compiler driver takes (or takes first).
const CC_FLAGS: [&str; 12] = [
    "-o",
    "-c",
    "-E",
    "-S",
    "-x",
    "-dumpversion",
    "-dumpmachine",
    "-dumpfullversion",
    "-shared",
    "-pipe",
    "-pthread",
    "-###",
];

/// Prefixes of a C compiler's flags (`-print-prog-name=ld`, `-Wall`, `-I.`, `-std=c11`).
const CC_PREFIXES: [&str; 12] = [
    "-print-", "-W", "-I", "-D", "-U", "-L", "-l", "-f", "-m", "-O", "-std=", "-g",
];

/// Extensions of the files a C compiler reads.
const CC_FILES: [&str; 14] = [
    "c", "h", "i", "s", "S", "o", "a", "so", "cc", "cpp", "cxx", "C", "m", "ii",
];

/// Whether `args` (without the program name) are a C compiler's: no verb of this tool
/// first, and a flag or file only a compiler takes anywhere (`-` for standard input
/// among them); `--version` or `-v` alone count when another `gcc` exists, since build
/// systems probe the compiler that way (`gcc version` prints this tool's).
pub(crate) fn is_c_compiler_call(args: &[OsString], verbs: &[&str], other_gcc: bool) -> bool {
    // This tool's global options may come before its verb (`gcc -C site check prod`).
    let mut rest = args;
    loop {
        match rest.first().and_then(|a| a.to_str()) {
            Some("-C" | "--root" | "--color") if rest.len() > 1 => rest = &rest[2..],
            Some(a) if a.starts_with("--root=") || a.starts_with("--color=") => rest = &rest[1..],
            _ => break,
        }
    }
    if let Some(first) = rest.first().and_then(|a| a.to_str())
        && (verbs.contains(&first) || first == "help")
    {
        return false;
    }
    let Some(first) = args.first().and_then(|a| a.to_str()) else {
        return false;
    };
    if args.len() == 1 && matches!(first, "--version" | "-v") {
        return other_gcc;
    }
    args.iter().filter_map(|a| a.to_str()).any(|a| {
        a == "-"
            || CC_FLAGS.contains(&a)
            || CC_PREFIXES.iter().any(|p| a.starts_with(p) && a.len() > 1)
            || (!a.starts_with('-')
                && Path::new(a)
                    .extension()
                    .and_then(OsStr::to_str)
                    .is_some_and(|e| CC_FILES.contains(&e)))
    })
}

/// Copies of this tool a forwarded call has already passed through (a PATH-style list of
/// their canonical paths): with two on PATH (an installed one and a development build),
/// each would otherwise hand the call to the other for ever.
const VISITED: &str = "GCC_GITOPS_SHIM_VISITED";

/// The first `gcc` on `path` (a `PATH` value) that is a file and none of `skip` (this
/// binary and the copies of it the call went through).
pub(crate) fn next_gcc(path: &OsStr, skip: &[PathBuf]) -> Option<PathBuf> {
    let skip: Vec<PathBuf> = skip
        .iter()
        .map(|p| std::fs::canonicalize(p).unwrap_or_else(|_| p.clone()))
        .collect();
    std::env::split_paths(path)
        .map(|dir| dir.join("gcc"))
        .filter(|p| p.is_file())
        .find(|p| std::fs::canonicalize(p).map_or(true, |c| !skip.contains(&c)))
}

/// Hands a C compiler's call to the next `gcc` on `PATH` and does not return, or returns
/// the exit code to stop with: `None` when the call is this tool's.
pub(crate) fn forward(verbs: &[&str]) -> Option<u8> {
    let mut args = std::env::args_os();
    let _program = args.next();
    let args: Vec<OsString> = args.collect();
    let this = std::env::current_exe().ok()?;
    let mut skip: Vec<PathBuf> = std::env::var_os(VISITED)
        .map(|v| std::env::split_paths(&v).collect())
        .unwrap_or_default();
    skip.push(std::fs::canonicalize(&this).unwrap_or(this));
    let other = std::env::var_os("PATH").and_then(|p| next_gcc(&p, &skip));
    if !is_c_compiler_call(&args, verbs, other.is_some()) {
        return None;
    }
    let Some(cc) = other else {
        eprintln!(
            "gcc: this is gcc, the GitOps Cloud Compiler; these are a C compiler's arguments and no other gcc is on PATH (install one, or put it before this gcc)"
        );
        return Some(2);
    };
    let visited = std::env::join_paths(&skip).unwrap_or_default();
    exec(&cc, &args, &visited)
}

#[cfg(unix)]
fn exec(cc: &Path, args: &[OsString], visited: &OsStr) -> Option<u8> {
    use std::os::unix::process::CommandExt;
    // exec replaces this process: same arguments, environment and descriptors. argv[0] is
    // the compiler's full path: the GNU driver finds cc1 and its libraries from it (as
    // `gcc`, it would search PATH and find this binary again).
    let err = std::process::Command::new(cc)
        .args(args)
        .env(VISITED, visited)
        .exec();
    eprintln!("gcc: cannot run the C compiler {}: {err}", cc.display());
    Some(2)
}

#[cfg(not(unix))]
fn exec(cc: &Path, args: &[OsString], visited: &OsStr) -> Option<u8> {
    match std::process::Command::new(cc)
        .args(args)
        .env(VISITED, visited)
        .status()
    {
        Ok(s) => Some(s.code().unwrap_or(1).clamp(0, 255) as u8),
        Err(err) => {
            eprintln!("gcc: cannot run the C compiler {}: {err}", cc.display());
            Some(2)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn call(args: &[&str], other: bool) -> bool {
        let args: Vec<OsString> = args.iter().map(OsString::from).collect();
        is_c_compiler_call(&args, &["build", "check", "version"], other)
    }

    #[test]
    fn compiler_calls_are_told_from_verbs() {
        assert!(call(&["-o", "hello", "hello.c"], false));
        assert!(call(&["hello.c"], false));
        assert!(call(&["-dumpversion"], false));
        assert!(call(&["-E", "-"], false));
        assert!(call(&["-print-prog-name=ld"], false));
        assert!(call(&["-Wall", "-c", "x.o"], false));
        assert!(call(&["--version"], true));
        assert!(!call(&["--version"], false));
        assert!(!call(&["build", "prod", "-o", "x.c"], true));
        assert!(!call(&["build", "prod"], true));
        assert!(!call(&["version"], true));
        assert!(!call(&["help"], true));
        assert!(!call(&[], true));
        assert!(!call(&["--help"], true));
        assert!(!call(&["-C", "site", "check", "prod"], true));
        assert!(!call(&["-C", "x", "build", "aio", "--", "-x"], true));
        assert!(!call(
            &["--color=never", "--root", "x", "check", "a.c"],
            true
        ));
        assert!(call(&["-C", "x", "-c", "a.c"], true));
    }
}
