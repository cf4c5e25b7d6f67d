//! Environment: services from the catalog, sane autoscale bounds, storage classes whose
//! fields fit their provider.

use serde_json::Value;

use super::Ctx;
use crate::catalog::{Catalog, is_service};
use crate::diag::{Diagnostic, did_you_mean};
use crate::model::{Environment, Loc, Profile, Provider, Service};

/// Code: a service the catalog does not have.
pub(crate) const UNKNOWN_SERVICE: &str = "gcc::env::unknown_service";
/// Code: `autoscale.min` above `autoscale.max`.
pub(crate) const AUTOSCALE_RANGE: &str = "gcc::env::autoscale_range";
/// Code: an nfs storage class without `export`.
pub(crate) const MISSING_EXPORT: &str = "gcc::env::missing_export";
/// Code: a storage field that its provider does not take (`export` on longhorn).
pub(crate) const STORAGE_FIELD: &str = "gcc::env::storage_field";
/// Code: more than one storage class marked `default: true`.
pub(crate) const MULTIPLE_DEFAULTS: &str = "gcc::env::multiple_default_storage";
/// Code (warning): in `base`, `replicas` or `autoscale` below the two replicas HA needs;
/// gcc raises them.
pub(crate) const BELOW_HA: &str = "gcc::env::below_ha";
/// Code: a public host name (`services.<name>.public`) that is not a DNS name.
pub(crate) const INVALID_HOST: &str = "gcc::env::invalid_host";
/// Code: `values` hold a literal under a key named like a password, token or key.
pub(crate) const PLAINTEXT_SECRET: &str = "gcc::env::plaintext_secret";

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
        if env.profile == Profile::Base {
            below_ha(cx, name, svc, at);
        }
        plaintext_secrets(cx, name, svc, at);
        for (endpoint, host) in &svc.public {
            if !(host.contains('.') && super::names::is_dns_subdomain(host)) {
                let d = Diagnostic::error(
                    INVALID_HOST,
                    format!("`{host}` is not a DNS name for {name}'s {endpoint} endpoint"),
                )
                .at(cx.label(&at.child("public").child(endpoint.as_str()), "not a host name"))
                .help("write a fully qualified lowercase name such as identity.example.net (no scheme, port or path)");
                cx.push(d);
            }
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

/// Warns where `base` overrides what the environment asked for: API replicas and HPA
/// bounds below [`Profile::BASE_MIN_REPLICAS`] would not survive the loss of a machine, so the plan raises
/// them to it.
fn below_ha(cx: &mut Ctx, name: &str, svc: &Service, at: &Loc) {
    let scale = svc.autoscale.as_ref();
    let asked = [
        ("replicas", at.child("replicas"), svc.replicas),
        (
            "autoscale min",
            at.child("autoscale").child("min"),
            scale.and_then(|a| a.min),
        ),
        (
            "autoscale max",
            at.child("autoscale").child("max"),
            scale.and_then(|a| a.max),
        ),
    ];
    let floor = Profile::BASE_MIN_REPLICAS;
    for (what, loc, value) in asked {
        if let Some(n) = value.filter(|n| *n < floor) {
            let d = Diagnostic::warning(
                BELOW_HA,
                format!(
                    "`{name}` {what} {n} is below the {floor} replicas `base` needs to survive \
                     the loss of a machine; gcc uses {floor}"
                ),
            )
            .at(cx.label(&loc, format!("raised to {floor}")))
            .help(format!(
                "set it to {floor} or more, or use profile aio for a single-node cloud"
            ));
            cx.push(d);
        }
    }
}

/// Refuses literals under secret-looking keys of a service's `values`. Paths that the
/// catalog or the environment already wire from Secrets are left to the plan stage,
/// which names the Secret that fills them.
fn plaintext_secrets(cx: &mut Ctx, name: &str, svc: &Service, at: &Loc) {
    let wired: Vec<&str> = Catalog::get()
        .services
        .get(name)
        .map(|e| e.secrets.iter().map(|s| s.path.as_str()).collect())
        .unwrap_or_default();
    let mut found = Vec::new();
    let mut path = Vec::new();
    for (k, v) in &svc.values {
        walk(k, v, &mut path, &mut found);
    }
    for keys in found {
        let dotted = keys.join(".");
        if wired.contains(&dotted.as_str()) || svc.secrets.iter().any(|s| s.path == dotted) {
            continue;
        }
        let loc = keys.iter().fold(at.child("values"), |loc, k| loc.child(k));
        let leaf = keys.last().map_or("", String::as_str);
        let secret = format!("{name}-{}", leaf.replace('_', "-").to_ascii_lowercase());
        let d = Diagnostic::error(
            PLAINTEXT_SECRET,
            format!("`{dotted}` of {name} looks like a secret, but it is written in plain text"),
        )
        .at(cx.label(&loc, "plaintext secret"))
        .help(format!(
            "secrets never go in the repository: put the value in a Secret in namespace \
             openstack, remove it from `values`, and reference it under `services.{name}.secrets` \
             as `- {{ path: {dotted}, secret: {secret}, key: {leaf} }}`; gcc fills it through \
             valuesFrom (Flux) or an argocd-vault-plugin placeholder (Argo CD)"
        ));
        cx.push(d);
    }
}

/// Collects the key paths of literal scalars under secret-looking keys.
fn walk(key: &str, v: &Value, path: &mut Vec<String>, found: &mut Vec<Vec<String>>) {
    // Depth is bounded by the loader's nesting limit.
    path.push(key.to_string());
    match v {
        Value::Object(m) => {
            for (k, v) in m {
                walk(k, v, path, found);
            }
        }
        Value::String(s) if !s.is_empty() && looks_secret(key) => found.push(path.clone()),
        Value::Number(_) if looks_secret(key) => found.push(path.clone()),
        _ => {}
    }
    path.pop();
}

/// Words that end a secret's key (`admin_password`, `authToken`, `apikey`).
const SECRET_WORDS: &[&str] = &["password", "passwd", "passphrase", "token", "apikey"];
/// `<word>_key` and `<word>_secret` pairs that name a secret (`private_key`,
/// `client_secret`), where a bare `key` (a toleration's) or `existingSecret` (a name) does not.
const SECRET_PAIRS: &[(&str, &str)] = &[
    ("private", "key"),
    ("secret", "key"),
    ("access", "key"),
    ("api", "key"),
    ("auth", "key"),
    ("encryption", "key"),
    ("signing", "key"),
    ("ssh", "key"),
    ("master", "key"),
    ("client", "secret"),
    ("shared", "secret"),
    ("app", "secret"),
    ("consumer", "secret"),
];

/// Whether a values key names a secret: its last word (split at `_`, `-`, `.` and
/// camelCase) is a secret word, or its last two words are a secret pair.
pub(crate) fn looks_secret(key: &str) -> bool {
    let words = words(key);
    let Some(last) = words.last() else {
        return false;
    };
    if SECRET_WORDS.contains(&last.as_str()) {
        return true;
    }
    words.len() >= 2 && {
        let pair = (words[words.len() - 2].as_str(), last.as_str());
        SECRET_PAIRS.iter().any(|&(a, b)| (a, b) == pair)
    }
}

/// Lower-case words of a key: `memcacheSecretKey` and `memcache_secret_key` both give
/// `[memcache, secret, key]`.
fn words(key: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let mut cur = String::new();
    let mut prev_lower = false;
    for c in key.chars() {
        if !c.is_alphanumeric() {
            if !cur.is_empty() {
                out.push(std::mem::take(&mut cur));
            }
            prev_lower = false;
            continue;
        }
        if c.is_uppercase() && prev_lower && !cur.is_empty() {
            out.push(std::mem::take(&mut cur));
        }
        prev_lower = c.is_lowercase() || c.is_ascii_digit();
        cur.extend(c.to_lowercase());
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::looks_secret;

    #[test]
    fn secret_keys_are_told_from_names_and_tolerations() {
        for k in [
            "password",
            "admin_password",
            "rootPassword",
            "auth-token",
            "memcache_secret_key",
            "memcacheSecretKey",
            "client_secret",
            "PRIVATE_KEY",
            "apikey",
        ] {
            assert!(looks_secret(k), "{k} should look secret");
        }
        for k in [
            "key",
            "existingSecret",
            "secretName",
            "secretKeyRef",
            "token_provider",
            "keystone_authtoken",
            "passwordFile",
            "keystone",
            "",
        ] {
            assert!(!looks_secret(k), "{k} should not look secret");
        }
    }
}
