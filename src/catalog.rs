//! The service catalog: which components gcc knows how to deploy.
//!
//! Facts come from `../shared/reference/genestack-catalog.yaml` (Genestack's seed table);
//! nothing here is invented. The check stage uses the names; the plan stage will use
//! the rest of each entry.

/// The OpenStack services an environment may enable under `services:`.
pub const OPENSTACK_SERVICES: [&str; 21] = [
    "barbican",
    "blazar",
    "ceilometer",
    "cinder",
    "cloudkitty",
    "designate",
    "freezer",
    "glance",
    "gnocchi",
    "heat",
    "horizon",
    "ironic",
    "keystone",
    "magnum",
    "masakari",
    "neutron",
    "nova",
    "octavia",
    "placement",
    "skyline",
    "zaqar",
];

/// True when `name` is a service an environment may enable.
pub fn is_service(name: &str) -> bool {
    OPENSTACK_SERVICES.binary_search(&name).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn service_list_is_sorted_and_unique() {
        assert!(OPENSTACK_SERVICES.windows(2).all(|w| w[0] < w[1]));
        assert!(is_service("nova"));
        assert!(!is_service("novaa"));
    }
}
