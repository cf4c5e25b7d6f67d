//! The fuzz harness, shared by the `compile` fuzz target and the regression test that
//! replays every input the fuzzer ever crashed on (`tests/fuzz_regressions.rs`).
//!
//! An input is an environment file and an inventory file, separated by the first line
//! `%%`; without one, the same bytes serve as both. The environment is `fuzz`, the
//! inventory file `inventory/lab.yaml`.

use gcc::compile::compile;
use gcc::source::MemSource;

/// The line between the environment and the inventory.
pub const SEPARATOR: &[u8] = b"\n%%\n";

/// The source tree an input stands for.
pub fn source(data: &[u8]) -> MemSource {
    let (env, inv) = match data.windows(SEPARATOR.len()).position(|w| w == SEPARATOR) {
        Some(i) => (&data[..i + 1], &data[i + SEPARATOR.len()..]),
        None => (data, data),
    };
    MemSource::new()
        .with("environments/fuzz.yaml", env.to_vec())
        .with("inventory/lab.yaml", inv.to_vec())
}

/// Load, check, plan (and emit and render when the input is valid), then render every
/// diagnostic as text and JSON: none of it may panic, whatever the bytes.
pub fn run(data: &[u8]) {
    let src = source(data);
    if let Ok(c) = compile(&src, "fuzz") {
        let _ = gcc::diag::render_text(&c.loaded.files, &c.diagnostics, false);
        let _ = gcc::diag::report_json(&c.loaded.files, &c.diagnostics);
    }
}
