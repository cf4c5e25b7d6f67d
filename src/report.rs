//! What `gcc build` and `gcc versions` print: the build summary (text or JSON) and the
//! component version table (text, markdown or JSON), straight from the plan.

use serde_json::{Value, json};

use crate::model::Profile;
use crate::plan::{ImageFrom, Plan, Tier, TlsPlan};
use crate::render::Rendered;

/// The build summary as JSON (the `--format json` output of `gcc build`).
pub(crate) fn summary_json(
    plan: &Plan,
    rendered: &Rendered,
    out_dir: &str,
    unchanged: bool,
) -> Value {
    json!({
        "ok": true,
        "unchanged": unchanged,
        "environment": plan.env,
        "build_id": rendered.build_id,
        "out": out_dir,
        "profile": plan.profile.as_str(),
        "target": plan.target,
        "release": plan.release,
        "release_name": plan.release_name,
        "files": rendered.files.len(),
        "objects": rendered.counts,
        "components": plan.components.iter().map(|c| json!({
            "name": c.name, "tier": c.tier, "namespace": c.namespace, "chart": c.chart,
            "version": c.version, "release": c.release, "reason": c.reason, "wave": c.wave,
        })).collect::<Vec<_>>(),
        "quorum": plan.quorum,
        "placement": plan.quorum.iter().map(|p| (p.service.clone(), held_by(plan, p)))
            .collect::<std::collections::BTreeMap<_, _>>(),
        "site": site_files(rendered),
        "picture": format!("{out_dir}/{}", crate::graph::TREE_PATH),
        "secrets": plan.secrets,
        "bootstrap": plan.bootstrap,
        "first_steps": first_steps(plan, rendered),
        "public": plan.edge.as_ref().map(|e| json!({
            "domain": e.domain,
            "address": e.address,
            "pool": e.pool,
            "tls": e.tls,
            "endpoints": e.endpoints.iter().map(|p| json!({
                "service": p.service, "endpoint": p.endpoint, "url": p.url(),
            })).collect::<Vec<_>>(),
        })),
    })
}

/// The oVirt affinity groups that hold quorum `p`'s placement: the pins of its members'
/// VMs, and the group keeping those VMs apart.
fn held_by(plan: &Plan, p: &crate::plan::ha::Proof) -> Vec<String> {
    let Some(o) = &plan.ovirt else {
        return Vec::new();
    };
    p.members
        .iter()
        .filter_map(|m| o.pin_of(&m.node).map(|g| g.name.clone()))
        .chain(o.apart_of(&p.service).map(|g| g.name.clone()))
        .collect()
}

/// The lab's files in the tree (`site/`), which no kustomization applies.
/// The line pointing at the placement picture in the tree.
fn picture(out_dir: &str) -> String {
    format!(
        "  picture: {out_dir}/{} (racks, machines, VMs and the members on them)\n",
        crate::graph::TREE_PATH
    )
}

/// The lab's files in the tree (not the picture, which is for people).
fn site_files(rendered: &Rendered) -> Vec<&str> {
    rendered
        .files
        .keys()
        .filter(|p| crate::emit::in_site(p) && p.as_str() != crate::graph::TREE_PATH)
        .map(String::as_str)
        .collect()
}

/// Where users reach the cloud, for people: every public URL, the address their names
/// must resolve to, and what clients must trust.
fn public_text(plan: &Plan) -> String {
    let Some(e) = &plan.edge else {
        return "public endpoints: none (the environment has no `domain`: the APIs are reachable only inside the cluster)\n".to_string();
    };
    let tls = match &e.tls {
        TlsPlan::SelfSigned => format!(
            "certificates from gcc's self-signed CA: clients trust ca.crt of Secret {}/{}",
            e.issuer_namespace,
            crate::plan::EdgePlan::ROOT_CA
        ),
        TlsPlan::Acme { server, .. } => {
            format!("certificates from ACME ({server}), HTTP-01 through the Gateway")
        }
        TlsPlan::Existing { name } => format!("certificates from ClusterIssuer {name}"),
    };
    let mut s = format!(
        "public endpoints: resolve each name to {} (VIP pool {}); {tls}\n",
        e.address, e.pool
    );
    let width = e
        .endpoints
        .iter()
        .map(|p| p.service.len())
        .max()
        .unwrap_or(0);
    let url_width = e.endpoints.iter().map(|p| p.url().len()).max().unwrap_or(0);
    for p in &e.endpoints {
        s += &format!(
            "  {:<width$}  {:<url_width$}  {}\n",
            p.service,
            p.url(),
            p.endpoint
        );
    }
    s
}

/// How a new cluster gets this tree: the bootstrap script once, then the controller's
/// entry point (`flux/` or the root Applications of `bootstrap/`).
fn first_steps(plan: &Plan, rendered: &Rendered) -> Option<String> {
    let script = "bootstrap/install.sh";
    rendered.files.contains_key(script).then(|| {
        format!(
            "new cluster (pods {}, services {}, no CNI): sh {script}; {}",
            plan.bootstrap.pod_cidr, plan.bootstrap.service_cidr, plan.bootstrap.then
        )
    })
}

/// The build summary for people.
pub(crate) fn summary_text(
    plan: &Plan,
    rendered: &Rendered,
    out_dir: &str,
    unchanged: bool,
) -> String {
    let mut s = String::new();
    let release = match &plan.release_name {
        Some(n) => format!("{} {n}", plan.release),
        None => plan.release.clone(),
    };
    s += &format!(
        "{}: build {} (profile {}, release {release}, inventory {})\n",
        plan.env,
        &rendered.build_id[..12],
        plan.profile.as_str(),
        plan.inventory
    );
    if unchanged {
        s += &format!(
            "  {out_dir} already holds this tree ({} files): unchanged\n",
            rendered.files.len()
        );
    } else {
        s += &format!("  wrote {} files to {out_dir}\n", rendered.files.len());
    }
    s += &format!("  build id {}\n", rendered.build_id);
    let objects: Vec<String> = rendered
        .counts
        .iter()
        .map(|(k, n)| format!("{n} {k}"))
        .collect();
    s += &format!("  objects: {}\n", objects.join(", "));
    let names = |tier: Tier| -> Vec<&str> {
        plan.components
            .iter()
            .filter(|c| c.tier == tier)
            .map(|c| c.name.as_str())
            .collect()
    };
    let (os, infra) = (names(Tier::Openstack), names(Tier::Infrastructure));
    s += &format!("  openstack ({}): {}\n", os.len(), os.join(", "));
    for c in plan
        .components
        .iter()
        .filter(|c| matches!(c.reason, crate::plan::Why::Required(_)))
    {
        s += &format!("    {} enabled: {}\n", c.name, c.reason);
    }
    s += &format!("  infrastructure ({}): {}\n", infra.len(), infra.join(", "));
    if let Some(first) = first_steps(plan, rendered) {
        s += &format!("  {first}\n");
    }
    s += &public_text(plan);
    let site = site_files(rendered);
    if !site.is_empty() {
        s += &format!(
            "lab files (for the lab's DHCP server and oVirt, applied by neither Flux nor Argo CD): {}\n",
            site.join(", ")
        );
    }
    match plan.profile {
        Profile::Base => {
            s += "HA proof (profile base): each quorum member on its own machine; losing any one machine leaves a majority\n";
            s += &picture(out_dir);
            for p in &plan.quorum {
                let hosts: Vec<String> = p
                    .members
                    .iter()
                    .map(|m| format!("{} ({})", m.machine, m.node))
                    .collect();
                s += &format!(
                    "  {:<12} {} replicas on {}; worst single loss leaves {}/{} (majority {})\n",
                    p.service,
                    p.replicas,
                    hosts.join(", "),
                    p.worst_case,
                    p.replicas,
                    p.majority
                );
                let groups = held_by(plan, p);
                if !groups.is_empty() {
                    s += &format!(
                        "  {:<12} held by oVirt affinity groups {}\n",
                        "",
                        groups.join(", ")
                    );
                }
            }
        }
        Profile::Aio => {
            s += "profile aio: one replica everywhere; no HPA, no PDB, no anti-affinity, MariaDB replication off\n";
            s += &picture(out_dir);
            for p in &plan.quorum {
                let m = &p.members[0];
                s += &format!(
                    "  {:<12} 1 replica on {} ({})\n",
                    p.service, m.machine, m.node
                );
            }
        }
    }
    s += &format!(
        "Secrets the cluster must provide ({}; never written by gcc):\n",
        plan.secrets.len()
    );
    let name = |x: &crate::plan::RequiredSecret| format!("{}/{}", x.namespace, x.name);
    let width = plan
        .secrets
        .iter()
        .map(|x| name(x).len())
        .max()
        .unwrap_or(0);
    for x in &plan.secrets {
        let keys: Vec<&str> = x.keys.iter().map(String::as_str).collect();
        let by = match &x.provided_by {
            crate::plan::ProvidedBy::You => String::new(),
            other => format!("  (created by {other})"),
        };
        s += &format!("  {:<width$}  {}{by}\n", name(x), keys.join(", "));
    }
    s
}

/// One row of the version table.
#[derive(Debug, Clone, serde::Serialize)]
pub struct VersionRow {
    /// Component.
    pub component: String,
    /// OpenStack release (services only).
    pub release: Option<String>,
    /// Its name.
    pub release_name: Option<String>,
    /// Chart.
    pub chart: String,
    /// Chart version.
    pub version: String,
    /// Where the version comes from.
    pub pinned_by: String,
    /// Images.
    pub images: Vec<String>,
}

/// The version table of a plan.
/// The images the version table lists for each release (by release name): what
/// `gcc rehearse` holds the rendered images to.
pub fn claimed_images(plan: &Plan) -> crate::rehearse::Claimed {
    plan.components
        .iter()
        .map(|c| {
            (
                c.name.clone(),
                c.images.iter().map(|i| i.image.clone()).collect(),
            )
        })
        .collect()
}

pub fn versions(plan: &Plan) -> Vec<VersionRow> {
    let catalog = crate::catalog::Catalog::get();
    plan.components
        .iter()
        .map(|c| VersionRow {
            component: c.name.clone(),
            release_name: c
                .release
                .as_deref()
                .and_then(|r| catalog.release_name(r))
                .map(String::from),
            release: c.release.clone(),
            chart: format!("{}/{}", c.repository, c.chart),
            version: c.version.clone(),
            pinned_by: c.version_from.clone(),
            images: c
                .images
                .iter()
                .map(|i| match i.from {
                    ImageFrom::Catalog => i.image.clone(),
                    ImageFrom::Convention => format!("{} (by convention)", i.image),
                    ImageFrom::Environment => format!("{} (environment)", i.image),
                })
                .collect(),
        })
        .collect()
}

fn cells(r: &VersionRow) -> [String; 5] {
    let release = match (&r.release, &r.release_name) {
        (Some(v), Some(n)) => format!("{v} {n}"),
        (Some(v), None) => v.clone(),
        _ => "-".into(),
    };
    // One image per line: text prints the rest under the first, markdown breaks the cell.
    let images = if r.images.is_empty() {
        "-".into()
    } else {
        r.images.join("\n")
    };
    [
        r.component.clone(),
        release,
        r.chart.clone(),
        format!("{} ({})", r.version, r.pinned_by),
        images,
    ]
}

const HEADERS: [&str; 5] = [
    "component",
    "release",
    "chart",
    "version (pinned by)",
    "image",
];

/// The table as aligned text.
pub(crate) fn versions_text(rows: &[VersionRow]) -> String {
    let all: Vec<[String; 5]> = rows.iter().map(cells).collect();
    let mut widths = HEADERS.map(str::len);
    for r in &all {
        for (w, c) in widths.iter_mut().zip(r) {
            *w = (*w).max(c.len());
        }
    }
    let line = |cols: [&str; 5]| {
        let mut s = String::new();
        for (i, c) in cols.iter().enumerate() {
            if i == 4 {
                s += c;
            } else {
                s += &format!("{c:<w$}  ", w = widths[i]);
            }
        }
        s.trim_end().to_string() + "\n"
    };
    let mut s = line(HEADERS);
    for r in &all {
        let mut images = r[4].lines();
        s += &line([&r[0], &r[1], &r[2], &r[3], images.next().unwrap_or("")]);
        for more in images {
            s += &line(["", "", "", "", more]);
        }
    }
    s
}

/// The table as a markdown table.
pub(crate) fn versions_markdown(rows: &[VersionRow]) -> String {
    let mut s = format!("| {} |\n", HEADERS.join(" | "));
    s += &format!("|{}\n", "---|".repeat(HEADERS.len()));
    for r in rows {
        let c = cells(r).map(|x| x.replace('|', "\\|").replace('\n', "<br>"));
        s += &format!("| {} |\n", c.join(" | "));
    }
    s
}

/// What `gcc version` reports: enough to tell two builds of the same version apart.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Version {
    /// The package version.
    pub version: &'static str,
    /// The source commit it was built from (`-dirty` when the work tree differed).
    pub git_commit: &'static str,
    /// The compiler that built it.
    pub rustc: &'static str,
    /// sha256 over every source file the binary is made of (see `build.rs`).
    pub source_digest: &'static str,
    /// The build fingerprint every lock records: sha256 over the version, the compiler
    /// and the source digest.
    pub build: &'static str,
    /// The digest of the embedded catalog (sha256 over its files, as the build id is over
    /// a tree's).
    pub catalog_digest: String,
}

/// This binary's version.
pub fn version() -> Version {
    let files: Vec<(String, String)> = crate::catalog::SOURCES
        .iter()
        .map(|(name, text)| (name.to_string(), crate::lock::sha256_hex(text.as_bytes())))
        .collect();
    Version {
        version: crate::lock::GCC_VERSION,
        git_commit: env!("GCC_GIT_COMMIT"),
        rustc: env!("GCC_RUSTC_VERSION"),
        source_digest: env!("GCC_SOURCE_DIGEST"),
        build: crate::lock::GCC_BUILD,
        catalog_digest: crate::lock::build_id(files.iter().map(|(p, h)| (p.as_str(), h.as_str()))),
    }
}
