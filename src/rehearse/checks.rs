//! The rehearsal's checks: each reads the tree's objects and the releases' renders and
//! returns diagnostics with a stable code, pointing into the tree.

use std::collections::{BTreeMap, BTreeSet};

use base64::Engine;
use serde_json::Value;

use super::objects::{Owner, Wait, labels};
use super::{
    CONNECTS_NOWHERE, Controller, DEAD_KEY, DEFAULT_CREDENTIAL, HELM_FAILED, HOOK_DEADLOCK,
    IMAGE_MISMATCH, Key, NOT_REHEARSED, Object, PLACEHOLDER_MANGLED, POST_SYNC_WAIT, Release,
    Rendering, SCHEMA_VIOLATION, SELECTS_NOTHING, TWO_OWNERS, Tree, UNSCHEDULABLE, WAITS_FOREVER,
    WEAK_API, parse_stream,
};
use crate::catalog::{Rehearsal, ServicesFrom};
use crate::diag::{self, Diagnostic};
use crate::plan::MACHINE_LABEL;

/// The images `gcc versions` prints, by release name: what each release claims to run.
pub type Claimed = BTreeMap<String, BTreeSet<String>>;

/// How one release fared.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Status {
    /// Rendered; this many objects.
    Rehearsed(usize),
    /// Its chart is not in the chart directory (why).
    NotRehearsed(String),
    /// Helm could not render it.
    Failed,
}

/// A rehearsal's result: each release's status and every finding, sorted.
#[derive(Debug)]
pub struct Findings {
    /// Per release, in the order of the releases given.
    pub status: Vec<Status>,
    /// Every finding; errors and warnings.
    pub diagnostics: Vec<Diagnostic>,
    /// Every object the releases rendered (owner: the release's index).
    pub rendered: Vec<Object>,
}

/// A rendered object that its upstream schema refuses.
pub fn schema_violation(
    tree: &Tree,
    releases: &[Release],
    o: &Object,
    schema: &str,
    at: &str,
    message: &str,
) -> Diagnostic {
    let d = Diagnostic::error(
        SCHEMA_VIOLATION,
        format!(
            "{} ({}) does not validate against {schema}: {} at `{at}`",
            o.key,
            owner_name(releases, o),
            diag::clip_text(message)
        ),
    )
    .help("the API server refuses it: fix the values that render it");
    match object_label(tree, releases, o, "rendered from here".into()) {
        Some(l) => d.at(l),
        None => d,
    }
}

/// Checks `releases` (rendered as `renders`, one per release) against each other and the
/// tree, with the catalog's knowledge of operators and free-form values.
pub fn check(
    tree: &Tree,
    releases: &[Release],
    renders: &[Rendering],
    know: &Rehearsal,
    claimed: Option<&Claimed>,
) -> Findings {
    let mut diags = tree.diagnostics.clone();
    let mut status = Vec::new();
    let mut objects: Vec<Object> = tree.objects.clone();
    for (i, (r, rendering)) in releases.iter().zip(renders).enumerate() {
        let with = |d: Diagnostic, text: &str| at_release(tree, r, d, text);
        match rendering {
            Rendering::NoChart(why) => {
                status.push(Status::NotRehearsed(why.clone()));
                diags.push(with(
                    Diagnostic::warning(
                        NOT_REHEARSED,
                        format!(
                            "release {} (chart {} {}) was not rehearsed: {why}",
                            r.name, r.chart, r.version
                        ),
                    )
                    .help("put the chart in the chart directory (`helm pull` writes <chart>-<version>.tgz)"),
                    "not rendered",
                ));
            }
            Rendering::Failed(err) => {
                status.push(Status::Failed);
                diags.push(with(
                    Diagnostic::error(
                        HELM_FAILED,
                        format!(
                            "helm template of release {} (chart {} {}) failed: {}",
                            r.name,
                            r.chart,
                            r.version,
                            diag::clip_text(err.trim())
                        ),
                    ),
                    "Helm cannot render this release",
                ));
            }
            Rendering::Rendered {
                manifests,
                defaults,
            } => match parse_stream(manifests, &r.namespace, Owner::Release(i), &r.patches) {
                Err(e) => {
                    status.push(Status::Failed);
                    diags.push(with(
                        Diagnostic::error(
                            HELM_FAILED,
                            format!(
                                "release {} rendered a stream that is not YAML: {}",
                                r.name,
                                diag::clip_text(&e)
                            ),
                        ),
                        "its render",
                    ));
                }
                Ok(objs) => {
                    status.push(Status::Rehearsed(objs.len()));
                    dead_keys(tree, r, defaults, know, &mut diags);
                    if r.controller == Controller::ArgoCd {
                        mangled(tree, r, &objs, &mut diags);
                    }
                    default_credentials(tree, r, &objs, &mut diags);
                    match r.controller {
                        Controller::Flux if r.waits_before_hooks => {
                            hook_deadlock(tree, r, &objs, &mut diags);
                        }
                        Controller::Flux => {}
                        Controller::ArgoCd => post_sync_wait(tree, r, &objs, &mut diags),
                    }
                    if let Some(images) = claimed.and_then(|c| c.get(&r.name)) {
                        image_mismatch(tree, r, &objs, images, &mut diags);
                    }
                    objects.extend(objs);
                }
            },
        }
    }
    two_owners(tree, releases, &objects, &mut diags);
    let present = Present::new(&objects, know);
    waits(tree, releases, &objects, &present, &mut diags);
    selects_nothing(tree, releases, &objects, &present, &mut diags);
    weak_apis(tree, releases, &objects, &mut diags);
    connections(tree, releases, &objects, &present, &mut diags);
    unschedulable(tree, releases, &objects, &mut diags);
    super::edge::routes(tree, releases, &objects, &mut diags);
    super::edge::public_urls(tree, releases, &objects, &mut diags);
    super::provider::networks(tree, releases, &objects, &mut diags);
    diag::sort(&mut diags);
    let rendered = objects.split_off(tree.objects.len());
    Findings {
        status,
        diagnostics: diags,
        rendered,
    }
}

/// Whether `o` is one of Helm's post-install (or post-upgrade) hooks.
fn post_hook(o: &Object) -> bool {
    o.body
        .pointer("/metadata/annotations/helm.sh~1hook")
        .and_then(Value::as_str)
        .is_some_and(|h| {
            h.split(',')
                .any(|p| matches!(p.trim(), "post-install" | "post-upgrade"))
        })
}

/// The resources of a render that wait (kubernetes-entrypoint's `DEPENDENCY_JOBS`) for
/// one of the render's own post-install hooks: (the resource, the Job).
fn waiting_on_hooks(objs: &[Object]) -> Vec<(String, String)> {
    let hooks: BTreeSet<(&str, &str)> = objs
        .iter()
        .filter(|o| o.key.kind == "Job" && post_hook(o))
        .map(|o| (o.key.namespace.as_str(), o.key.name.as_str()))
        .collect();
    let mut stuck = Vec::new();
    for o in objs.iter().filter(|o| !post_hook(o)) {
        for w in o.waits() {
            if let Wait::Job(ns, job) = &w
                && hooks.contains(&(ns.as_str(), job.as_str()))
            {
                stuck.push((o.key.to_string(), job.clone()));
            }
        }
    }
    stuck
}

fn more(n: usize) -> String {
    if n == 0 {
        String::new()
    } else {
        format!(" ({n} more waits like it)")
    }
}

/// Helm installs a release in this order: its resources, then (unless `disableWait`) a
/// wait until they are ready, then its post-install hooks, each waited for in turn. A
/// resource that waits for one of those hooks is never ready before the hooks run, so
/// the wait ends only at the release's timeout, and the hooks never run.
fn hook_deadlock(tree: &Tree, r: &Release, objs: &[Object], diags: &mut Vec<Diagnostic>) {
    let stuck = waiting_on_hooks(objs);
    let Some((first, job)) = stuck.first() else {
        return;
    };
    diags.push(at_release(
        tree,
        r,
        Diagnostic::error(
            HOOK_DEADLOCK,
            format!(
                "release {}: Helm waits for {first} to be ready before it runs the post-install hooks, and it waits for Job {job}, one of those hooks{}: the install never completes",
                r.name,
                more(stuck.len() - 1)
            ),
        )
        .help("set the HelmRelease's install.disableWait and upgrade.disableWait, so that Helm runs the hooks at once and waits for them instead"),
        "installed with Helm's wait",
    ));
}

/// Argo CD runs a chart's post-install and post-upgrade hooks as PostSync hooks, which
/// start only once every other resource of the sync is Healthy: a resource that waits
/// for one of them never is. Not an error yet: gcc has no answer for Argo CD (README).
fn post_sync_wait(tree: &Tree, r: &Release, objs: &[Object], diags: &mut Vec<Diagnostic>) {
    let stuck = waiting_on_hooks(objs);
    let Some((first, job)) = stuck.first() else {
        return;
    };
    diags.push(at_release(
        tree,
        r,
        Diagnostic::warning(
            POST_SYNC_WAIT,
            format!(
                "application {}: Argo CD runs Job {job}, a Helm post-install hook, as a PostSync hook, after every resource is Healthy, and {first} waits for it{}: the first sync does not finish",
                r.name,
                more(stuck.len() - 1)
            ),
        )
        .help("gcc does not map these charts' hooks for Argo CD yet, so this Application does not converge on its own; with target: flux it does (README, Applying it with Argo CD)"),
        "synced by Argo CD",
    ));
}

/// `d` pointed at the release's name in its tree file.
fn at_release(tree: &Tree, r: &Release, d: Diagnostic, text: &str) -> Diagnostic {
    match tree.doc(&r.file) {
        Some(doc) => d.at(doc.label("/metadata/name", text)),
        None => d,
    }
}

pub(super) fn owner_name(releases: &[Release], o: &Object) -> String {
    match o.owner {
        Owner::Gcc => format!("gcc ({})", o.file.as_deref().unwrap_or("the tree")),
        Owner::Release(i) => format!("release {}", releases[i].name),
    }
}

/// Where to point for an object: gcc's file at the object's name, or the release's file.
pub(super) fn object_label(
    tree: &Tree,
    releases: &[Release],
    o: &Object,
    text: String,
) -> Option<diag::Label> {
    let file = match o.owner {
        Owner::Gcc => o.file.as_deref()?,
        Owner::Release(i) => &releases[i].file,
    };
    Some(tree.doc(file)?.label("/metadata/name", text))
}

fn two_owners(tree: &Tree, releases: &[Release], objects: &[Object], diags: &mut Vec<Diagnostic>) {
    let mut by_key: BTreeMap<&Key, Vec<&Object>> = BTreeMap::new();
    for o in objects {
        by_key.entry(&o.key).or_default().push(o);
    }
    for (key, owners) in by_key.into_iter().filter(|(_, o)| o.len() > 1) {
        let names: Vec<String> = owners.iter().map(|o| owner_name(releases, o)).collect();
        let mut d = Diagnostic::error(
            TWO_OWNERS,
            format!("{key} has {} owners: {}", owners.len(), names.join(" and ")),
        )
        .help("one object, one owner: the later apply overwrites the other, and pruning one deletes both");
        for (n, o) in owners.iter().enumerate() {
            let text = if n == 0 { "written here" } else { "and here" };
            if let Some(l) = object_label(tree, releases, o, text.to_string()) {
                d = if d.primary.is_none() {
                    d.at(l)
                } else {
                    d.also(l)
                };
            }
        }
        diags.push(d);
    }
}

/// What exists once everything is applied: what each wait can be satisfied by.
#[derive(Default)]
struct Present {
    jobs: BTreeSet<(String, String)>,
    services: BTreeSet<(String, String)>,
    daemonsets: BTreeSet<(String, String)>,
    resources: BTreeSet<(String, String, String)>,
    /// Pod templates' labels (Jobs' among them), with their kind.
    pods: Vec<(String, String, BTreeMap<String, String>)>,
}

fn subset(want: &BTreeMap<String, String>, have: &BTreeMap<String, String>) -> bool {
    want.iter().all(|(k, v)| have.get(k) == Some(v))
}

impl Present {
    fn new(objects: &[Object], know: &Rehearsal) -> Present {
        let mut p = Present::default();
        for s in &know.always {
            p.services.insert((s.namespace.clone(), s.name.clone()));
        }
        for o in objects {
            let k = &o.key;
            let nn = (k.namespace.clone(), k.name.clone());
            match k.kind.as_str() {
                "Job" => {
                    p.jobs.insert(nn.clone());
                }
                "Service" => {
                    p.services.insert(nn.clone());
                }
                "DaemonSet" => {
                    p.daemonsets.insert(nn.clone());
                }
                _ => {}
            }
            p.resources
                .insert((k.kind.clone(), k.namespace.clone(), k.name.clone()));
            if let Some((pod_labels, _)) = o.pod_template() {
                p.pods
                    .push((k.kind.clone(), k.namespace.clone(), labels(pod_labels)));
            }
            for rule in know
                .services
                .iter()
                .filter(|r| r.kind == k.kind && r.group == k.group)
            {
                p.services
                    .extend(produced(rule, o).map(|name| (k.namespace.clone(), name)));
                for labels in &rule.pods {
                    let labels = labels
                        .iter()
                        .map(|(l, v)| (l.clone(), v.replace("{name}", &k.name)))
                        .collect();
                    p.pods.push(("Pod".into(), k.namespace.clone(), labels));
                }
            }
        }
        p
    }

    fn has(&self, w: &Wait) -> bool {
        match w {
            Wait::Job(ns, n) => self.jobs.contains(&(ns.clone(), n.clone())),
            Wait::Service(ns, n) => self.services.contains(&(ns.clone(), n.clone())),
            Wait::DaemonSet(ns, n) => self.daemonsets.contains(&(ns.clone(), n.clone())),
            // The root CA publisher writes kube-root-ca.crt into every namespace.
            Wait::ConfigMap(_, n) if n == "kube-root-ca.crt" => true,
            Wait::ConfigMap(ns, n) => {
                self.resources
                    .contains(&("ConfigMap".to_string(), ns.clone(), n.clone()))
            }
            Wait::Resource(_, kind, ns, n) => {
                self.resources
                    .contains(&(kind.clone(), ns.clone(), n.clone()))
            }
            Wait::JobLabels(ns, want) => self
                .pods
                .iter()
                .any(|(kind, n, have)| kind == "Job" && n == ns && subset(want, have)),
            Wait::Pod(ns, want) => self
                .pods
                .iter()
                .any(|(_, n, have)| n == ns && subset(want, have)),
        }
    }
}

/// The Service names an operator creates for one of its custom resources.
fn produced<'a>(rule: &'a ServicesFrom, o: &'a Object) -> impl Iterator<Item = String> + 'a {
    rule.services
        .iter()
        .filter(|s| {
            s.when_any.is_empty()
                || s.when_any
                    .iter()
                    .any(|ptr| o.body.pointer(ptr) == Some(&Value::Bool(true)))
        })
        .map(|s| s.name.replace("{name}", &o.key.name))
}

fn waits(
    tree: &Tree,
    releases: &[Release],
    objects: &[Object],
    present: &Present,
    diags: &mut Vec<Diagnostic>,
) {
    for o in objects {
        let missing: Vec<String> = o
            .waits()
            .into_iter()
            .filter(|w| !present.has(w))
            .map(|w| w.to_string())
            .collect();
        if missing.is_empty() {
            continue;
        }
        let who = owner_name(releases, o);
        let mut d = Diagnostic::error(
            WAITS_FOREVER,
            format!(
                "the pods of {} ({who}) wait for ever: nothing renders {}",
                o.key,
                missing.join(", ")
            ),
        )
        .help("kubernetes-entrypoint waits until each dependency exists; render it, or take it out of the chart's dependencies.static lists");
        if let Some(l) = object_label(tree, releases, o, format!("{} waits here", o.key.name)) {
            d = d.at(l);
        }
        diags.push(d);
    }
}

/// gcc's PodDisruptionBudgets and HorizontalPodAutoscalers must reach a workload: a budget
/// whose selector matches no pod protects nothing, an autoscaler without its target scales
/// nothing.
fn selects_nothing(
    tree: &Tree,
    releases: &[Release],
    objects: &[Object],
    present: &Present,
    diags: &mut Vec<Diagnostic>,
) {
    for o in objects.iter().filter(|o| o.owner == Owner::Gcc) {
        let ns = &o.key.namespace;
        let missing = match o.key.kind.as_str() {
            "PodDisruptionBudget" => {
                let want = labels(
                    o.body
                        .pointer("/spec/selector/matchLabels")
                        .unwrap_or(&Value::Null),
                );
                let hit = present
                    .pods
                    .iter()
                    .any(|(_, n, have)| n == ns && subset(&want, have));
                (!hit).then(|| {
                    let l: Vec<String> = want.iter().map(|(k, v)| format!("{k}={v}")).collect();
                    format!("no pod labelled {} in {ns}", l.join(","))
                })
            }
            "HorizontalPodAutoscaler" => {
                let kind = o
                    .body
                    .pointer("/spec/scaleTargetRef/kind")
                    .and_then(Value::as_str)
                    .unwrap_or("");
                let name = o
                    .body
                    .pointer("/spec/scaleTargetRef/name")
                    .and_then(Value::as_str)
                    .unwrap_or("");
                let hit =
                    present
                        .resources
                        .contains(&(kind.to_string(), ns.clone(), name.to_string()));
                (!hit).then(|| format!("no {kind} {ns}/{name}"))
            }
            _ => None,
        };
        let Some(missing) = missing else { continue };
        let mut d = Diagnostic::error(
            SELECTS_NOTHING,
            format!("{} reaches nothing: {missing} is rendered", o.key),
        )
        .help("take the Deployment's name and pod labels from what its chart renders (catalog/services.yaml `api`)");
        if let Some(l) = object_label(tree, releases, o, "selects nothing".into()) {
            d = d.at(l);
        }
        diags.push(d);
    }
}

/// What an autoscaled Deployment's render lacks for its HorizontalPodAutoscaler and the HA
/// claim: replicas under the autoscaler's floor, containers without CPU and memory
/// requests (Utilization is computed against them), no anti-affinity on the machine label.
fn weak(deploy: &Object, hpa: &Object) -> Vec<String> {
    let mut out = Vec::new();
    let min = hpa
        .body
        .pointer("/spec/minReplicas")
        .and_then(Value::as_u64)
        .unwrap_or(1);
    let replicas = deploy
        .body
        .pointer("/spec/replicas")
        .and_then(Value::as_u64)
        .unwrap_or(1);
    if replicas < min {
        out.push(format!(
            "renders replicas {replicas}, under the autoscaler's minimum {min}"
        ));
    }
    let Some((_, spec)) = deploy.pod_template() else {
        return out;
    };
    let bare: Vec<&str> = spec
        .get("containers")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter(|c| {
            ["cpu", "memory"]
                .iter()
                .any(|r| c.pointer(&format!("/resources/requests/{r}")).is_none())
        })
        .filter_map(|c| c.get("name").and_then(Value::as_str))
        .collect();
    if !bare.is_empty() {
        out.push(format!(
            "containers {} have no CPU and memory requests",
            bare.join(", ")
        ));
    }
    let anti = spec.pointer("/affinity/podAntiAffinity");
    let mut keys = Vec::new();
    collect_strings_at(anti.unwrap_or(&Value::Null), "topologyKey", &mut keys);
    if !keys.contains(&MACHINE_LABEL) {
        out.push(format!("its pods have no anti-affinity on {MACHINE_LABEL}"));
    }
    out
}

fn collect_strings_at<'a>(v: &'a Value, key: &str, out: &mut Vec<&'a str>) {
    match v {
        Value::Array(a) => a.iter().for_each(|v| collect_strings_at(v, key, out)),
        Value::Object(m) => {
            for (k, v) in m {
                match v {
                    Value::String(s) if k == key => out.push(s),
                    _ => collect_strings_at(v, key, out),
                }
            }
        }
        _ => {}
    }
}

fn weak_apis(tree: &Tree, releases: &[Release], objects: &[Object], diags: &mut Vec<Diagnostic>) {
    for hpa in objects
        .iter()
        .filter(|o| o.owner == Owner::Gcc && o.key.kind == "HorizontalPodAutoscaler")
    {
        let target = hpa
            .body
            .pointer("/spec/scaleTargetRef/name")
            .and_then(Value::as_str);
        let Some(deploy) = objects.iter().find(|o| {
            o.key.kind == "Deployment"
                && o.key.namespace == hpa.key.namespace
                && Some(o.key.name.as_str()) == target
        }) else {
            continue; // selects_nothing reports it
        };
        let lacks = weak(deploy, hpa);
        if lacks.is_empty() {
            continue;
        }
        let mut d = Diagnostic::error(
            WEAK_API,
            format!(
                "{} ({}), autoscaled by gcc: {}",
                deploy.key,
                owner_name(releases, deploy),
                lacks.join("; ")
            ),
        )
        .help("set the chart's pod.replicas, pod.resources and pod.affinity values (catalog/services.yaml `api`), or its render cannot survive losing a machine");
        if let Some(l) = object_label(
            tree,
            releases,
            deploy,
            format!("{} renders here", deploy.key.name),
        ) {
            d = d.at(l);
        }
        diags.push(d);
    }
}

/// The index of the first segment of `path` the chart's defaults do not have, or `None`
/// when the chart has the path (or takes anything below a map it leaves empty, a null or
/// a scalar, or below a path the catalog marks free-form).
fn dead_segment(defaults: &Value, path: &[String], free: &[Vec<String>]) -> Option<usize> {
    if crate::catalog::is_free_form(free, path) {
        return None;
    }
    let mut at = defaults;
    for (i, seg) in path.iter().enumerate() {
        match at {
            Value::Object(m) if !m.is_empty() => match m.get(seg) {
                Some(v) => at = v,
                None => return Some(i),
            },
            _ => return None,
        }
    }
    None
}

fn dead_keys(
    tree: &Tree,
    r: &Release,
    defaults: &Value,
    know: &Rehearsal,
    diags: &mut Vec<Diagnostic>,
) {
    let free = know.free_form_paths(&r.chart);
    // One finding per missing key: a whole dead subtree is one mistake.
    let mut seen = BTreeSet::new();
    for s in &r.set {
        let Some(i) = dead_segment(defaults, &s.path, &free) else {
            continue;
        };
        let dead = s.path[..=i].join(".");
        if !seen.insert(dead.clone()) {
            continue;
        }
        let mut d = Diagnostic::error(
            DEAD_KEY,
            format!(
                "release {}: chart {} {} has no value {dead}; Helm ignores what gcc sets there",
                r.name, r.chart, r.version
            ),
        )
        .help("take the key from the chart's own values.yaml, or mark the path free-form in catalog/rehearse.yaml if the chart reads it as-is");
        if let Some(doc) = tree.doc(&r.file) {
            // The pointer of the dead key itself, inline; a valuesFrom's targetPath line.
            let ptr = if s.ptr.ends_with("/targetPath") {
                s.ptr.clone()
            } else {
                let extra = s.path.len() - i - 1;
                let mut p = s.ptr.as_str();
                for _ in 0..extra {
                    p = &p[..p.rfind('/').unwrap_or(0)];
                }
                p.to_string()
            };
            d = d.at(doc.key_label(&ptr, "not in the chart's values.yaml"));
        }
        diags.push(d);
    }
}

/// An Argo CD placeholder argocd-vault-plugin will not see: URL-encoded, or inside
/// base64 `data` of a Secret.
fn mangled(tree: &Tree, r: &Release, objs: &[Object], diags: &mut Vec<Diagnostic>) {
    let mut hits: BTreeSet<String> = BTreeSet::new();
    for o in objs {
        let mut strings = Vec::new();
        collect_strings(&o.body, &mut strings);
        if strings
            .iter()
            .any(|s| s.to_ascii_lowercase().contains("%3cpath%3a"))
        {
            hits.insert(format!("{} (URL-encoded)", o.key));
        }
        if secret_data(o).iter().any(|s| s.contains("<path:")) {
            hits.insert(format!("{} (inside base64 data)", o.key));
        }
    }
    if hits.is_empty() {
        return;
    }
    let d = Diagnostic::error(
        PLACEHOLDER_MANGLED,
        format!(
            "release {}: argocd-vault-plugin cannot replace the secret placeholders in {}",
            r.name,
            hits.into_iter().collect::<Vec<_>>().join(", ")
        ),
    )
    .help(
        "the plugin replaces `<path:…>` only where it appears literally in the rendered manifests",
    );
    diags.push(at_release(tree, r, d, "this release"));
}

/// The images a rendered object's pods run (init containers included).
fn images_of(o: &Object) -> Vec<&str> {
    o.containers()
        .filter_map(|c| c.get("image").and_then(Value::as_str))
        .collect()
}

fn some(set: &BTreeSet<&str>) -> String {
    let mut shown: Vec<&str> = set.iter().take(3).copied().collect();
    let more = set.len().saturating_sub(3);
    if more > 0 {
        shown.push("…");
    }
    let list = shown.join(", ");
    if more > 0 {
        format!("{list} ({more} more)")
    } else {
        list
    }
}

/// The version table must say what runs: every image a release renders is one it lists,
/// and it lists none that nothing renders.
fn image_mismatch(
    tree: &Tree,
    r: &Release,
    objs: &[Object],
    claimed: &BTreeSet<String>,
    diags: &mut Vec<Diagnostic>,
) {
    let rendered: BTreeSet<&str> = objs.iter().flat_map(images_of).collect();
    let claimed: BTreeSet<&str> = claimed.iter().map(String::as_str).collect();
    let unlisted: BTreeSet<&str> = rendered.difference(&claimed).copied().collect();
    let unrun: BTreeSet<&str> = claimed.difference(&rendered).copied().collect();
    if unlisted.is_empty() && unrun.is_empty() {
        return;
    }
    let mut parts = Vec::new();
    if !unlisted.is_empty() {
        parts.push(format!(
            "it renders {} image{} the version table does not list: {}",
            unlisted.len(),
            if unlisted.len() == 1 { "" } else { "s" },
            some(&unlisted)
        ));
    }
    if !unrun.is_empty() {
        parts.push(format!(
            "the table lists {}, which nothing renders",
            some(&unrun)
        ));
    }
    let d = Diagnostic::error(
        IMAGE_MISMATCH,
        format!("release {}: {}", r.name, parts.join("; ")),
    )
    .help("set the chart's images.tags from the catalog, so that `gcc versions` is what runs");
    diags.push(at_release(tree, r, d, "this release"));
}

/// A Secret's `data` values, decoded from base64 (nothing for any other kind).
fn secret_data(o: &Object) -> Vec<String> {
    let b64 = base64::engine::general_purpose::STANDARD;
    if o.key.kind != "Secret" {
        return Vec::new();
    }
    o.body
        .get("data")
        .and_then(Value::as_object)
        .into_iter()
        .flat_map(|m| m.values())
        .filter_map(Value::as_str)
        .filter_map(|v| b64.decode(v).ok())
        .map(|bytes| String::from_utf8_lossy(&bytes).into_owned())
        .collect()
}

/// Every string of an object as a pod would read it: Secret `data` decoded from base64.
fn readable_strings(o: &Object) -> Vec<String> {
    let mut strings = Vec::new();
    collect_strings(&o.body, &mut strings);
    let mut out: Vec<String> = strings.into_iter().map(str::to_string).collect();
    out.extend(secret_data(o));
    out
}

/// A URL with a chart's default password (`user:password@host`) left in rendered
/// configuration: the service logs in with a credential nobody set, or fails to.
fn default_credentials(tree: &Tree, r: &Release, objs: &[Object], diags: &mut Vec<Diagnostic>) {
    let mut hits: BTreeSet<String> = BTreeSet::new();
    for o in objs {
        for s in readable_strings(o) {
            let mut rest = s.as_str();
            while let Some(at) = rest.find(":password@") {
                let start = rest[..at].rfind("://").map_or(0, |i| i + 3);
                let end = rest[at..]
                    .find(|c: char| c == '/' || c.is_whitespace() || c == '"' || c == ',')
                    .map_or(rest.len(), |e| at + e);
                hits.insert(format!("{} ({})", o.key, &rest[start..end]));
                rest = &rest[end.max(at + 1)..];
            }
        }
    }
    if hits.is_empty() {
        return;
    }
    let d = Diagnostic::error(
        DEFAULT_CREDENTIAL,
        format!(
            "release {} renders the chart's default password in {}",
            r.name,
            hits.into_iter().collect::<Vec<_>>().join(", ")
        ),
    )
    .help("wire the endpoint's auth (user and password) from the service's Secret, or its host to a backend gcc creates");
    diags.push(at_release(tree, r, d, "this release"));
}

/// Whether a node with `labels` satisfies one `matchExpressions` entry; a key no node of
/// the tree carries (`known`) is one the cluster sets itself (kubeadm's roles, the
/// architecture), which the tree cannot judge: satisfied.
fn node_expression(labels: &BTreeMap<String, String>, known: &BTreeSet<String>, e: &Value) -> bool {
    let Some(key) = e.get("key").and_then(Value::as_str) else {
        return true;
    };
    if !known.contains(key) {
        return true;
    }
    let values: Vec<&str> = e
        .get("values")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .collect();
    let have = labels.get(key).map(String::as_str);
    match e.get("operator").and_then(Value::as_str) {
        Some("In") => have.is_some_and(|v| values.contains(&v)),
        Some("NotIn") => !have.is_some_and(|v| values.contains(&v)),
        Some("Exists") => have.is_some(),
        Some("DoesNotExist") => have.is_none(),
        _ => true,
    }
}

/// Every rendered workload can run somewhere: some Node of the tree (its labels, plus
/// `kubernetes.io/hostname` and `kubernetes.io/os: linux`, which every node has) satisfies
/// its pods' `nodeSelector` and, if any, one of their required node-affinity terms. Keys
/// no node of the tree carries are the cluster's own and are not judged. A tree without
/// Node objects is not checked.
fn unschedulable(
    tree: &Tree,
    releases: &[Release],
    objects: &[Object],
    diags: &mut Vec<Diagnostic>,
) {
    let nodes: Vec<BTreeMap<String, String>> = objects
        .iter()
        .filter(|o| o.owner == Owner::Gcc && o.key.group.is_empty() && o.key.kind == "Node")
        .map(|o| {
            let mut l = labels(o.body.pointer("/metadata/labels").unwrap_or(&Value::Null));
            l.insert("kubernetes.io/hostname".into(), o.key.name.clone());
            l.insert("kubernetes.io/os".into(), "linux".into());
            l
        })
        .collect();
    if nodes.is_empty() {
        return;
    }
    let known: BTreeSet<String> = nodes.iter().flat_map(|l| l.keys().cloned()).collect();
    let mut by_release: BTreeMap<usize, BTreeSet<String>> = BTreeMap::new();
    for o in objects {
        let Owner::Release(i) = o.owner else { continue };
        let Some((_, spec)) = o.pod_template() else {
            continue;
        };
        let selector = labels(spec.get("nodeSelector").unwrap_or(&Value::Null));
        let terms: Vec<&Value> = spec
            .pointer("/affinity/nodeAffinity/requiredDuringSchedulingIgnoredDuringExecution/nodeSelectorTerms")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .collect();
        let fits = |node: &BTreeMap<String, String>| {
            selector
                .iter()
                .all(|(k, v)| !known.contains(k) || node.get(k) == Some(v))
                && (terms.is_empty()
                    || terms.iter().any(|t| {
                        t.get("matchExpressions")
                            .and_then(Value::as_array)
                            .into_iter()
                            .flatten()
                            .all(|e| node_expression(node, &known, e))
                    }))
        };
        if !nodes.iter().any(fits) {
            let wanted: Vec<String> = selector.iter().map(|(k, v)| format!("{k}={v}")).collect();
            let mut what = wanted.join(",");
            if !terms.is_empty() {
                if !what.is_empty() {
                    what.push_str(" and ");
                }
                what.push_str("its required node affinity");
            }
            by_release
                .entry(i)
                .or_default()
                .insert(format!("{} (needs {what})", o.key));
        }
    }
    for (i, hits) in by_release {
        let r = &releases[i];
        let d = Diagnostic::error(
            UNSCHEDULABLE,
            format!(
                "release {}: no node can run {}",
                r.name,
                hits.into_iter().collect::<Vec<_>>().join(", ")
            ),
        )
        .help("give the inventory a node with the role that sets the label, or point the chart's labels.* at one the nodes have");
        diags.push(at_release(tree, r, d, "this release"));
    }
}

/// A connection URL in rendered configuration (`scheme://user:pass@host:port/path`).
#[derive(Debug, PartialEq)]
struct Connection {
    scheme: &'static str,
    user: String,
    /// The Service's namespace (the object's when the host is a bare name) and name.
    service: (String, String),
    port: Option<u16>,
    /// The path without its leading `/` and any query.
    path: String,
}

/// The database and broker URLs in `s`, read in the namespace `ns`.
fn connections_in(s: &str, ns: &str) -> Vec<Connection> {
    let mut out = Vec::new();
    for scheme in ["mysql+pymysql", "postgresql", "rabbit"] {
        let mark = format!("{scheme}://");
        let mut rest = s;
        while let Some(at) = rest.find(&mark) {
            // `rabbit://` inside `xrabbit://` or `mysql+pymysql://` inside a longer scheme.
            let before = rest[..at].chars().next_back();
            let body = &rest[at + mark.len()..];
            let mut end = body
                .find(|c: char| c.is_whitespace() || "\"';<>".contains(c))
                .unwrap_or(body.len());
            // URLs joined by commas (ceilometer's messaging_urls): each is its own.
            if let Some(next) = body[..end].find(&format!(",{mark}")) {
                end = next;
            }
            let url = &body[..end];
            rest = &body[end..];
            if before.is_some_and(|c| c.is_ascii_alphanumeric() || c == '+') {
                continue;
            }
            // One URL may list several hosts (`rabbit://a:p@h1:5672,a:p@h2:5672/vhost`):
            // the first host says enough; the path follows the last.
            let (hosts, path) = url.split_once('/').unwrap_or((url, ""));
            let first = hosts.split(',').next().unwrap_or_default();
            let Some((auth, hostport)) = first.rsplit_once('@') else {
                continue;
            };
            let user = auth.split(':').next().unwrap_or_default().to_string();
            let (host, port) = match hostport.rsplit_once(':') {
                Some((h, p)) => (h, p.parse().ok()),
                None => (hostport, None),
            };
            let host = host.strip_suffix(".svc.cluster.local").unwrap_or(host);
            let host = host.strip_suffix(".svc").unwrap_or(host);
            let service = match host.split_once('.') {
                Some((name, namespace)) => (namespace.to_string(), name.to_string()),
                None => (ns.to_string(), host.to_string()),
            };
            // An IP address or an external name: not the cluster's to check.
            if service.1.is_empty()
                || service.1.parse::<std::net::IpAddr>().is_ok()
                || service.0.contains('.')
            {
                continue;
            }
            let path = path.split('?').next().unwrap_or_default().to_string();
            out.push(Connection {
                scheme: if scheme == "mysql+pymysql" {
                    "mysql"
                } else {
                    scheme
                },
                user,
                service,
                port,
                path,
            });
        }
    }
    out
}

/// Where each rendered database and transport URL leads: its host is a Service the
/// build renders; a MariaDB URL's user (other than `root`) is a User gcc creates, its
/// database a Database gcc creates, with a Grant of one on the other; a RabbitMQ URL of a
/// user gcc creates names a vhost the user has a Permission on. (Users gcc does not
/// create, the charts' admin accounts of Jobs gcc turns off, are the operators' to have.)
fn connections(
    tree: &Tree,
    releases: &[Release],
    objects: &[Object],
    present: &Present,
    diags: &mut Vec<Diagnostic>,
) {
    fn gcc<'a>(
        objects: &'a [Object],
        group: &'static str,
        kind: &'static str,
    ) -> impl Iterator<Item = (&'a str, &'a String, &'a Value)> {
        objects
            .iter()
            .filter(move |o| o.owner == Owner::Gcc && o.key.group == group && o.key.kind == kind)
            .map(|o| (o.key.namespace.as_str(), &o.key.name, &o.body))
    }
    let str_of = |b: &Value, ptr: &str| b.pointer(ptr).and_then(Value::as_str).map(str::to_string);
    let db_users: BTreeSet<String> = gcc(objects, "k8s.mariadb.com", "User")
        .map(|(_, n, b)| str_of(b, "/spec/name").unwrap_or_else(|| n.clone()))
        .collect();
    let databases: BTreeSet<String> = gcc(objects, "k8s.mariadb.com", "Database")
        .map(|(_, n, b)| str_of(b, "/spec/name").unwrap_or_else(|| n.clone()))
        .collect();
    let grants: BTreeSet<(String, String)> = gcc(objects, "k8s.mariadb.com", "Grant")
        .filter_map(|(_, _, b)| Some((str_of(b, "/spec/username")?, str_of(b, "/spec/database")?)))
        .collect();
    let mq_users: BTreeSet<String> = gcc(objects, "rabbitmq.com", "User")
        .map(|(_, n, _)| n.clone())
        .collect();
    let permissions: BTreeSet<(String, String)> = gcc(objects, "rabbitmq.com", "Permission")
        .filter_map(|(_, _, b)| {
            Some((
                str_of(b, "/spec/userReference/name")?,
                str_of(b, "/spec/vhost")?,
            ))
        })
        .collect();
    let mut by_release: BTreeMap<usize, BTreeSet<String>> = BTreeMap::new();
    for o in objects {
        let Owner::Release(i) = o.owner else { continue };
        for s in readable_strings(o) {
            for c in connections_in(&s, &o.key.namespace) {
                let (ns, name) = &c.service;
                let mut why = Vec::new();
                if !present.services.contains(&c.service) {
                    why.push(format!("Service {ns}/{name}, which nothing renders"));
                }
                if c.scheme == "mysql" && c.user != "root" {
                    if !db_users.contains(&c.user) {
                        why.push(format!(
                            "MariaDB user `{}`, whom gcc does not create",
                            c.user
                        ));
                    }
                    if !c.path.is_empty() && !databases.contains(&c.path) {
                        why.push(format!("database `{}`, which gcc does not create", c.path));
                    } else if !c.path.is_empty()
                        && db_users.contains(&c.user)
                        && !grants.contains(&(c.user.clone(), c.path.clone()))
                    {
                        why.push(format!(
                            "database `{}`, on which `{}` has no Grant",
                            c.path, c.user
                        ));
                    }
                }
                if c.scheme == "rabbit"
                    && mq_users.contains(&c.user)
                    && !permissions.contains(&(c.user.clone(), c.path.clone()))
                {
                    why.push(format!(
                        "vhost `{}`, on which RabbitMQ user `{}` has no Permission",
                        c.path, c.user
                    ));
                }
                if !why.is_empty() {
                    by_release.entry(i).or_default().insert(format!(
                        "{} ({}://{}@{ns}/{name}: {})",
                        o.key,
                        c.scheme,
                        c.user,
                        why.join("; ")
                    ));
                }
            }
        }
    }
    for (i, hits) in by_release {
        let r = &releases[i];
        let d = Diagnostic::error(
            CONNECTS_NOWHERE,
            format!(
                "release {} connects to what is not there: {}",
                r.name,
                hits.into_iter().collect::<Vec<_>>().join(", ")
            ),
        )
        .help("point the chart's endpoint at a Service the build renders, and its user and database or vhost at the accounts gcc creates (catalog/services.yaml `databases`, `vhost`)");
        diags.push(at_release(tree, r, d, "this release"));
    }
}

fn collect_strings<'a>(v: &'a Value, out: &mut Vec<&'a str>) {
    match v {
        Value::String(s) => out.push(s),
        Value::Array(a) => a.iter().for_each(|v| collect_strings(v, out)),
        Value::Object(m) => m.values().for_each(|v| collect_strings(v, out)),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn path(p: &str) -> Vec<String> {
        p.split('.').map(str::to_string).collect()
    }

    #[test]
    fn connection_urls_are_read_with_their_service_user_and_path() {
        let text = "connection = mysql+pymysql://nova:pw@mariadb-cluster-primary.openstack.svc.cluster.local:3306/nova_api\n\
            transport_url = rabbit://nova:pw@rabbitmq.openstack.svc.cluster.local:5672/nova,rabbit://nova:pw@rabbitmq-2:5672/nova\n\
            hosts = rabbit://a:p@rabbitmq-0:5672,a:p@rabbitmq-1:5672/vh\n\
            url = postgresql://gnocchi:pw@postgres-cluster:5432/gnocchi?sslmode=require\n\
            other = xrabbit://a:b@c/d mysql+pymysql://root:pw@10.0.0.5/x";
        let c = connections_in(text, "openstack");
        let got: Vec<String> = c
            .iter()
            .map(|c| {
                let (ns, name) = &c.service;
                format!(
                    "{} {}@{ns}/{name}:{:?}/{}",
                    c.scheme, c.user, c.port, c.path
                )
            })
            .collect();
        assert_eq!(
            got,
            [
                "mysql nova@openstack/mariadb-cluster-primary:Some(3306)/nova_api",
                "postgresql gnocchi@openstack/postgres-cluster:Some(5432)/gnocchi",
                "rabbit nova@openstack/rabbitmq:Some(5672)/nova",
                "rabbit nova@openstack/rabbitmq-2:Some(5672)/nova",
                "rabbit a@openstack/rabbitmq-0:Some(5672)/vh",
            ]
        );
    }

    #[test]
    fn a_dead_key_is_the_first_segment_the_chart_lacks() {
        let defaults = serde_json::json!({
            "manifests": {"ingress_api": true},
            "conf": {"keystone": {"DEFAULT": {"x": 1}}},
            "labels": {},
            "pod": {"replicas": null}
        });
        let free = vec![path("conf.*")];
        assert_eq!(
            dead_segment(&defaults, &path("manifests.ingress_api"), &free),
            None
        );
        assert_eq!(
            dead_segment(&defaults, &path("manifests.ingress_server"), &free),
            Some(1)
        );
        assert_eq!(
            dead_segment(&defaults, &path("endpoints.x.y"), &free),
            Some(0)
        );
        // An empty map, a null, or a free-form path takes anything.
        assert_eq!(dead_segment(&defaults, &path("labels.a.b"), &free), None);
        assert_eq!(
            dead_segment(&defaults, &path("pod.replicas.api"), &free),
            None
        );
        assert_eq!(
            dead_segment(&defaults, &path("conf.keystone.oslo_x.y"), &free),
            None
        );
        assert_eq!(
            dead_segment(&defaults, &path("conf.keystone.oslo_x.y"), &[]),
            Some(2)
        );
    }
}
