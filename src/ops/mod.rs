//! The side effects: the only code that writes files. Every other module takes data and
//! returns data; the CLI parses, calls one function here or in the pipeline, and prints.
//!
//! `build`: one environment's build, its dirty gate and its publish (shared with the
//! fleet). `outdir`: the output directory, the rules that keep gcc from replacing anything it
//! did not write, and the atomic swap of a new tree into place.

pub mod build;
pub mod outdir;
pub mod rehearse;
