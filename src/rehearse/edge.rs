//! The rehearsal's checks of the public edge: every route of gcc's reaches a Service some
//! release renders, on a port it exposes, through a listener of a Gateway of the tree; and
//! every public URL the charts hand Keystone (the catalog users follow) is served by that
//! Gateway: https, on one of its listeners' host names.

use std::collections::BTreeSet;

use serde_json::Value;

use super::objects::Owner;
use super::{Object, PRIVATE_ENDPOINT, ROUTE_NOWHERE, Release, Tree};
use crate::diag::Diagnostic;

use super::checks::{object_label, owner_name};

/// The HTTPS listeners (host names) of the tree's Gateways.
fn listeners(objects: &[Object]) -> BTreeSet<(String, String, String)> {
    objects
        .iter()
        .filter(|o| o.owner == Owner::Gcc && o.key.kind == "Gateway")
        .flat_map(|g| {
            g.body
                .pointer("/spec/listeners")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .map(|l| {
                    let s = |k: &str| l.get(k).and_then(Value::as_str).unwrap_or("").to_string();
                    (
                        format!("{}/{}", g.key.namespace, g.key.name),
                        s("name"),
                        s("hostname"),
                    )
                })
        })
        .collect()
}

/// Each HTTPRoute of gcc's: its parents are listeners of the tree's Gateways for its host
/// names, and each backend a Service that is rendered, on a port it has.
pub(super) fn routes(
    tree: &Tree,
    releases: &[Release],
    objects: &[Object],
    diags: &mut Vec<Diagnostic>,
) {
    let listeners = listeners(objects);
    for route in objects
        .iter()
        .filter(|o| o.owner == Owner::Gcc && o.key.kind == "HTTPRoute")
    {
        let mut wrong = Vec::new();
        let hosts: Vec<&str> = route
            .body
            .pointer("/spec/hostnames")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .collect();
        for p in array(&route.body, "/spec/parentRefs") {
            let s = |k: &str| p.get(k).and_then(Value::as_str).unwrap_or("");
            let ns = match s("namespace") {
                "" => route.key.namespace.as_str(),
                ns => ns,
            };
            let gateway = format!("{ns}/{}", s("name"));
            let section = s("sectionName");
            let served = hosts.iter().all(|h| {
                listeners
                    .iter()
                    .any(|(g, l, host)| *g == gateway && l == section && host == h)
            });
            if !served {
                wrong.push(format!(
                    "no listener `{section}` of Gateway {gateway} serves {}",
                    hosts.join(", ")
                ));
            }
        }
        for b in route
            .body
            .pointer("/spec/rules")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .flat_map(|r| array(r, "/backendRefs"))
        {
            let name = b.get("name").and_then(Value::as_str).unwrap_or("");
            let port = b.get("port").and_then(Value::as_u64);
            let ns = b
                .get("namespace")
                .and_then(Value::as_str)
                .unwrap_or(&route.key.namespace);
            let service = objects
                .iter()
                .find(|o| o.key.kind == "Service" && o.key.namespace == ns && o.key.name == name);
            match service {
                None => wrong.push(format!("no release renders Service {ns}/{name}")),
                Some(svc) => {
                    let ports: Vec<u64> = array(&svc.body, "/spec/ports")
                        .filter_map(|p| p.get("port").and_then(Value::as_u64))
                        .collect();
                    if !port.is_some_and(|p| ports.contains(&p)) {
                        wrong.push(format!(
                            "Service {ns}/{name} ({}) has no port {} (it has {})",
                            owner_name(releases, svc),
                            port.map_or("(none)".to_string(), |p| p.to_string()),
                            ports
                                .iter()
                                .map(u64::to_string)
                                .collect::<Vec<_>>()
                                .join(", ")
                        ));
                    }
                }
            }
        }
        if wrong.is_empty() {
            continue;
        }
        let mut d = Diagnostic::error(
            ROUTE_NOWHERE,
            format!("{} leads nowhere: {}", route.key, wrong.join("; ")),
        )
        .help("take the backend's name and port from the chart's Service (catalog/services.yaml `public`)");
        if let Some(l) = object_label(tree, releases, route, "this route".into()) {
            d = d.at(l);
        }
        diags.push(d);
    }
}

/// The public URLs the rendered Jobs give Keystone: helm-toolkit's ks-endpoints
/// containers (`OS_SVC_ENDPOINT=public`, the URL in `OS_SERVICE_ENDPOINT`) and Keystone's
/// own bootstrap (`OS_BOOTSTRAP_PUBLIC_URL`). With a Gateway in the tree, each must be
/// https on a host name one of its listeners serves, else the catalog sends users where
/// they cannot go.
pub(super) fn public_urls(
    tree: &Tree,
    releases: &[Release],
    objects: &[Object],
    diags: &mut Vec<Diagnostic>,
) {
    let listeners = listeners(objects);
    if listeners.is_empty() {
        return; // no domain: nothing is published, by the plan's warning
    }
    let hosts: BTreeSet<&str> = listeners.iter().map(|(_, _, h)| h.as_str()).collect();
    for o in objects
        .iter()
        .filter(|o| matches!(o.owner, Owner::Release(_)))
    {
        let mut urls = Vec::new();
        public_env(&o.body, &mut urls);
        let bad: BTreeSet<String> = urls.into_iter().filter(|u| !through(u, &hosts)).collect();
        if bad.is_empty() {
            continue;
        }
        let mut d = Diagnostic::error(
            PRIVATE_ENDPOINT,
            format!(
                "{} ({}) registers public endpoint {} in Keystone, which the Gateway does not serve",
                o.key,
                owner_name(releases, o),
                bad.into_iter().collect::<Vec<_>>().join(", ")
            ),
        )
        .help("the chart's endpoints.<type> needs host_fqdn_override.public, scheme.public https and port.<name>.public 443 (catalog/services.yaml `public`)");
        if let Some(l) = object_label(tree, releases, o, "rendered from here".into()) {
            d = d.at(l);
        }
        diags.push(d);
    }
}

/// True when `url` is `https://<host>[:443]/...` for one of `hosts`.
fn through(url: &str, hosts: &BTreeSet<&str>) -> bool {
    let Some(rest) = url.strip_prefix("https://") else {
        return false;
    };
    let authority = rest.split('/').next().unwrap_or("");
    let host = authority.strip_suffix(":443").unwrap_or(authority);
    hosts.contains(host)
}

/// Every public URL in the env lists of `v`'s containers.
fn public_env(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::Object(m) => {
            if let Some(Value::Array(env)) = m.get("env") {
                let var = |name: &str| {
                    env.iter()
                        .find(|e| e.get("name").and_then(Value::as_str) == Some(name))
                        .and_then(|e| e.get("value"))
                        .and_then(Value::as_str)
                };
                if var("OS_SVC_ENDPOINT") == Some("public")
                    && let Some(u) = var("OS_SERVICE_ENDPOINT")
                {
                    out.push(u.to_string());
                }
                if let Some(u) = var("OS_BOOTSTRAP_PUBLIC_URL") {
                    out.push(u.to_string());
                }
            }
            m.values().for_each(|v| public_env(v, out));
        }
        Value::Array(a) => a.iter().for_each(|v| public_env(v, out)),
        _ => {}
    }
}

fn array<'a>(v: &'a Value, ptr: &str) -> impl Iterator<Item = &'a Value> {
    v.pointer(ptr)
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_url_goes_through_the_gateway_only_by_https_to_a_listener() {
        let hosts: BTreeSet<&str> = ["keystone.example.net"].into();
        assert!(through("https://keystone.example.net/v3", &hosts));
        assert!(through("https://keystone.example.net:443/v3", &hosts));
        assert!(through("https://keystone.example.net", &hosts));
        assert!(!through("http://keystone.example.net/v3", &hosts));
        assert!(!through("https://keystone.example.net:5000/v3", &hosts));
        assert!(!through(
            "https://keystone.openstack.svc.cluster.local/v3",
            &hosts
        ));
    }

    #[test]
    fn public_urls_are_found_in_ks_endpoints_and_bootstrap_containers() {
        let job = serde_json::json!({ "spec": { "template": { "spec": { "containers": [
            { "env": [
                { "name": "OS_SVC_ENDPOINT", "value": "public" },
                { "name": "OS_SERVICE_ENDPOINT", "value": "http://a/v1" },
            ]},
            { "env": [
                { "name": "OS_SVC_ENDPOINT", "value": "internal" },
                { "name": "OS_SERVICE_ENDPOINT", "value": "http://b/v1" },
            ]},
            { "env": [{ "name": "OS_BOOTSTRAP_PUBLIC_URL", "value": "https://c/v3" }] },
        ]}}}});
        let mut urls = Vec::new();
        public_env(&job, &mut urls);
        assert_eq!(urls, ["http://a/v1", "https://c/v3"]);
    }
}
