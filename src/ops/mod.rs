//! The side effects: the only code that writes files or git. Every other module takes
//! data and returns data; the CLI parses, calls one op here or a pure stage, and prints.
//!
//! The side effects, one op per verb: `build` (one environment's build, its dirty gate
//! and its publish, shared with the fleet), `fleet` (`build --all`), `deploy` (pin, pins,
//! rollback, verify and the sides of a diff, on a deploy branch that exists), `init` (a
//! new input repository), `rehearse`
//! (Helm), and `outdir` (the output directory, the rules that keep gcc from replacing
//! anything it did not write, and the atomic swap of a new tree into place). None prints.

pub mod build;
pub mod deploy;
pub mod fleet;
pub mod init;
pub mod outdir;
pub mod rehearse;
