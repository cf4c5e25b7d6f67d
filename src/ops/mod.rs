//! The side effects: the only code that writes files. Every other module takes data and
//! returns data; the CLI parses, calls one function here or in the pipeline, and prints.
//!
//! `outdir`: the output directory, the rules that keep gcc from replacing anything it
//! did not write, and the atomic swap of a new tree into place.

pub mod outdir;
