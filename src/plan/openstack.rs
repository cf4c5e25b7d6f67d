//! The OpenStack services: each one's chart, version and images, its values in four
//! layers (catalog → profile → inventory → environment, secrets taken out), its
//! autoscalers and install order, and what the inventory gives it (its NAS store, its OVN
//! client, its physical networks).

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Map, Value, json};

use super::infra::{ovn_central, provider_subnets};
use super::storage::nas_store;
use super::trace::{Layer, Origin, Recorder};
use super::{
    Autoscaler, ClaimPlan, Component, Cx, HPA_MAX, ImageFrom, MARIADB_CLUSTER, NO_CHART, NO_STORE,
    OPENSTACK_NAMESPACE, OvnIniPlan, PlannedImage, REPLACED_TEMPLATE, SECRET_LITERAL, StoragePlan,
    Tier, Why, anti_affinity, content_suffix, values,
};
use crate::catalog::{self, AntiAffinity, Order, Reason};
use crate::diag::Diagnostic;
use crate::model::{Loc, Profile, Service};

/// The catalog files origins point into, as the repository names them.
const SERVICES_FILE: &str = "catalog/services.yaml";
const INFRASTRUCTURE_FILE: &str = "catalog/infrastructure.yaml";

/// The pointer of `key` in service `name`'s catalog entry.
fn service_ptr(name: &str, key: &str) -> String {
    format!("/services/{}/{key}", crate::yaml::escape_ptr(name))
}

/// `origin` with each input of `at`.
fn sites(origin: Origin, at: impl IntoIterator<Item = Loc>) -> Origin {
    at.into_iter().fold(origin, |o, l| o.input(l, false))
}

/// Where the control-plane nodes are written.
fn control_plane(inv: &crate::model::Inventory) -> Vec<Loc> {
    inv.nodes
        .iter()
        .filter(|n| n.has(crate::model::Role::ControlPlane))
        .map(|n| n.at.clone())
        .collect()
}

/// What the services add to the plan besides their components.
#[derive(Default)]
pub(super) struct Additions {
    /// Storage classes gcc adds for services' stores on NAS exports.
    pub store_classes: Vec<StoragePlan>,
    /// Claims gcc writes for those stores.
    pub claims: Vec<ClaimPlan>,
    /// Empty objects charts mount without reading them.
    pub stand_ins: Vec<catalog::StandIn>,
    /// `[ovn]` ConfigMaps.
    pub ovn_ini: Vec<OvnIniPlan>,
    /// The Secrets holding a copy of kube-ovn's TLS certificates.
    pub ovn_tls: BTreeSet<String>,
}

/// The component of every service, with what they add to the plan.
pub(super) fn components(
    cx: &mut Cx,
    services: &BTreeMap<String, Reason>,
    infra: &BTreeSet<String>,
    memcached_replicas: usize,
    edge: Option<&super::EdgePlan>,
) -> (Vec<Component>, Additions) {
    let inv = &cx.model.inventory;
    let mut components = Vec::new();
    let mut add = Additions::default();
    // The inventory's physical networks, one per provider subnet.
    let physnets: Vec<String> = (1..=provider_subnets(inv).len())
        .map(|i| format!("physnet{i}"))
        .collect();
    let provider_script = super::provider::script(inv);
    for (name, reason) in services {
        let entry = &cx.catalog.services[name];
        let store = match &entry.nas_store {
            Some(want) => match nas_store(cx, name, want) {
                Some(s) => Some(s),
                None => {
                    let (at, text) = match reason {
                        Reason::Enabled => (name.as_str(), "enabled here"),
                        Reason::Required(chain) => (chain[0].as_str(), "needs it"),
                    };
                    let at = cx.env_at(&format!("/services/{}", crate::yaml::escape_ptr(at)));
                    let d = Diagnostic::error(
                        NO_STORE,
                        format!(
                            "{name} keeps its data on a NAS export, but the inventory has no export with purpose `{}` and the environment no NFS storage class",
                            want.purpose.as_str()
                        ),
                    )
                    .at(cx.key_label(&at, text))
                    .help(format!(
                        "give a NAS export `purpose: [{}]`, or add a storage class with `provider: nfs`",
                        want.purpose.as_str()
                    ));
                    cx.diags.push(d);
                    None
                }
            },
            None => None,
        };
        // What the plan computes for the service from the inventory: its NAS store, its
        // OVN client, its physical networks.
        let mut rec = cx.recorder();
        let mut layer = Map::new();
        if let (Some(s), Some(want)) = (store, &entry.nas_store) {
            layer = s.values(want);
            rec.wrote(&layer, || s.origin(want.purpose));
            if let Some(claim) = &want.claim {
                add.claims.push(ClaimPlan {
                    name: claim.name.clone(),
                    class: s.class.clone(),
                    size: claim.size.clone(),
                });
            }
            add.store_classes.extend(s.new_class);
        }
        let mark = rec.mark(&layer);
        for st in &entry.stand_ins {
            values::set(&mut layer, &st.path, json!(st.name));
            add.stand_ins.push(st.clone());
        }
        rec.since(mark, &layer, || {
            Origin::new(
                Layer::Catalog,
                format!("catalog: what {name}'s chart mounts, written by gcc empty"),
            )
            .catalog(SERVICES_FILE, service_ptr(name, "stand_ins"), false)
        });
        if let Some(want) = &entry.ovn {
            let (v, ini) = ovn_client(cx, want);
            rec.wrote(&v, || {
                sites(
                    Origin::new(
                        Layer::Plan,
                        "plan: OVN central runs on the control-plane nodes (their first addresses)",
                    ),
                    control_plane(inv),
                )
            });
            values::merge(&mut layer, &v);
            add.ovn_ini.extend(ini);
            add.ovn_tls.insert(want.tls_secret.clone());
        }
        let mark = rec.mark(&layer);
        if !physnets.is_empty() {
            for path in &entry.physnets {
                values::set(&mut layer, path, json!(physnets.join(",")));
            }
        }
        if let (Some(want), Some(script)) = (&entry.provider_networks, &provider_script) {
            values::set(&mut layer, &want.enabled, json!(true));
            values::set(&mut layer, &want.script, json!(script));
        }
        rec.since(mark, &layer, || {
            let subnets = inv
                .subnets
                .iter()
                .filter(|s| s.purpose == Some(crate::model::SubnetPurpose::Provider))
                .map(|s| s.at.clone());
            sites(
                Origin::new(
                    Layer::Inventory,
                    "inventory: one physical network per provider subnet",
                ),
                subnets,
            )
        });
        if let Some(edge) = edge {
            let v = edge.values_for(name);
            rec.wrote(&v, || {
                Origin::new(
                    Layer::Environment,
                    format!("environment: {name} served at its public URL under `domain`"),
                )
                .input(cx.env_at("/domain"), false)
            });
            values::merge(&mut layer, &v);
        }
        if let Some(c) = component(
            cx,
            name,
            reason,
            services,
            infra,
            memcached_replicas,
            (layer, rec),
        ) {
            components.push(c);
        }
    }
    (components, add)
}

fn component(
    cx: &mut Cx,
    name: &str,
    reason: &Reason,
    services: &BTreeMap<String, Reason>,
    infra: &BTreeSet<String>,
    memcached_replicas: usize,
    (computed, computed_steps): (Map<String, Value>, Recorder),
) -> Option<Component> {
    let env = &cx.model.env;
    let entry = &cx.catalog.services[name];
    let base = env.profile == Profile::Base;
    let svc = env.services.get(name);
    let release = svc
        .and_then(|s| s.release.clone())
        .unwrap_or_else(|| env.release.clone());
    let svc_at = cx.env_at(&format!("/services/{}", crate::yaml::escape_ptr(name)));
    let (version, version_from) = chart_version(cx, name, reason, &svc_at)?;
    let chart_pin = svc.and_then(|s| s.chart.clone());
    let chart = chart_pin
        .as_ref()
        .and_then(|c| c.name.clone())
        .unwrap_or_else(|| name.to_string());
    let (repository, repository_url) = match chart_pin.as_ref().and_then(|c| c.repo.clone()) {
        Some(url) => (repo_name_for(&url), url),
        None => (
            "openstack-helm".to_string(),
            cx.catalog.repositories["openstack-helm"].clone(),
        ),
    };

    // Layer 1: catalog defaults (Genestack conventions), then what the plan computed from
    // the inventory (see the caller).
    let image_choices = cx.catalog.images_for(name, &release);
    let mut rec = cx.recorder();
    let mut v = catalog_layer(cx, name, &version, &image_choices, &svc_at, &mut rec);
    rec.append(computed_steps);
    values::merge(&mut v, &computed);
    // Layer 2: profile.
    if base {
        let mark = rec.mark(&v);
        profile_layer(&mut v, entry, svc);
        rec.since(mark, &v, || {
            let origin = Origin::new(
                Layer::Profile,
                "profile base: API Deployments start at the autoscaler's floor, with requests and anti-affinity",
            );
            // The floor is the environment's `autoscale.min` when it sets one.
            let floor = svc
                .and_then(|s| s.autoscale)
                .and_then(|a| a.min)
                .map(|_| svc_at.child("autoscale").child("min"));
            floor
                .into_iter()
                .fold(origin, |o, at| o.input(at, false))
                .input(cx.env_at("/profile"), false)
        });
    }
    // Layer 3: inventory-derived.
    let mark = rec.mark(&v);
    values::set(
        &mut v,
        "endpoints.oslo_cache.statefulset.replicas",
        json!(memcached_replicas),
    );
    rec.since(mark, &v, || {
        sites(
            Origin::new(
                Layer::Plan,
                "plan: memcached's members, placed by the HA proof (one in aio)",
            )
            .input(cx.env_at("/profile"), false),
            cx.member_sites("memcached"),
        )
    });
    // Layer 4: the environment's values, then secrets out.
    let secret_refs = environment_layer(cx, name, &svc_at, &mut v, &mut rec);
    if let Some(steps) = rec.finish() {
        cx.keep(name, steps);
    }

    Some(Component {
        helm_wait: !entry.waits_on_hooks,
        name: name.to_string(),
        tier: Tier::Openstack,
        namespace: OPENSTACK_NAMESPACE.to_string(),
        chart,
        repository,
        repository_url,
        version,
        version_from,
        images: planned_images(&v, &image_choices),
        release: Some(release),
        reason: match reason {
            Reason::Enabled => Why::Enabled,
            Reason::Required(chain) => Why::Required(chain[..chain.len() - 1].to_vec()),
        },
        depends_on: install_after(cx, name, services, infra),
        wave: 0,
        values: v,
        secrets: secret_refs,
        autoscalers: if base {
            autoscalers(entry, svc)
        } else {
            Vec::new()
        },
    })
}

/// A service's chart version and where it comes from: the environment's pin, else the
/// catalog's chart set for the release.
fn chart_version(
    cx: &mut Cx,
    name: &str,
    reason: &Reason,
    svc_at: &Loc,
) -> Option<(String, String)> {
    let env = &cx.model.env;
    let svc = env.services.get(name);
    // Chart version: environment pin, else the catalog's chart set.
    let pin = svc.and_then(|s| {
        s.version
            .clone()
            .or_else(|| s.chart.as_ref().and_then(|c| c.version.clone()))
    });
    let (version, version_from) = match pin {
        Some(v) => (v, "environment".to_string()),
        None => match cx.catalog.chart_for(name, &env.release) {
            Some(c) => (c.version, c.from_ref),
            None => {
                let chain = match reason {
                    Reason::Enabled => name.to_string(),
                    Reason::Required(chain) => chain.join(" → "),
                };
                let (at, text) = match reason {
                    Reason::Enabled => (svc_at.clone(), "enabled here"),
                    Reason::Required(chain) => (
                        cx.env_at(&format!("/services/{}", crate::yaml::escape_ptr(&chain[0]))),
                        "requires it",
                    ),
                };
                let d = Diagnostic::error(
                    NO_CHART,
                    format!(
                        "no chart version of `{name}` for release {} ({chain})",
                        env.release
                    ),
                )
                .at(cx.key_label(&at, text))
                .help(format!(
                    "pin one with `services.{name}.version`, or use a release the catalog knows: {}",
                    cx.catalog
                        .chart_sets
                        .iter()
                        .map(|s| s.release.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                ));
                cx.diags.push(d);
                return None;
            }
        },
    };
    Some((version, version_from))
}

/// Layer 1 of a service's values: the catalog's defaults (Genestack's conventions), the
/// chart's own switches off, the templates gcc renders in the chart's place, images, wait
/// lists without what gcc turns off, and the endpoints of the data services.
fn catalog_layer(
    cx: &mut Cx,
    name: &str,
    version: &str,
    image_choices: &[catalog::ImageChoice],
    svc_at: &Loc,
    rec: &mut Recorder,
) -> Map<String, Value> {
    let env = &cx.model.env;
    let entry = &cx.catalog.services[name];
    let from = |what: &str, key: &str, per_leaf: bool| {
        Origin::new(Layer::Catalog, format!("catalog: {name}'s {what}")).catalog(
            SERVICES_FILE,
            service_ptr(name, key),
            per_leaf,
        )
    };
    let mut v = entry.values.clone();
    rec.wrote(&v, || {
        from("values (Genestack's base-helm-configs)", "values", true)
    });
    let mark = rec.mark(&v);
    for m in &entry.manifests_off {
        values::set(&mut v, &format!("manifests.{m}"), json!(false));
    }
    rec.since(mark, &v, || {
        from("chart switches gcc turns off", "manifests_off", false)
    });
    let mark = rec.mark(&v);
    // The chart's templates gcc renders in their place, through the chart's extraObjects.
    let mut extra = Vec::new();
    for r in &entry.replace {
        values::set(&mut v, &format!("manifests.{}", r.manifest), json!(false));
        extra.push(json!(catalog::template(&r.template).unwrap_or_default()));
        if r.chart_version != version {
            let d = Diagnostic::warning(
                REPLACED_TEMPLATE,
                format!(
                    "gcc renders its copy of {name}'s {} (from chart {}) in place of the chart's, and this build pins {name} {version}",
                    r.chart_file, r.chart_version
                ),
            )
            .at(cx.key_label(svc_at, "pinned here"))
            .help(format!(
                "`gcc rehearse` with chart {version} shows whether the copy still renders what the chart's template does"
            ));
            cx.diags.push(d);
        }
    }
    if !extra.is_empty() {
        values::set(&mut v, "extraObjects", Value::Array(extra));
    }
    rec.since(mark, &v, || {
        from(
            "templates gcc renders in the chart's place",
            "replace",
            false,
        )
    });
    let mark = rec.mark(&v);
    values::set(
        &mut v,
        "endpoints.oslo_cache.statefulset.name",
        json!("memcached-memcached"),
    );
    rec.since(mark, &v, || {
        Origin::new(
            Layer::Catalog,
            "catalog: the memcached release's StatefulSet",
        )
        .catalog(
            INFRASTRUCTURE_FILE,
            "/components/memcached".to_string(),
            false,
        )
    });
    let mark = rec.mark(&v);
    for choice in image_choices {
        for key in &choice.keys {
            values::set(&mut v, &format!("images.tags.{key}"), json!(choice.image));
        }
    }
    rec.since(mark, &v, || {
        Origin::new(
            Layer::Catalog,
            format!("catalog: {name}'s images for its release"),
        )
        .catalog(SERVICES_FILE, service_ptr(name, "images"), false)
        .input(cx.env_at("/release"), false)
    });
    let mark = rec.mark(&v);
    // The init Jobs turned off above are dropped from every wait list that names them:
    // kubernetes-entrypoint would wait for a Job that is never rendered, for ever.
    let off = entry.jobs_off(name);
    for (key, jobs) in &entry.job_deps {
        let kept: Vec<&String> = jobs.iter().filter(|j| !off.contains(j)).collect();
        if kept.len() != jobs.len() {
            values::set(
                &mut v,
                &format!("dependencies.static.{key}.jobs"),
                json!(kept),
            );
        }
    }
    // Nor does any pod wait for an endpoint nothing runs behind.
    for (key, deps) in &entry.service_deps {
        let kept: Vec<&catalog::ServiceDep> = deps
            .iter()
            .filter(|d| !entry.endpoints_off.contains(&d.service))
            .collect();
        values::set(
            &mut v,
            &format!("dependencies.static.{key}.services"),
            json!(kept),
        );
    }
    rec.since(mark, &v, || {
        from(
            "wait lists, without the Jobs and endpoints gcc turns off",
            "job_deps",
            false,
        )
    });
    let mark = rec.mark(&v);
    // The PostgreSQL cluster's primary Service (postgres-operator names it after the cluster).
    for e in &entry.postgres_endpoints {
        let pg = &cx.catalog.postgres.name;
        values::set(&mut v, &format!("endpoints.{e}.hosts.default"), json!(pg));
        values::set(
            &mut v,
            &format!("endpoints.{e}.host_fqdn_override.default"),
            json!(format!("{pg}.{OPENSTACK_NAMESPACE}.svc.cluster.local")),
        );
    }
    rec.since(mark, &v, || {
        from(
            "PostgreSQL endpoints (the cluster's primary Service)",
            "postgres_endpoints",
            false,
        )
    });
    let mark = rec.mark(&v);
    if !entry.databases.is_empty() {
        for e in &entry.db_endpoints {
            values::set(
                &mut v,
                &format!("endpoints.{e}.hosts.default"),
                json!(mariadb_service(env.profile)),
            );
            values::set(
                &mut v,
                &format!("endpoints.{e}.host_fqdn_override.default"),
                json!(format!(
                    "{}.{OPENSTACK_NAMESPACE}.svc.cluster.local",
                    mariadb_service(env.profile)
                )),
            );
        }
    }
    rec.since(mark, &v, || {
        Origin::new(
            Layer::Plan,
            "plan: MariaDB's Service for the profile (the primary in base)",
        )
        .input(cx.env_at("/profile"), false)
    });
    let mark = rec.mark(&v);
    if entry.vhost {
        values::merge(
            &mut v,
            &values::from_paths([
                (
                    "endpoints.oslo_messaging.hosts.default",
                    json!("rabbitmq-nodes"),
                ),
                (
                    "endpoints.oslo_messaging.host_fqdn_override.default",
                    json!("rabbitmq.openstack.svc.cluster.local"),
                ),
                ("endpoints.oslo_messaging.path", json!(format!("/{name}"))),
            ]),
        );
        values::set(
            &mut v,
            &format!("conf.{name}.oslo_messaging_rabbit"),
            oslo_messaging_rabbit(),
        );
    }
    rec.since(mark, &v, || {
        from(
            "RabbitMQ endpoint and oslo.messaging options (quorum queues)",
            "vhost",
            false,
        )
    });
    v
}

/// Layer 2 of a service's values in `base`: its scaling Deployments start at the
/// autoscaler's floor, with requests and the profile's anti-affinity.
fn profile_layer(v: &mut Map<String, Value>, entry: &catalog::ServiceEntry, svc: Option<&Service>) {
    // One PodDisruptionBudget per scaling Deployment: the chart's own goes where gcc
    // writes one (see Autoscaler::pdb).
    for a in &entry.api {
        if let Some(catalog::ChartPdb::Off(switch)) = &a.chart_pdb {
            values::set(v, &format!("manifests.{switch}"), json!(false));
        }
        // Start at the autoscaler's floor, with the chart's resource requests on: an
        // HPA's Utilization target is computed against them.
        values::set(v, &a.replicas_path(), json!(api_floor(svc)));
    }
    if !entry.api.is_empty() {
        values::set(v, "pod.resources.enabled", json!(true));
    }
    if entry.anti_affinity {
        values::merge(v, &anti_affinity(AntiAffinity::Preferred));
    }
}

/// Layer 4 of a service's values: the environment's `values`, then every path filled from
/// a Secret taken out (a literal there is refused). The environment may wire more paths
/// from Secrets; where it names a catalogued path, its Secret wins. Returns the paths
/// filled from Secrets.
fn environment_layer(
    cx: &mut Cx,
    name: &str,
    svc_at: &Loc,
    v: &mut Map<String, Value>,
    rec: &mut Recorder,
) -> Vec<catalog::SecretRef> {
    let entry = &cx.catalog.services[name];
    let svc = cx.model.env.services.get(name);
    let declared: &[catalog::SecretRef] = svc.map_or(&[], |s| &s.secrets);
    let secret_refs: Vec<catalog::SecretRef> = entry
        .secrets
        .iter()
        .filter(|c| !declared.iter().any(|d| d.path == c.path))
        .chain(declared)
        .cloned()
        .collect();
    if let Some(s) = svc {
        for sref in &secret_refs {
            if let Some(lit) = values::get(&s.values, &sref.path).filter(|v| !v.is_null()) {
                let ptr = format!(
                    "{}/values/{}",
                    svc_at.ptr,
                    sref.path
                        .split('.')
                        .map(crate::yaml::escape_ptr)
                        .collect::<Vec<_>>()
                        .join("/")
                );
                let kind = if lit.is_string() {
                    "a literal string"
                } else {
                    "a literal value"
                };
                let d = Diagnostic::error(
                    SECRET_LITERAL,
                    format!(
                        "`{}` of {name} takes a secret, but the environment gives it {kind}",
                        sref.path
                    ),
                )
                .at(cx.label(&cx.env_at(&ptr), "secret written in the input"))
                .help(format!(
                    "remove it: gcc fills it from Secret `{}/{}` key `{}` through valuesFrom",
                    OPENSTACK_NAMESPACE, sref.secret, sref.key
                ));
                cx.diags.push(d);
            }
        }
        rec.wrote(&s.values, || {
            Origin::new(
                Layer::Environment,
                format!("environment: services.{name}.values"),
            )
            .input(svc_at.child("values"), true)
        });
        values::merge(v, &s.values);
    }
    let mark = rec.mark(v);
    for sref in &secret_refs {
        values::remove(v, &sref.path);
    }
    rec.since(mark, v, || {
        Origin::new(
            Layer::Catalog,
            format!("catalog: {name}'s values filled from Secrets (taken out of the values)"),
        )
        .catalog(SERVICES_FILE, service_ptr(name, "secrets"), false)
    });
    secret_refs
}

/// The HPAs (and PDBs) of a service's scaling Deployments in `base`.
fn autoscalers(entry: &catalog::ServiceEntry, svc: Option<&Service>) -> Vec<Autoscaler> {
    let min = api_floor(svc);
    let max = svc
        .and_then(|s| s.autoscale)
        .and_then(|a| a.max)
        .unwrap_or(HPA_MAX)
        .max(min);
    entry
        .api
        .iter()
        .map(|a| Autoscaler {
            deployment: a.deployment.clone(),
            component: a.component.clone(),
            pdb: a.chart_pdb != Some(catalog::ChartPdb::Kept),
            min,
            max,
        })
        .collect()
}

/// The releases a service waits for: its infrastructure, then the services the catalog
/// installs first (keystone); a service installed last (skyline) waits for every other one.
fn install_after(
    cx: &Cx,
    name: &str,
    services: &BTreeMap<String, Reason>,
    infra: &BTreeSet<String>,
) -> Vec<String> {
    let entry = &cx.catalog.services[name];
    let mut depends_on: Vec<String> = entry
        .infra
        .iter()
        .filter(|i| infra.contains(*i))
        .cloned()
        .collect();
    for other in services.keys().filter(|s| *s != name) {
        let waits = entry.order == Some(Order::Last)
            || cx.catalog.services[other].order == Some(Order::First);
        if waits {
            depends_on.push(other.clone());
        }
    }
    depends_on.sort();
    depends_on.dedup();
    depends_on
}

/// The images a service's final values run: every string under `images.tags`, each
/// marked with where it comes from (the environment where it is no catalog choice).
fn planned_images(
    values: &Map<String, Value>,
    choices: &[catalog::ImageChoice],
) -> Vec<PlannedImage> {
    let set: BTreeSet<&str> = values::get(values, "images.tags")
        .and_then(Value::as_object)
        .into_iter()
        .flat_map(|tags| tags.values())
        .filter_map(Value::as_str)
        .collect();
    set.into_iter()
        .map(|image| PlannedImage {
            image: image.to_string(),
            from: match choices.iter().find(|c| c.image == image) {
                Some(c) if c.by_convention => ImageFrom::Convention,
                Some(_) => ImageFrom::Catalog,
                None => ImageFrom::Environment,
            },
        })
        .collect()
}

/// A repository name for a user-supplied chart URL: its last path segment or host.
fn repo_name_for(url: &str) -> String {
    let trimmed = url
        .trim_end_matches('/')
        .rsplit('/')
        .next()
        .unwrap_or("charts");
    let name: String = trimmed
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '-'
            }
        })
        .collect();
    let name = name.trim_matches('-').to_string();
    if name.is_empty() {
        "charts".into()
    } else {
        name
    }
}

/// What a chart needs to reach kube-ovn's OVN databases: the `[ovn]` options (connections to
/// every OVN central member, so the client finds the raft leader itself; TLS as kube-ovn
/// serves it) written into the catalog's sections, the TLS Secret mounted where they point,
/// and, for charts whose containers read a generated `ovn.ini` last, a ConfigMap with the
/// same section mounted over it.
fn ovn_client(cx: &Cx, want: &catalog::OvnClient) -> (Map<String, Value>, Option<OvnIniPlan>) {
    let ssl = cx
        .catalog
        .components
        .get("kube-ovn")
        .and_then(|c| values::get(&c.values, "networking.ENABLE_SSL"))
        == Some(&Value::Bool(true));
    let scheme = if ssl { "ssl" } else { "tcp" };
    let remotes = |port: u16| {
        ovn_central(&cx.model.inventory)
            .iter()
            .map(|a| match a {
                std::net::IpAddr::V4(a) => format!("{scheme}:{a}:{port}"),
                std::net::IpAddr::V6(a) => format!("{scheme}:[{a}]:{port}"),
            })
            .collect::<Vec<_>>()
            .join(",")
    };
    let mut section: BTreeMap<String, String> = BTreeMap::new();
    section.insert("ovn_nb_connection".into(), remotes(6641));
    section.insert("ovn_sb_connection".into(), remotes(6642));
    if ssl {
        for db in ["nb", "sb"] {
            for (opt, file) in [
                ("private_key", "key"),
                ("certificate", "cert"),
                ("ca_cert", "cacert"),
            ] {
                section.insert(format!("ovn_{db}_{opt}"), format!("{}/{file}", want.certs));
            }
        }
    }
    let mut v = Map::new();
    for path in &want.sections {
        for (k, val) in &section {
            values::set(&mut v, &format!("{path}.{k}"), json!(val));
        }
    }
    let ini = want.ini.as_ref().map(|ini| {
        let text: String = std::iter::once("[ovn]\n".to_string())
            .chain(section.iter().map(|(k, val)| format!("{k} = {val}\n")))
            .collect();
        let name = format!("{}-{}", ini.config_map, content_suffix(&json!(text)));
        OvnIniPlan { name, text }
    });
    // Volumes and mounts per `pod.mounts.<component>.<container>` entry.
    let mut mounts: BTreeMap<&str, (Vec<Value>, Vec<Value>)> = BTreeMap::new();
    if ssl {
        for m in &want.mounts {
            let e = mounts.entry(m.as_str()).or_default();
            e.0.push(json!({ "name": "ovn-tls", "secret": { "secretName": want.tls_secret } }));
            e.1.push(json!({ "name": "ovn-tls", "mountPath": want.certs, "readOnly": true }));
        }
    }
    if let Some(dir) = &want.run_dir {
        for m in &want.mounts {
            let e = mounts.entry(m.as_str()).or_default();
            e.0.push(json!({ "name": "ovn-run", "emptyDir": {} }));
            e.1.push(json!({ "name": "ovn-run", "mountPath": dir }));
        }
    }
    if let (Some(want_ini), Some(plan_ini)) = (&want.ini, &ini) {
        for m in &want_ini.mounts {
            let e = mounts.entry(m.as_str()).or_default();
            e.0.push(json!({ "name": "ovn-ini", "configMap": { "name": plan_ini.name } }));
            e.1.push(json!({
                "name": "ovn-ini",
                "mountPath": want_ini.path,
                "subPath": "ovn.ini",
                "readOnly": true,
            }));
        }
    }
    for (path, (volumes, volume_mounts)) in mounts {
        values::set(&mut v, &format!("{path}.volumes"), json!(volumes));
        values::set(
            &mut v,
            &format!("{path}.volumeMounts"),
            json!(volume_mounts),
        );
    }
    (v, ini)
}

/// The fewest replicas of a service's scaling Deployments in `base`: the environment's
/// `autoscale.min`, else its `replicas`, never under [`Profile::BASE_MIN_REPLICAS`].
fn api_floor(svc: Option<&crate::model::Service>) -> u64 {
    let floor = svc
        .and_then(|s| s.replicas)
        .unwrap_or(Profile::BASE_MIN_REPLICAS)
        .max(Profile::BASE_MIN_REPLICAS);
    svc.and_then(|s| s.autoscale)
        .and_then(|a| a.min)
        .unwrap_or(floor)
        .max(Profile::BASE_MIN_REPLICAS)
}

/// The MariaDB Service OpenStack connects to: the primary's when replicated, else the
/// cluster's own (mariadb-operator creates `<name>-primary` only in HA mode).
fn mariadb_service(profile: Profile) -> String {
    if profile.replicated_mariadb() {
        format!("{MARIADB_CLUSTER}-primary")
    } else {
        MARIADB_CLUSTER.to_string()
    }
}

/// The oslo.messaging options Genestack gives every service on RabbitMQ (quorum queues).
fn oslo_messaging_rabbit() -> Value {
    json!({
        "amqp_durable_queues": false,
        "heartbeat_rate": 3,
        "heartbeat_timeout_threshold": 60,
        "kombu_reconnect_delay": 0.5,
        "rabbit_ha_queues": false,
        "rabbit_interval_max": 10,
        "rabbit_quorum_queue": true,
        "rabbit_transient_quorum_queue": false,
        "use_queue_manager": false,
    })
}
