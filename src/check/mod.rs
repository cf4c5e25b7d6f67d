//! Stage 2, check: schema validation, then semantic checks, turning loaded documents
//! into a [`Model`] or a list of diagnostics.
//!
//! Architecture invariant: check reads only [`Loaded`] (no files), reports every problem
//! it can find in one run, and produces a model only when there is no error. Semantic
//! checks run only on documents that passed the schema, so they never report the
//! consequences of a schema error a second time.

pub(crate) mod environment;
pub(crate) mod names;
pub(crate) mod network;
pub(crate) mod raw;
pub(crate) mod refs;
pub(crate) mod topology;

use std::collections::BTreeSet;

use crate::diag::{self, Diagnostic, Label};
use crate::load::Loaded;
use crate::model::{Loc, Model};
use crate::schema::{self, SchemaKind};

/// The outcome of checking: a model when there is no error, and every diagnostic
/// (errors and warnings), sorted by file and position.
#[derive(Debug)]
pub struct Checked {
    /// The model, present only when there are no errors.
    pub model: Option<Model>,
    /// Every error and warning found.
    pub diagnostics: Vec<Diagnostic>,
}

/// Kinds of named inventory items, for reference checks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Kind {
    Node,
    Subnet,
    Nas,
}

/// Shared state of one check run.
pub(crate) struct Ctx<'a> {
    loaded: &'a Loaded,
    diags: Vec<Diagnostic>,
    /// Items that exist but could not be typed (bad CIDR, bad address): references to
    /// them are not reported as dangling.
    broken: BTreeSet<(Kind, String)>,
}

impl Ctx<'_> {
    /// A label on the value at `at`.
    fn label(&self, at: &Loc, text: impl Into<String>) -> Label {
        self.loaded.label(at, text)
    }

    /// A label on the key of `at` (for a whole mapping entry).
    fn key_label(&self, at: &Loc, text: impl Into<String>) -> Label {
        self.loaded.key_label(at, text)
    }

    fn push(&mut self, d: Diagnostic) {
        self.diags.push(d);
    }

    fn is_broken(&self, kind: Kind, name: &str) -> bool {
        self.broken.contains(&(kind, name.to_string()))
    }

    /// True when some item of `kind` could not be typed: checks over all items of that
    /// kind would report its absence, so they stand down.
    fn any_broken(&self, kind: Kind) -> bool {
        self.broken.iter().any(|(k, _)| *k == kind)
    }
}

/// Checks what [`crate::load::load`] found and builds the [`Model`].
pub fn check(loaded: &Loaded) -> Checked {
    let mut cx = Ctx {
        loaded,
        diags: loaded.diagnostics.clone(),
        broken: BTreeSet::new(),
    };
    if let Some(env) = &loaded.env {
        cx.diags.extend(schema::validate(
            SchemaKind::Environment,
            env,
            &loaded.flagged_in(env.file),
        ));
    }
    for doc in &loaded.inventory {
        cx.diags.extend(schema::validate(
            SchemaKind::Inventory,
            doc,
            &loaded.flagged_in(doc.file),
        ));
    }
    let ready = diag::error_count(&cx.diags) == 0
        && loaded.env.is_some()
        && loaded.inventory_name.is_some()
        && loaded.inventory.len() == loaded.inventory_files.len();
    let model = if ready { semantic(&mut cx) } else { None };
    let mut diagnostics = cx.diags;
    diag::sort(&mut diagnostics);
    let model = model.filter(|_| diag::error_count(&diagnostics) == 0);
    Checked { model, diagnostics }
}

fn semantic(cx: &mut Ctx) -> Option<Model> {
    let loaded = cx.loaded;
    let env_doc = loaded.env.as_ref()?;
    let env = raw::environment(cx, env_doc, &loaded.env_name)?;
    let inventory = raw::inventory(cx, loaded.inventory_name.as_deref()?, &loaded.inventory);
    names::check(cx, &inventory, &env);
    refs::check(cx, &inventory, &env);
    network::check(cx, &inventory);
    topology::check(cx, &inventory, &env);
    environment::check(cx, &env);
    Some(Model { env, inventory })
}
