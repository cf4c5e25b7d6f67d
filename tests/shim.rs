//! This tool is named `gcc`. First on PATH, it must leave C builds working: a C compiler's
//! call goes, unchanged, to the next gcc on PATH (the GNU C compiler, which `.ci/run`
//! installs), and its own verbs stay its own.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

mod common;
use common::text;

/// A directory holding only this binary, named gcc.
fn shim_dir() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::os::unix::fs::symlink(env!("CARGO_BIN_EXE_gcc"), dir.path().join("gcc")).unwrap();
    dir
}

/// Runs `gcc args` in `cwd` with PATH = `first`, then `rest`.
fn run(first: &Path, rest: Option<&str>, cwd: &Path, args: &[&str], stdin: &str) -> Output {
    let path = match rest {
        Some(r) => format!("{}:{r}", first.display()),
        None => first.display().to_string(),
    };
    let mut child = Command::new("gcc")
        .args(args)
        .current_dir(cwd)
        .env("PATH", path)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("run the shim: {e}"));
    use std::io::Write;
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    child.wait_with_output().unwrap()
}

/// Whether `gcc` is a copy of this tool (an installed one, say) rather than a C compiler.
fn is_this_tool(gcc: &Path) -> bool {
    Command::new(gcc)
        .args(["version", "--format", "json"])
        .output()
        .is_ok_and(|o| text(&o.stdout).contains("catalog_digest"))
}

/// The GNU C compiler this machine has (the first gcc on the test's own PATH that is not
/// a copy of this tool: `.ci/run` installs one as README says).
fn real_gcc() -> PathBuf {
    let path = std::env::var("PATH").unwrap();
    std::env::split_paths(&path)
        .map(|d| d.join("gcc"))
        .find(|p| p.is_file() && !is_this_tool(p))
        .expect("a C compiler named gcc on PATH (.ci/run installs build-essential)")
}

#[test]
fn two_copies_of_this_tool_on_path_hand_a_c_call_on_to_the_compiler_not_to_each_other() {
    // An installed gcc (a copy) and a development build (a symlink) both before the C
    // compiler: each would find the other first.
    let dev = shim_dir();
    let installed = tempfile::tempdir().unwrap();
    std::fs::copy(env!("CARGO_BIN_EXE_gcc"), installed.path().join("gcc")).unwrap();
    let real = real_gcc();
    let path = format!(
        "{}:{}:{}",
        dev.path().display(),
        installed.path().display(),
        real.parent().unwrap().display()
    );
    let mut child = Command::new("gcc")
        .arg("-dumpversion")
        .env("PATH", &path)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while child.try_wait().unwrap().is_none() {
        if std::time::Instant::now() > deadline {
            child.kill().unwrap();
            panic!("the two copies handed the call back and forth");
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let o = child.wait_with_output().unwrap();
    let want = Command::new(&real).arg("-dumpversion").output().unwrap();
    assert!(o.status.success(), "{}", text(&o.stderr));
    assert_eq!(text(&o.stdout), text(&want.stdout));
}

#[test]
fn a_c_program_compiles_and_runs_through_the_shim() {
    let shim = shim_dir();
    let work = tempfile::tempdir().unwrap();
    std::fs::write(
        work.path().join("hello.c"),
        "#include <stdio.h>\nint main(void) { puts(\"hello from C\"); return 0; }\n",
    )
    .unwrap();
    let path = std::env::var("PATH").unwrap();
    let o = run(
        shim.path(),
        Some(&path),
        work.path(),
        &["-o", "hello", "hello.c"],
        "",
    );
    assert!(o.status.success(), "{}", text(&o.stderr));
    let hello = Command::new(work.path().join("hello")).output().unwrap();
    assert_eq!(text(&hello.stdout), "hello from C\n");
    // A failing compile fails the same way: the compiler's exit code and message.
    std::fs::write(work.path().join("bad.c"), "int main(void) { return }\n").unwrap();
    let o = run(shim.path(), Some(&path), work.path(), &["-c", "bad.c"], "");
    assert!(!o.status.success());
    assert!(text(&o.stderr).contains("error"), "{}", text(&o.stderr));
}

#[test]
fn cc_crate_style_probes_get_the_c_compilers_answers() {
    let shim = shim_dir();
    let path = std::env::var("PATH").unwrap();
    let cwd = std::env::temp_dir();
    let real = |args: &[&str], stdin: &str| {
        let mut c = Command::new(real_gcc())
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        use std::io::Write;
        c.stdin.take().unwrap().write_all(stdin.as_bytes()).unwrap();
        text(&c.wait_with_output().unwrap().stdout)
    };
    for (args, stdin) in [
        (&["-dumpversion"][..], ""),
        (&["-dumpmachine"][..], ""),
        (&["--version"][..], ""),
        (&["-E", "-"][..], "__GNUC__ __STDC_VERSION__\n"),
    ] {
        let o = run(shim.path(), Some(&path), &cwd, args, stdin);
        assert!(o.status.success(), "{args:?}: {}", text(&o.stderr));
        assert_eq!(text(&o.stdout), real(args, stdin), "{args:?}");
    }
}

#[test]
fn its_own_verbs_stay_its_own() {
    let shim = shim_dir();
    let path = std::env::var("PATH").unwrap();
    let cwd = common::repo();
    let o = run(
        shim.path(),
        Some(&path),
        &cwd,
        &["version", "--format", "json"],
        "",
    );
    assert!(o.status.success(), "{}", text(&o.stderr));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["version"], env!("CARGO_PKG_VERSION"));
    assert_eq!(v["catalog_digest"].as_str().unwrap().len(), 64);
    assert!(v["rustc"].as_str().unwrap().starts_with("rustc "), "{v}");
    assert!(!v["git_commit"].as_str().unwrap().is_empty());
    // The fingerprint every lock records (tests/fleet.rs checks the lock side).
    assert_eq!(v["build"], gcc::lock::GCC_BUILD);
    assert_eq!(v["source_digest"].as_str().unwrap().len(), 64);
    let o = run(shim.path(), Some(&path), &cwd, &["check", "aio"], "");
    assert!(o.status.success(), "{}", text(&o.stderr));
}

#[test]
fn without_another_gcc_a_compilers_call_is_refused_and_says_why() {
    let shim = shim_dir();
    let work = tempfile::tempdir().unwrap();
    let o = run(shim.path(), None, work.path(), &["-c", "x.c"], "");
    assert_eq!(o.status.code(), Some(2));
    assert!(
        text(&o.stderr).contains("no other gcc is on PATH"),
        "{}",
        text(&o.stderr)
    );
    // A bare --version is then this tool's.
    let o = run(shim.path(), None, work.path(), &["--version"], "");
    assert!(o.status.success());
    assert_eq!(
        text(&o.stdout),
        format!("gcc {}\n", env!("CARGO_PKG_VERSION"))
    );
}

#[test]
fn bash_completes_verbs_and_their_flags() {
    // The script `gcc completions bash` prints, loaded into a real bash and asked what
    // `gcc bu<TAB>` and `gcc build --for<TAB>` complete to.
    let script = format!(
        "source <('{}' completions bash)\n\
         COMP_WORDS=(gcc bu); COMP_CWORD=1; _gcc gcc bu gcc; echo \"${{COMPREPLY[@]}}\"\n\
         COMP_WORDS=(gcc build --for); COMP_CWORD=2; _gcc gcc --for build; echo \"${{COMPREPLY[@]}}\"\n",
        env!("CARGO_BIN_EXE_gcc")
    );
    let o = Command::new("bash").arg("-c").arg(script).output().unwrap();
    assert!(o.status.success(), "{}", text(&o.stderr));
    let out = text(&o.stdout);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines[0], "build");
    assert!(lines[1].split(' ').any(|w| w == "--format"), "{out}");
    // Every shell clap_complete knows gets a script.
    for shell in ["zsh", "fish", "powershell", "elvish"] {
        let o = Command::new(env!("CARGO_BIN_EXE_gcc"))
            .args(["completions", shell])
            .output()
            .unwrap();
        assert!(o.status.success() && o.stdout.len() > 500, "{shell}");
    }
}

#[test]
fn man_pages_for_gcc_and_each_command() {
    let man = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_gcc"))
            .arg("man")
            .args(args)
            .output()
            .unwrap()
    };
    let o = man(&[]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    let page = text(&o.stdout);
    assert!(page.contains(".TH gcc 1"), "{page}");
    // Every command is listed on gcc(1).
    for command in ["build", "diff", "rehearse", "rollback", "man"] {
        assert!(
            page.contains(&format!("\n.TP\ngcc\\-{command}(1)\n")),
            "{command}"
        );
    }
    let o = man(&["build"]);
    let page = text(&o.stdout);
    assert!(page.contains(".TH gcc-build 1"), "{page}");
    assert!(page.contains("\\fB\\-\\-validate\\fR"), "{page}");
    assert!(page.contains(".SH OPTIONS"), "{page}");
    let o = man(&["nope"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(text(&o.stderr).contains("no command `nope`"));
}
