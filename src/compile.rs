//! The whole pipeline in one call: load → check → plan → emit → render.
//!
//! Pure: reads only through a [`Source`], writes nothing. The CLI, the tests and (later)
//! publish and diff all compile through here, so a build from any source is the same
//! function of the same bytes.

use std::collections::BTreeMap;

use crate::catalog;
use crate::check::check;
use crate::diag::{self, Diagnostic};
use crate::emit;
use crate::load::{Fatal, Loaded, load};
use crate::plan::{Plan, plan};
use crate::render::{Rendered, render, sha256_hex};
use crate::source::Source;

/// A successful build: the plan and its rendered files.
#[derive(Debug)]
pub struct Build {
    /// What was decided.
    pub plan: Plan,
    /// The files, hashes and build id.
    pub rendered: Rendered,
}

/// The outcome of compiling one environment.
#[derive(Debug)]
pub struct Compiled {
    /// The inputs as read (for rendering diagnostics).
    pub loaded: Loaded,
    /// Every error and warning, sorted.
    pub diagnostics: Vec<Diagnostic>,
    /// The build, when there is no error.
    pub build: Option<Build>,
}

/// sha256 of every input: the files read (by path) and the embedded catalog
/// (`gcc:catalog/<file>`), so a catalog change shows in the lock.
pub fn input_digests(loaded: &Loaded) -> BTreeMap<String, String> {
    let mut out: BTreeMap<String, String> = loaded
        .files
        .iter()
        .map(|f| (f.path.clone(), sha256_hex(f.text.as_bytes())))
        .collect();
    for (name, text) in catalog::SOURCES {
        out.insert(format!("gcc:{name}"), sha256_hex(text.as_bytes()));
    }
    out
}

/// Compiles environment `env` from `source`. `Err` only when the environment cannot be
/// found or the source cannot be read at all.
pub fn compile(source: &dyn Source, env: &str) -> Result<Compiled, Fatal> {
    Ok(compile_loaded(load(source, env)?))
}

/// What `gcc check` reports: the checked model and every diagnostic of check and plan.
/// The plan runs too (pure, in memory; nothing is emitted), so an environment `check`
/// passes is one `build` plans: the HA proof, charts for the release, the NAS stores.
#[derive(Debug)]
pub struct Vetted {
    /// The model, when check and plan found no error.
    pub model: Option<crate::model::Model>,
    /// Its plan.
    pub plan: Option<Plan>,
    /// Every error and warning, sorted.
    pub diagnostics: Vec<Diagnostic>,
    /// Where the quorum members go, also when the HA proof refuses.
    pub placement: Option<crate::plan::Placement>,
}

/// Checks and plans inputs already loaded (check → plan), as [`compile_loaded`] does
/// before it emits.
pub fn vet(loaded: &Loaded) -> Vetted {
    let checked = check(loaded);
    let mut diagnostics = checked.diagnostics;
    let (model, plan, placement) = match checked.model {
        None => (None, None, None),
        Some(model) => {
            let planned = plan(loaded, &model);
            diagnostics.extend(planned.diagnostics);
            match planned.plan {
                Some(p) => (Some(model), Some(p), planned.placement),
                None => (None, None, planned.placement),
            }
        }
    };
    diag::sort(&mut diagnostics);
    Vetted {
        model,
        plan,
        diagnostics,
        placement,
    }
}

/// Compiles inputs already loaded (check → plan → emit → render).
pub(crate) fn compile_loaded(loaded: Loaded) -> Compiled {
    let Vetted {
        plan,
        mut diagnostics,
        ..
    } = vet(&loaded);
    let build = plan.and_then(|plan| {
        let emitted = emit::emit(&plan);
        match render(&plan, &emitted, &input_digests(&loaded)) {
            Ok(rendered) => Some(Build { plan, rendered }),
            Err(msg) => {
                diagnostics.push(Diagnostic::error(RENDER, msg));
                None
            }
        }
    });
    diag::sort(&mut diagnostics);
    Compiled {
        loaded,
        diagnostics,
        build,
    }
}

/// Code: an object could not be rendered (an unsafe file name, a serialisation error).
pub const RENDER: &str = "gcc::render::failed";
