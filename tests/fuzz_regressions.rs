//! Replays every input the fuzzer (`fuzz/`, `cargo fuzz run compile`) crashed on, kept
//! under `tests/fuzz/`, through the same harness; and proves the fuzzer's seeds are
//! valid builds, so it starts from inputs that reach the plan and emit stages.

#[path = "../fuzz/harness.rs"]
mod harness;

use std::path::Path;

fn inputs(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut out: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_file() && p.extension().is_none_or(|e| e != "md"))
        .map(|p| (p.display().to_string(), std::fs::read(&p).unwrap()))
        .collect();
    out.sort();
    out
}

#[test]
fn every_crash_the_fuzzer_found_stays_fixed() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fuzz");
    // The fuzzer's own finds (crash-*, timeout-*, oom-*) and the hostile inputs found by
    // hand (hazard-*): none may panic, and none is a valid build.
    let cases = inputs(&dir);
    assert!(
        cases.iter().any(|(n, _)| n.contains("hazard-")),
        "tests/fuzz lost its cases"
    );
    for (name, data) in cases {
        let ok = std::panic::catch_unwind(|| harness::run(&data));
        assert!(ok.is_ok(), "{name} panics again");
        if let Ok(c) = gcc::compile::compile(&harness::source(&data), "fuzz") {
            assert!(c.build.is_none(), "{name} builds");
            assert!(
                c.diagnostics.iter().any(|d| d.is_error()),
                "{name}: no error"
            );
        }
    }
}

#[test]
fn the_fuzz_seeds_are_valid_builds() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/seeds/compile");
    let seeds = inputs(&dir);
    assert_eq!(seeds.len(), 3);
    for (name, data) in seeds {
        harness::run(&data);
        let c = gcc::compile::compile(&harness::source(&data), "fuzz").unwrap();
        let text = gcc::diag::render_text(&c.loaded.files, &c.diagnostics, false);
        assert!(c.build.is_some(), "{name} does not build:\n{text}");
    }
}
