//! The rehearsal's check of the provider networks: every external network a rendered
//! bootstrap script creates sits on a physical network that some node of the tree bridges
//! (its `ovn.openstack.org/mappings` annotation) and that the rendered ML2 configuration
//! allows as flat; else Neutron refuses the network, or its ports reach no wire.

use std::collections::BTreeSet;

use serde_json::Value;

use super::checks::{object_label, owner_name};
use super::objects::Owner;
use super::{Object, PROVIDER_UNBRIDGED, Release, Tree};
use crate::diag::Diagnostic;

/// The text values of a ConfigMap's or Secret's data (Secrets decoded).
fn data_texts(o: &Object) -> Vec<String> {
    use base64::Engine;
    let mut out = Vec::new();
    for (field, encoded) in [("data", o.key.kind == "Secret"), ("stringData", false)] {
        let Some(m) = o.body.get(field).and_then(Value::as_object) else {
            continue;
        };
        for v in m.values().filter_map(Value::as_str) {
            if encoded {
                if let Ok(b) = base64::engine::general_purpose::STANDARD.decode(v) {
                    out.push(String::from_utf8_lossy(&b).into_owned());
                }
            } else {
                out.push(v.to_string());
            }
        }
    }
    out
}

/// The value after `flag` on a command line.
fn after<'a>(line: &'a str, flag: &str) -> Option<&'a str> {
    let mut words = line.split_whitespace();
    words.find(|w| *w == flag)?;
    words.next()
}

pub(super) fn networks(
    tree: &Tree,
    releases: &[Release],
    objects: &[Object],
    diags: &mut Vec<Diagnostic>,
) {
    let bridged: BTreeSet<String> = objects
        .iter()
        .filter(|o| o.owner == Owner::Gcc && o.key.kind == "Node")
        .filter_map(|n| {
            n.body
                .pointer("/metadata/annotations/ovn.openstack.org~1mappings")
                .and_then(Value::as_str)
        })
        .flat_map(|m| {
            m.split(',')
                .filter_map(|p| p.split_once(':'))
                .map(|(n, _)| n.to_string())
        })
        .collect();
    let rendered = |o: &&Object| {
        matches!(o.owner, Owner::Release(_))
            && matches!(o.key.kind.as_str(), "ConfigMap" | "Secret")
    };
    let flat: BTreeSet<String> = objects
        .iter()
        .filter(rendered)
        .flat_map(data_texts)
        .flat_map(|t| {
            t.lines()
                .filter_map(|l| {
                    let (k, v) = l.split_once('=')?;
                    (k.trim() == "flat_networks").then(|| v.trim().to_string())
                })
                .collect::<Vec<_>>()
        })
        .flat_map(|v| {
            v.split(',')
                .map(|s| s.trim().to_string())
                .collect::<Vec<_>>()
        })
        .collect();
    for o in objects.iter().filter(rendered) {
        for text in data_texts(o) {
            for line in text
                .lines()
                .filter(|l| l.contains("openstack network create"))
            {
                let Some(physnet) = after(line, "--provider-physical-network") else {
                    continue;
                };
                let network = line
                    .split("openstack network create")
                    .nth(1)
                    .and_then(|r| r.split_whitespace().next())
                    .unwrap_or("?");
                let mut wrong = Vec::new();
                if !bridged.contains(physnet) {
                    wrong.push(format!("no node bridges {physnet}"));
                }
                if after(line, "--provider-network-type") == Some("flat") && !flat.contains(physnet)
                {
                    wrong.push(format!("the rendered ML2 flat_networks lack {physnet}"));
                }
                if wrong.is_empty() {
                    continue;
                }
                let mut d = Diagnostic::error(
                    PROVIDER_UNBRIDGED,
                    format!(
                        "{} ({}) creates external network {network} on {physnet}, but {}",
                        o.key,
                        owner_name(releases, o),
                        wrong.join(" and ")
                    ),
                )
                .help("a provider subnet needs nodes with an interface on it and a `bridge` (its physnet is the node annotation's), and the chart's flat_networks (catalog `physnets`)");
                if let Some(l) = object_label(tree, releases, o, "rendered from here".into()) {
                    d = d.at(l);
                }
                diags.push(d);
            }
        }
    }
}
