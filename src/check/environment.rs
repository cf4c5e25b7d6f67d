//! Environment: services from the catalog, sane autoscale bounds, storage classes whose
//! fields fit their provider.

use super::Ctx;
use crate::catalog::{Catalog, is_service};
use crate::diag::{Diagnostic, did_you_mean};
use crate::model::{Environment, Provider};

/// Code: a service the catalog does not have.
pub const UNKNOWN_SERVICE: &str = "gcc::env::unknown_service";
/// Code: `autoscale.min` above `autoscale.max`.
pub const AUTOSCALE_RANGE: &str = "gcc::env::autoscale_range";
/// Code: an nfs storage class without `export`.
pub const MISSING_EXPORT: &str = "gcc::env::missing_export";
/// Code: a storage field that its provider does not take (`export` on longhorn).
pub const STORAGE_FIELD: &str = "gcc::env::storage_field";
/// Code: more than one storage class marked `default: true`.
pub const MULTIPLE_DEFAULTS: &str = "gcc::env::multiple_default_storage";

pub(super) fn check(cx: &mut Ctx, env: &Environment) {
    for (name, svc) in &env.services {
        let Some(at) = &svc.at else { continue };
        if !is_service(name) {
            let help = did_you_mean(name, Catalog::get().services.keys(), "services");
            let d = Diagnostic::error(
                UNKNOWN_SERVICE,
                format!("`{name}` is not a service in the catalog"),
            )
            .at(cx.key_label(at, "unknown service"))
            .help(help);
            cx.push(d);
        }
        if let Some(a) = &svc.autoscale
            && let (Some(min), Some(max)) = (a.min, a.max)
            && min > max
        {
            let scale = at.child("autoscale");
            let d = Diagnostic::error(
                AUTOSCALE_RANGE,
                format!("`{name}` autoscale min {min} is above max {max}"),
            )
            .at(cx.label(&scale.child("min"), "min"))
            .also(cx.label(&scale.child("max"), "max"))
            .help("min must not exceed max");
            cx.push(d);
        }
    }
    let mut first_default = None;
    for (class, sc) in &env.storage {
        let Some(at) = &sc.at else { continue };
        let provider = sc.provider.as_str();
        if sc.provider == Provider::Nfs && sc.export.is_none() {
            let d = Diagnostic::error(
                MISSING_EXPORT,
                format!("nfs storage class `{class}` has no `export`"),
            )
            .at(cx.key_label(at, "nfs class"))
            .help("add `export: <nas>/<export>` naming an export of the inventory");
            cx.push(d);
        }
        let misplaced = [
            (
                "export",
                sc.export.is_some() && sc.provider != Provider::Nfs,
                "nfs",
            ),
            (
                "replicas",
                sc.replicas.is_some() && sc.provider != Provider::Longhorn,
                "longhorn",
            ),
        ];
        for (field, bad, owner) in misplaced {
            if bad {
                let d = Diagnostic::error(
                    STORAGE_FIELD,
                    format!("`{field}` does not apply to {provider} storage class `{class}`"),
                )
                .at(cx.key_label(&at.child(field), "not for this provider"))
                .help(format!(
                    "`{field}` is only for provider {owner}; remove it or change the provider"
                ));
                cx.push(d);
            }
        }
        if sc.default == Some(true) {
            match &first_default {
                None => first_default = Some(at.clone()),
                Some(first) => {
                    let d = Diagnostic::error(
                        MULTIPLE_DEFAULTS,
                        format!(
                            "storage class `{class}` is marked default, but another one already is"
                        ),
                    )
                    .at(cx.key_label(&at.child("default"), "second default"))
                    .also(cx.key_label(&first.child("default"), "first default"))
                    .help("a cluster has one default storage class; keep `default: true` on one");
                    cx.push(d);
                }
            }
        }
    }
}
