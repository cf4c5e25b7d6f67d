//! `gcc explain`: where each value of an emitted object comes from.
//!
//! The environment is compiled with provenance recording on ([`plan::plan_traced`]); the
//! object is found in the rendered tree (by `kind/namespace/name`, `kind/name` or its
//! file), and each leaf gets its trail: for a release's Helm values, the steps of the
//! merge that wrote it (the last set it, the earlier ones it overrode), each with the
//! catalog line, the input's `file:line:col`, or the inputs of the plan's decision; for
//! the chart version, the pin or the catalog's chart set; for every other field, the
//! emitter that wrote it from the plan. Pure: reads only through a [`Source`].

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::Value;

use crate::check::check;
use crate::compile::input_digests;
use crate::diag::{Diagnostic, Files};
use crate::diff::ObjectKey;
use crate::emit;
use crate::load::{Fatal, Loaded, load};
use crate::plan::trace::{self, Layer, Origin, Site, Step};
use crate::plan::{self, Component, Plan};
use crate::rehearse::Controller;
use crate::render::render;
use crate::source::Source;

/// A place in a file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Position {
    /// The file, as the repository names it (`environments/prod.yaml`,
    /// `catalog/services.yaml`).
    pub file: String,
    /// 1-based line.
    pub line: usize,
    /// 1-based column.
    pub column: usize,
}

impl std::fmt::Display for Position {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}:{}", self.file, self.line, self.column)
    }
}

/// One layer's word on a field.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Said {
    /// The layer.
    pub layer: Layer,
    /// What it is.
    pub what: String,
    /// The value it gave (`null`: it removed the value).
    pub value: Value,
    /// Where it is written (for a plan decision: its inputs).
    pub at: Vec<Position>,
}

/// One leaf of the object and where it comes from.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Field {
    /// Dotted path in the object (`spec.values.pod.replicas.api`).
    pub path: String,
    /// Its value.
    pub value: Value,
    /// The layer that set it, then each layer it overrode, latest first.
    pub origins: Vec<Said>,
}

/// The explanation of one object.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Explanation {
    /// `Kind namespace/name`.
    pub object: String,
    /// Its file in the tree.
    pub file: String,
    /// The fields asked for, in the object's order.
    pub fields: Vec<Field>,
}

/// Why `gcc explain` cannot answer.
#[derive(Debug)]
pub enum Refusal {
    /// The environment does not build: its diagnostics.
    Invalid(Vec<Diagnostic>, Box<Loaded>),
    /// No such object, or no such field: the message.
    NotFound(String),
}

/// An environment compiled with provenance: what every explanation reads.
pub struct Traced {
    loaded: Loaded,
    plan: Plan,
    provenance: trace::Provenance,
    objects: BTreeMap<ObjectKey, (String, Value)>,
}

/// Compiles `env` from `source` with provenance recording on.
pub fn traced(source: &dyn Source, env: &str) -> Result<Result<Traced, Refusal>, Fatal> {
    let loaded = load(source, env)?;
    let checked = check(&loaded);
    let mut diagnostics = checked.diagnostics;
    let Some(model) = checked.model else {
        return Ok(Err(Refusal::Invalid(diagnostics, Box::new(loaded))));
    };
    let planned = plan::plan_traced(&loaded, &model);
    diagnostics.extend(planned.diagnostics);
    let (Some(plan), Some(provenance)) = (planned.plan, planned.provenance) else {
        crate::diag::sort(&mut diagnostics);
        return Ok(Err(Refusal::Invalid(diagnostics, Box::new(loaded))));
    };
    let emitted = emit::emit(&plan);
    let rendered = match render(&plan, &emitted, &input_digests(&loaded)) {
        Ok(r) => r,
        Err(msg) => return Ok(Err(Refusal::NotFound(msg))),
    };
    let objects = crate::diff::tree_objects(&rendered.files);
    Ok(Ok(Traced {
        loaded,
        plan,
        provenance,
        objects,
    }))
}

impl Traced {
    /// Every object of the tree, by key.
    pub fn objects(&self) -> impl Iterator<Item = &ObjectKey> {
        self.objects.keys()
    }

    /// Explains `field` (a dotted path or a prefix of one; every leaf when `None`) of
    /// `object`.
    pub fn explain(&self, object: &str, field: Option<&str>) -> Result<Explanation, Refusal> {
        let Some((key, (file, value))) = find(&self.objects, object) else {
            return Err(Refusal::NotFound(not_found(&self.objects, object)));
        };
        let explainer = Explainer {
            loaded: &self.loaded,
            plan: &self.plan,
            provenance: &self.provenance,
        };
        let mut fields = explainer.fields(key, value);
        if let Some(f) = field {
            let prefix = format!("{f}.");
            fields.retain(|x| x.path == f || x.path.starts_with(&prefix));
            if fields.is_empty() {
                return Err(Refusal::NotFound(format!(
                    "{key} has no field `{f}` (in {file})"
                )));
            }
        }
        Ok(Explanation {
            object: key.to_string(),
            file: file.clone(),
            fields,
        })
    }
}

/// Explains `field` of `object` in environment `env` built from `source` (see
/// [`Traced::explain`]).
pub fn explain(
    source: &dyn Source,
    env: &str,
    object: &str,
    field: Option<&str>,
) -> Result<Result<Explanation, Refusal>, Fatal> {
    Ok(traced(source, env)?.and_then(|t| t.explain(object, field)))
}

/// The object `query` names: its file in the tree, `kind/namespace/name` or `kind/name`
/// (kind in any case).
fn find<'a>(
    objects: &'a BTreeMap<ObjectKey, (String, Value)>,
    query: &str,
) -> Option<(&'a ObjectKey, &'a (String, Value))> {
    let query = query.trim_start_matches("./");
    if let Some(hit) = objects.iter().find(|(_, (file, _))| file == query) {
        return Some(hit);
    }
    let parts: Vec<&str> = query.split('/').collect();
    let (kind, namespace, name) = match parts.as_slice() {
        [kind, ns, name] => (*kind, *ns, *name),
        [kind, name] => (*kind, "", *name),
        _ => return None,
    };
    objects.iter().find(|(k, _)| {
        k.kind.eq_ignore_ascii_case(kind) && k.namespace == namespace && k.name == name
    })
}

fn not_found(objects: &BTreeMap<ObjectKey, (String, Value)>, query: &str) -> String {
    let name = query.rsplit('/').next().unwrap_or(query);
    let near: Vec<String> = objects
        .keys()
        .filter(|k| k.name == name)
        .map(|k| match k.namespace.as_str() {
            "" => format!("{}/{}", k.kind, k.name),
            ns => format!("{}/{ns}/{}", k.kind, k.name),
        })
        .collect();
    let hint = if near.is_empty() {
        "name it as kind/namespace/name (kind/name when cluster-scoped) or by its file in the tree"
            .to_string()
    } else {
        format!("objects named {name}: {}", near.join(", "))
    };
    format!("no object `{query}` in the tree; {hint}")
}

/// The catalog files, parsed for positions.
struct CatalogDocs(BTreeMap<&'static str, (&'static str, Option<crate::yaml::Doc>)>);

impl CatalogDocs {
    /// The catalog's YAML parsed with positions, once per process and only when a
    /// catalog position is asked for (a run reads the catalog from its compiled JSON).
    fn get() -> &'static CatalogDocs {
        static DOCS: std::sync::OnceLock<CatalogDocs> = std::sync::OnceLock::new();
        DOCS.get_or_init(|| {
            let mut files = Files::default();
            Self(
                crate::catalog::SOURCES
                    .iter()
                    .map(|(name, text)| {
                        let id = files.add(*name, *text);
                        (*name, (*text, crate::yaml::parse(id, text).doc))
                    })
                    .collect(),
            )
        })
    }
}

/// The input lines behind the Helm values of a build compiled from inputs, for `gcc diff`.
pub struct Lines<'a> {
    loaded: &'a Loaded,
    plan: Plan,
    provenance: trace::Provenance,
}

impl<'a> Lines<'a> {
    /// Plans `loaded` again with provenance recorded (`None` when it does not plan).
    pub fn of(loaded: &'a Loaded) -> Option<Self> {
        let model = check(loaded).model?;
        let planned = plan::plan_traced(loaded, &model);
        Some(Self {
            loaded,
            plan: planned.plan?,
            provenance: planned.provenance?,
        })
    }

    /// Where the value at `path` (keys) of release object `key` was set: the first
    /// position of the layer that set it, with the layer (`environments/prod.yaml:19:35
    /// (environment)`), or the layer's words when it has no position.
    pub fn line(&self, key: &ObjectKey, path: &[String]) -> Option<String> {
        let controller = Controller::of(&key.group, &key.kind)?;
        let c = self.plan.component(&key.name)?;
        let explainer = Explainer {
            loaded: self.loaded,
            plan: &self.plan,
            provenance: &self.provenance,
        };
        let said = explainer.release_field(controller, c, &path.join("."), path)?;
        let first = said.first()?;
        Some(match first.at.first() {
            Some(p) => format!("{p} ({})", first.layer.as_str()),
            None => format!("{}: {}", first.layer.as_str(), first.what),
        })
    }
}

/// Names the input line behind each changed Helm value of `d`: the `to` side's for a
/// value set or changed, the `from` side's for one removed; each side only when it was
/// compiled from inputs (`work`, `src:<rev>`).
pub fn annotate(d: &mut crate::diff::Diff, from: Option<&Loaded>, to: Option<&Loaded>) {
    let wants = d.objects.iter().any(|o| {
        Controller::of(&o.key.group, &o.key.kind).is_some()
            && matches!(o.change, crate::diff::Change::Changed { .. })
    });
    if !wants {
        return;
    }
    // Each side is planned again, traced, only when a value it holds changed.
    let changed = |new: bool| {
        d.objects.iter().any(|o| match &o.change {
            crate::diff::Change::Changed { fields, .. } => {
                Controller::of(&o.key.group, &o.key.kind).is_some()
                    && fields.iter().any(|f| f.new.is_some() == new)
            }
            _ => false,
        })
    };
    let from = from.filter(|_| changed(false)).and_then(Lines::of);
    let to = to.filter(|_| changed(true)).and_then(Lines::of);
    for o in &mut d.objects {
        let crate::diff::Change::Changed { fields, .. } = &mut o.change else {
            continue;
        };
        for f in fields {
            let path = crate::diff::keys_of(&f.path);
            let side = if f.new.is_some() { &to } else { &from };
            f.origin = side.as_ref().and_then(|l| l.line(&o.key, &path));
        }
    }
}

struct Explainer<'a> {
    loaded: &'a Loaded,
    plan: &'a Plan,
    provenance: &'a trace::Provenance,
}

impl Explainer<'_> {
    /// Every leaf of object `o` with its origins.
    fn fields(&self, key: &ObjectKey, o: &Value) -> Vec<Field> {
        let release = Controller::of(&key.group, &key.kind)
            .and_then(|c| self.plan.component(&key.name).map(|comp| (c, comp)));
        let Value::Object(map) = o else {
            return Vec::new();
        };
        trace::leaves(map)
            .into_iter()
            .map(|(path, value)| {
                let dotted = path.join(".");
                let origins = match release {
                    Some((controller, c)) => self.release_field(controller, c, &dotted, &path),
                    None => self.decision(key, &dotted, value),
                }
                .unwrap_or_else(|| vec![self.emitted(key)]);
                Field {
                    path: dotted,
                    value: value.clone(),
                    origins,
                }
            })
            .collect()
    }

    /// The origins of a release object's field: its values' trail, its chart version.
    fn release_field(
        &self,
        controller: Controller,
        c: &Component,
        dotted: &str,
        path: &[String],
    ) -> Option<Vec<Said>> {
        if dotted == controller.version_field() {
            return Some(vec![self.version(c)]);
        }
        let depth = controller.values_field().split('.').count();
        let inner = dotted
            .strip_prefix(controller.values_field())?
            .strip_prefix('.')?;
        let rel = path.get(depth..)?;
        if let Some(s) = c.secrets.iter().find(|s| s.path == inner) {
            // Argo CD's placeholder for a Secret's key (Flux reads it through valuesFrom).
            return Some(vec![Said {
                layer: Layer::Catalog,
                what: format!(
                    "a Secret: {}/{} key {} (argocd-vault-plugin fills it)",
                    c.namespace, s.secret, s.key
                ),
                value: Value::Null,
                at: Vec::new(),
            }]);
        }
        let steps: &[Step] = self
            .provenance
            .values
            .get(&c.name)
            .map_or(&[], Vec::as_slice);
        let trail = trace::trail(steps, rel);
        if trail.is_empty() {
            return None;
        }
        Some(
            trail
                .into_iter()
                .rev()
                .map(|(o, v)| self.said(o, v, rel))
                .collect(),
        )
    }

    fn version(&self, c: &Component) -> Said {
        let (layer, what, at) = if c.version_from == "environment" {
            let svc = format!("/services/{}", crate::yaml::escape_ptr(&c.name));
            let env = self.loaded.env.as_ref().map(|d| d.file);
            let at = env.map(|file| {
                let version = crate::model::Loc::new(file, format!("{svc}/version"));
                let chart = crate::model::Loc::new(file, format!("{svc}/chart/version"));
                let has = |l: &crate::model::Loc| {
                    self.loaded
                        .env
                        .as_ref()
                        .is_some_and(|d| d.value.pointer(&l.ptr).is_some())
                };
                if has(&version) { version } else { chart }
            });
            (
                Layer::Environment,
                format!("environment: the chart of {} pinned", c.name),
                at.map(|l| self.input_position(&l, None))
                    .into_iter()
                    .collect(),
            )
        } else {
            let catalog = crate::catalog::Catalog::get();
            let name = crate::yaml::escape_ptr(&c.name);
            let (file, ptr, what) = match catalog
                .chart_sets
                .iter()
                .position(|set| set.git_ref == c.version_from)
            {
                Some(i) => (
                    "catalog/releases.yaml",
                    format!("/chart_sets/{i}/charts/{name}"),
                    format!(
                        "catalog: Genestack {}'s chart of {}",
                        c.version_from, c.name
                    ),
                ),
                None => (
                    "catalog/infrastructure.yaml",
                    format!("/components/{name}/version"),
                    format!("catalog: {}'s chart version", c.name),
                ),
            };
            (
                Layer::Catalog,
                what,
                self.catalog_position(file, &ptr, None)
                    .into_iter()
                    .collect(),
            )
        };
        Said {
            layer,
            what,
            value: Value::String(c.version.clone()),
            at,
        }
    }

    /// A plan decision in an object gcc writes itself (an autoscaler's bounds, a data
    /// service's members, a node's failure domain).
    fn decision(&self, key: &ObjectKey, dotted: &str, value: &Value) -> Option<Vec<Said>> {
        let origin = self
            .provenance
            .decisions
            .get(&format!("{}/{}", key.kind, key.name))?
            .get(dotted)?;
        Some(vec![self.said(origin, value, &[])])
    }

    /// A field no layer of the values sets: the emitter wrote it from the plan.
    fn emitted(&self, key: &ObjectKey) -> Said {
        let target = match self.plan.target {
            crate::model::Target::Flux => "Flux",
            crate::model::Target::Argocd => "Argo CD",
        };
        Said {
            layer: Layer::Plan,
            what: format!(
                "gcc: the {target} tree's {}, written from the plan",
                key.kind
            ),
            value: Value::Null,
            at: Vec::new(),
        }
    }

    fn said(&self, o: &Origin, value: &Value, rel: &[String]) -> Said {
        let at = o
            .sites
            .iter()
            .filter_map(|s| match s {
                Site::Input { at, per_leaf } => {
                    Some(self.input_position(at, per_leaf.then_some(rel)))
                }
                Site::Catalog {
                    file,
                    ptr,
                    per_leaf,
                } => self.catalog_position(file, ptr, per_leaf.then_some(rel)),
            })
            .collect();
        Said {
            layer: o.layer,
            what: o.what.clone(),
            value: value.clone(),
            at,
        }
    }

    fn input_position(&self, at: &crate::model::Loc, leaf: Option<&[String]>) -> Position {
        let ptr = with_leaf(&at.ptr, leaf);
        let label = self.loaded.label(&crate::model::Loc::new(at.file, ptr), "");
        let file = self.loaded.files.get(at.file);
        let (line, column) = crate::diag::line_col(&file.text, label.span.start);
        Position {
            file: file.path.clone(),
            line,
            column,
        }
    }

    fn catalog_position(&self, file: &str, ptr: &str, leaf: Option<&[String]>) -> Option<Position> {
        let (text, doc) = CatalogDocs::get().0.get(file)?;
        let span = doc.as_ref()?.span(&with_leaf(ptr, leaf));
        let (line, column) = crate::diag::line_col(text, span.start);
        Some(Position {
            file: file.to_string(),
            line,
            column,
        })
    }
}

/// `ptr` with the leaf's path below it, each key escaped.
fn with_leaf(ptr: &str, leaf: Option<&[String]>) -> String {
    let mut p = ptr.to_string();
    for k in leaf.unwrap_or_default() {
        p.push('/');
        p.push_str(&crate::yaml::escape_ptr(k));
    }
    p
}

/// A value in one line, cut at 60 characters.
fn short(v: &Value) -> String {
    let s = match v {
        Value::String(s) => format!("{s:?}"),
        other => other.to_string(),
    };
    if s.chars().count() > 60 {
        format!("{}…", s.chars().take(59).collect::<String>())
    } else {
        s
    }
}

/// The explanation for people: with one field asked for (or a few), each with its whole
/// trail; for a whole object, one line per leaf.
pub fn text(e: &Explanation, detailed: bool) -> String {
    let mut s = format!("{} ({})\n", e.object, e.file);
    for f in &e.fields {
        let Some((first, rest)) = f.origins.split_first() else {
            continue;
        };
        let at = |x: &Said| {
            x.at.iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join(", ")
        };
        if !detailed {
            let w = match first.at.as_slice() {
                [] => first.what.clone(),
                [one] => one.to_string(),
                [one, more @ ..] => format!("{one} and {} more", more.len()),
            };
            s += &format!(
                "{} = {}  ← {} ({w})\n",
                f.path,
                short(&f.value),
                first.layer.as_str()
            );
            continue;
        }
        s += &format!("{} = {}\n", f.path, short(&f.value));
        for (i, x) in std::iter::once(first).chain(rest).enumerate() {
            let verb = if i == 0 { "set by" } else { "overrode" };
            let was = if i == 0 || x.value.is_null() {
                String::new()
            } else {
                format!(" (was {})", short(&x.value))
            };
            s += &format!("  {verb:<9}{:<12}{}{was}\n", x.layer.as_str(), x.what);
            if !x.at.is_empty() {
                s += &format!("  {:<21}at {}\n", "", at(x));
            }
        }
    }
    s
}
