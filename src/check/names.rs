//! Names: every named item is a valid DNS-1123 label and unique among its kind.

use std::collections::BTreeMap;

use super::Ctx;
use crate::diag::{Diagnostic, Label};
use crate::model::{Environment, Inventory, Loc};

/// Code: a name that is not a DNS-1123 label.
pub(crate) const INVALID_NAME: &str = "gcc::inventory::invalid_name";
/// Code: two items of one kind share a name.
pub(crate) const DUPLICATE_NAME: &str = "gcc::inventory::duplicate_name";
/// Code: a name that, as a file name in the output, would leave the output directory.
pub(crate) const PATH_ESCAPE: &str = "gcc::inventory::path_escape";
/// Code: a storage class name that Kubernetes would refuse.
pub(crate) const INVALID_CLASS_NAME: &str = "gcc::env::invalid_name";

/// True for a DNS-1123 label: `[a-z0-9]([-a-z0-9]*[a-z0-9])?`, at most 63 characters.
pub(crate) fn is_dns_label(s: &str) -> bool {
    let b = s.as_bytes();
    !b.is_empty()
        && b.len() <= 63
        && b.iter()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == b'-')
        && b[0] != b'-'
        && b[b.len() - 1] != b'-'
}

/// True for a DNS-1123 subdomain: dot-separated labels, at most 253 characters.
pub(crate) fn is_dns_subdomain(s: &str) -> bool {
    s.len() <= 253 && s.split('.').all(is_dns_label)
}

/// True for a name that is a path: it holds a separator, a NUL or a `..`, or is `.`.
pub(crate) fn is_path_like(s: &str) -> bool {
    s.contains(['/', '\\', '\0']) || s.contains("..") || s == "."
}

/// The refusal of a name that is a path.
fn path_escape(kind: &str, name: &str, at: Label) -> Diagnostic {
    Diagnostic::error(
        PATH_ESCAPE,
        format!(
            "{kind} name `{name}` is a path: as a file name it would leave the output directory"
        ),
    )
    .at(at)
    .help("names become file and object names in the output; use lowercase letters, digits and '-'")
}

/// A suggestion that fixes the common mistakes (case, `_`, spaces).
pub(super) fn suggest(s: &str) -> String {
    let mut out: String = s
        .to_ascii_lowercase()
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect();
    out = out.trim_matches('-').to_string();
    out.truncate(63);
    out.trim_end_matches('-').to_string()
}

pub(super) fn check<'a>(cx: &mut Ctx, inv: &'a Inventory, env: &Environment) {
    // Each scope of uniqueness, with the noun of each item: nodes and machines share one
    // (both are DHCP host names).
    let named = |noun: &'static str, items: Vec<(&'a str, Loc)>| {
        items
            .into_iter()
            .map(move |(name, at)| (noun, name, at))
            .collect::<Vec<_>>()
    };
    let mut scopes: Vec<Vec<(&str, &str, Loc)>> = vec![
        named(
            "hardware",
            inv.hardware
                .iter()
                .map(|h| (h.name.as_str(), h.at.child("name")))
                .collect(),
        ),
        named(
            "hypervisor",
            inv.hypervisors
                .iter()
                .map(|h| (h.name.as_str(), h.at.child("name")))
                .collect(),
        ),
        inv.hosts()
            .map(|h| (h.noun, h.name, h.at.child("name")))
            .collect(),
        named(
            "NAS",
            inv.nas
                .iter()
                .map(|n| (n.name.as_str(), n.at.child("name")))
                .collect(),
        ),
        named(
            "subnet",
            inv.subnets
                .iter()
                .map(|s| (s.name.as_str(), s.at.child("name")))
                .collect(),
        ),
        named(
            "address pool",
            inv.subnets
                .iter()
                .flat_map(|s| s.dhcp_pools.iter().chain(&s.vip_pools))
                .filter_map(|p| Some((p.name.as_deref()?, p.at.child("name"))))
                .collect(),
        ),
    ];
    for nas in &inv.nas {
        scopes.push(named(
            "export",
            nas.exports
                .iter()
                .map(|e| (e.name.as_str(), e.at.child("name")))
                .collect(),
        ));
    }
    for items in &scopes {
        let mut seen: BTreeMap<&str, (&str, &Loc)> = BTreeMap::new();
        for (kind, name, at) in items {
            if is_path_like(name) {
                let label = cx.label(at, "path, not a name");
                cx.push(path_escape(kind, name, label));
            } else if !is_dns_label(name) {
                let d = Diagnostic::error(
                    INVALID_NAME,
                    format!("{kind} name `{name}` is not a DNS-1123 label"),
                )
                .at(cx.label(at, "invalid name"))
                .help(format!(
                    "use lowercase letters, digits and '-' (at most 63), e.g. `{}`",
                    suggest(name)
                ));
                cx.push(d);
            }
            match seen.get(name) {
                Some((first_kind, first)) => {
                    let (message, help) = if first_kind == kind {
                        (
                            format!("{kind} `{name}` is defined more than once"),
                            format!("{kind} names must be unique; rename or remove one"),
                        )
                    } else {
                        (
                            format!("{kind} `{name}` has the name of {first_kind} `{name}`"),
                            "nodes and machines share one set of names (their DHCP host names); rename one".to_string(),
                        )
                    };
                    let d = Diagnostic::error(DUPLICATE_NAME, message)
                        .at(cx.label(at, "defined again here"))
                        .also(cx.label(first, "first defined here"))
                        .help(help);
                    cx.push(d);
                }
                None => {
                    seen.insert(name, (kind, at));
                }
            }
        }
    }
    for (class, sc) in &env.storage {
        let Some(at) = &sc.at else { continue };
        if is_path_like(class) {
            let label = cx.key_label(at, "path, not a name");
            cx.push(path_escape("storage class", class, label));
        } else if !is_dns_subdomain(class) {
            let d = Diagnostic::error(
                INVALID_CLASS_NAME,
                format!("storage class name `{class}` is not a valid Kubernetes name"),
            )
            .at(cx.key_label(at, "invalid name"))
            .help(format!(
                "use lowercase letters, digits, '-' and '.', e.g. `{}`",
                suggest(class)
            ));
            cx.push(d);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dns_labels() {
        for ok in ["a", "hw-01", "k8s-ctl-01", "0a"] {
            assert!(is_dns_label(ok), "{ok}");
        }
        for bad in ["", "-a", "a-", "A", "a_b", "a.b", &"a".repeat(64)] {
            assert!(!is_dns_label(bad), "{bad}");
        }
        assert!(is_dns_subdomain("general-multi-attach"));
        assert_eq!(suggest("HW_01 "), "hw-01");
    }
}
