//! The cloud's public edge: the host name of every API under the environment's domain,
//! the Gateway that serves them (its address from a VIP pool of the inventory) and where
//! their certificates come from. The charts learn their public endpoints from here, so
//! the catalog Keystone publishes is the one users reach.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;
use serde_json::{Map, Value, json};

use super::{Cx, ProvidedBy, RequiredSecret, values};
use crate::catalog::Reason;
use crate::diag::{Diagnostic, did_you_mean};
use crate::model::{Pool, Profile, SubnetPurpose};
use crate::yaml::escape_ptr;

/// Code: no VIP pool to give the Gateway its address, or more than one to choose from.
pub(crate) const NO_GATEWAY_POOL: &str = "gcc::plan::no_gateway_pool";
/// Code: `gateway.address` outside the Gateway's pool.
pub(crate) const ADDRESS_OUTSIDE_POOL: &str = "gcc::plan::address_outside_pool";
/// Code: a `public` override names an endpoint the service does not publish.
pub(crate) const UNKNOWN_ENDPOINT: &str = "gcc::plan::unknown_endpoint";
/// Code: two public endpoints with one host name.
pub(crate) const DUPLICATE_HOST: &str = "gcc::plan::duplicate_host";

/// Name of the GatewayClass, the Gateway and the EnvoyProxy gcc writes.
const GATEWAY: &str = "gcc";

/// Let's Encrypt's production directory, the ACME default.
pub(crate) const LETS_ENCRYPT: &str = "https://acme-v02.api.letsencrypt.org/directory";

/// The public edge of a build.
#[derive(Debug, Clone, Serialize)]
pub struct EdgePlan {
    /// The environment's domain.
    pub domain: String,
    /// Name of the GatewayClass, Gateway and EnvoyProxy.
    pub name: String,
    /// Namespace of the Gateway, its EnvoyProxy and certificates (Envoy Gateway's).
    pub namespace: String,
    /// Namespace of cert-manager: a ClusterIssuer's CA Secret lives there.
    pub issuer_namespace: String,
    /// Envoy proxy replicas (one per machine it may lose, spread across machines).
    pub replicas: u64,
    /// Spread the proxies across physical machines and keep one through a disruption.
    pub spread: bool,
    /// The VIP pool the Gateway's address comes from.
    pub pool: String,
    /// The Gateway's address: `<host>` resolves to it.
    pub address: String,
    /// Where the certificates come from.
    pub tls: TlsPlan,
    /// One per API, by service then endpoint.
    pub endpoints: Vec<PublicEndpoint>,
}

/// Where the public endpoints' certificates come from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "issuer", rename_all = "kebab-case")]
pub enum TlsPlan {
    /// A self-signed root and a CA issuer gcc writes.
    SelfSigned,
    /// An ACME issuer gcc writes, answered by HTTP-01 through the Gateway.
    Acme {
        /// Account contact.
        email: String,
        /// Directory URL.
        server: String,
    },
    /// A ClusterIssuer the cluster has.
    Existing {
        /// Its name.
        name: String,
    },
}

/// One API users reach.
#[derive(Debug, Clone, Serialize)]
pub struct PublicEndpoint {
    /// The service (`keystone`).
    pub service: String,
    /// The chart's endpoint type (`identity`).
    pub endpoint: String,
    /// Its port's name in the chart (`api`).
    pub port: String,
    /// Public host name.
    pub host: String,
    /// The Service the chart renders for it.
    pub backend: String,
    /// Its port.
    pub backend_port: u16,
    /// The values path of the origins the service accepts requests from.
    #[serde(skip)]
    pub origins: Option<String>,
    /// Values the chart needs behind the Gateway's TLS.
    #[serde(skip)]
    pub values: Map<String, Value>,
}

impl PublicEndpoint {
    /// Its URL as users (and Keystone's catalog) name it.
    pub fn url(&self) -> String {
        format!("https://{}", self.host)
    }

    /// The name of its listener, route and certificate: `<service>-<endpoint>`.
    pub fn name(&self) -> String {
        format!("{}-{}", self.service, self.endpoint.replace('_', "-"))
    }

    /// The Secret its certificate is kept in (the Gateway's namespace).
    pub fn tls_secret(&self) -> String {
        format!("{}-tls", self.name())
    }
}

impl EdgePlan {
    /// The self-signed root's Certificate and Secret (in the issuer namespace).
    pub const ROOT_CA: &'static str = "gcc-root-ca";

    /// The Secrets cert-manager writes for the edge: each listener's certificate, and the
    /// self-signed root.
    pub fn secrets(&self) -> Vec<RequiredSecret> {
        let by_cert_manager = ProvidedBy::Operator("cert-manager".into());
        let mut out: Vec<RequiredSecret> = self
            .endpoints
            .iter()
            .map(|e| RequiredSecret {
                namespace: self.namespace.clone(),
                name: e.tls_secret(),
                keys: ["tls.crt", "tls.key"].map(String::from).into(),
                provided_by: by_cert_manager.clone(),
            })
            .collect();
        if self.tls == TlsPlan::SelfSigned {
            out.push(RequiredSecret {
                namespace: self.issuer_namespace.clone(),
                name: Self::ROOT_CA.to_string(),
                keys: ["ca.crt", "tls.crt", "tls.key"].map(String::from).into(),
                provided_by: by_cert_manager,
            });
        }
        out
    }

    /// The values that make a service's chart publish its endpoints at their public
    /// names: helm-toolkit builds the public URL from `host_fqdn_override.public`,
    /// `scheme.public` and `port.<port>.public`.
    pub fn values_for(&self, service: &str) -> Map<String, Value> {
        let mut v = Map::new();
        for e in self.endpoints.iter().filter(|e| e.service == service) {
            let at = format!("endpoints.{}", e.endpoint);
            values::set(
                &mut v,
                &format!("{at}.host_fqdn_override.public.host"),
                json!(e.host),
            );
            values::set(&mut v, &format!("{at}.scheme.public"), json!("https"));
            values::set(&mut v, &format!("{at}.port.{}.public", e.port), json!(443));
            values::merge(&mut v, &e.values);
            if let Some(path) = &e.origins {
                values::set(&mut v, path, json!([e.url()]));
            }
        }
        v
    }
}

/// The public edge, or `None` without a domain or when it cannot be planned (errors say
/// why).
pub(super) fn plan(cx: &mut Cx, services: &BTreeMap<String, Reason>) -> Option<EdgePlan> {
    let env = &cx.model.env;
    // Without a domain nothing is published (the build's summary says so): the APIs are
    // reachable inside the cluster only, as in a test cloud.
    let domain = env.domain.clone()?;
    let endpoints = endpoints(cx, services, &domain);
    let (pool, address) = address(cx)?;
    let env = &cx.model.env;
    let tls = match (&env.tls.acme, &env.tls.issuer) {
        (Some(a), _) => TlsPlan::Acme {
            email: a.email.clone(),
            server: a.server.clone().unwrap_or_else(|| LETS_ENCRYPT.to_string()),
        },
        (None, Some(name)) => TlsPlan::Existing { name: name.clone() },
        (None, None) => TlsPlan::SelfSigned,
    };
    let namespace = |c: &str| {
        cx.catalog
            .components
            .get(c)
            .map_or_else(|| c.to_string(), |c| c.namespace.clone())
    };
    let base = env.profile == Profile::Base;
    Some(EdgePlan {
        domain,
        name: GATEWAY.to_string(),
        namespace: namespace("envoyproxy-gateway"),
        issuer_namespace: namespace("cert-manager"),
        replicas: if base { Profile::BASE_MIN_REPLICAS } else { 1 },
        spread: base,
        pool,
        address,
        tls,
        endpoints: endpoints?,
    })
}

/// Every public endpoint of the services, at `<host>.<domain>` or the environment's
/// override.
fn endpoints(
    cx: &mut Cx,
    services: &BTreeMap<String, Reason>,
    domain: &str,
) -> Option<Vec<PublicEndpoint>> {
    let env = &cx.model.env;
    let mut out = Vec::new();
    let mut diags = Vec::new();
    for name in services.keys() {
        let entry = &cx.catalog.services[name];
        let overrides = env.services.get(name).map(|s| &s.public);
        let at = cx.env_at(&format!("/services/{}/public", escape_ptr(name)));
        for key in overrides.into_iter().flat_map(|o| o.keys()) {
            if !entry.public.iter().any(|p| &p.endpoint == key) {
                let known: Vec<&str> = entry.public.iter().map(|p| p.endpoint.as_str()).collect();
                diags.push(
                    Diagnostic::error(
                        UNKNOWN_ENDPOINT,
                        format!("{name} publishes no endpoint `{key}`"),
                    )
                    .at(cx.key_label(&at.child(key.as_str()), "not one of its endpoints"))
                    .help(did_you_mean(key, known, "endpoints")),
                );
            }
        }
        for p in &entry.public {
            let host = overrides
                .and_then(|o| o.get(&p.endpoint))
                .cloned()
                .unwrap_or_else(|| format!("{}.{domain}", p.host.as_deref().unwrap_or(name)));
            out.push(PublicEndpoint {
                service: name.clone(),
                endpoint: p.endpoint.clone(),
                port: p.port.clone(),
                host,
                backend: p.backend.service.clone(),
                backend_port: p.backend.port,
                origins: p.origins.clone(),
                values: p.values.clone(),
            });
        }
    }
    let mut seen: BTreeMap<&str, &PublicEndpoint> = BTreeMap::new();
    for e in &out {
        if let Some(first) = seen.insert(&e.host, e) {
            let mut d = Diagnostic::error(
                DUPLICATE_HOST,
                format!(
                    "{} ({}) and {} ({}) are both published at {}",
                    first.service, first.endpoint, e.service, e.endpoint, e.host
                ),
            )
            .help("give one of them another name under `services.<name>.public`");
            // The name written in the environment first: that is the one to change.
            let overridden = |x: &PublicEndpoint| {
                env.services
                    .get(&x.service)
                    .is_some_and(|s| s.public.contains_key(&x.endpoint))
            };
            let mut pair = [first, e];
            pair.sort_by_key(|x| !overridden(x));
            for (i, x) in pair.into_iter().enumerate() {
                let (ptr, text) = if overridden(x) {
                    (
                        format!(
                            "/services/{}/public/{}",
                            escape_ptr(&x.service),
                            escape_ptr(&x.endpoint)
                        ),
                        "this name",
                    )
                } else {
                    ("/domain".to_string(), "its default name under this domain")
                };
                let label = cx.label(&cx.env_at(&ptr), text);
                d = if i == 0 { d.at(label) } else { d.also(label) };
            }
            diags.push(d);
        }
    }
    let failed = !diags.is_empty();
    cx.diags.extend(diags);
    (!failed).then_some(out)
}

/// The Gateway's pool and address: the environment's, else the one external pool.
fn address(cx: &mut Cx) -> Option<(String, String)> {
    let env = &cx.model.env;
    let inv = &cx.model.inventory;
    let pools: Vec<(String, &Pool, Option<SubnetPurpose>)> = super::storage::vip_pools(inv)
        .map(|(name, s, p)| (name, p, s.purpose))
        .collect();
    let names = || pools.iter().map(|(n, _, _)| n.as_str());
    let chosen = match &env.gateway.pool {
        Some(want) => match pools.iter().find(|(n, _, _)| n == want) {
            Some(p) => p,
            None => {
                let d = Diagnostic::error(
                    NO_GATEWAY_POOL,
                    format!("the inventory has no VIP pool `{want}`"),
                )
                .at(cx.label(&cx.env_at("/gateway/pool"), "no such pool"))
                .help(did_you_mean(want, names(), "VIP pools"));
                cx.diags.push(d);
                return None;
            }
        },
        None => {
            let external: Vec<_> = pools
                .iter()
                .filter(|(n, _, _)| n.contains("external"))
                .collect();
            let public: Vec<_> = pools
                .iter()
                .filter(|(_, _, purpose)| *purpose == Some(SubnetPurpose::Public))
                .collect();
            let candidates = if external.is_empty() {
                public
            } else {
                external
            };
            match candidates.as_slice() {
                [one] => *one,
                _ => {
                    let listed: BTreeSet<&str> =
                        candidates.iter().map(|(n, _, _)| n.as_str()).collect();
                    let message = if listed.is_empty() {
                        "no VIP pool for the Gateway: none is named external or lies on a subnet of purpose `public`".to_string()
                    } else {
                        format!(
                            "more than one VIP pool could hold the Gateway's address: {}",
                            listed.into_iter().collect::<Vec<_>>().join(", ")
                        )
                    };
                    let d = Diagnostic::error(NO_GATEWAY_POOL, message)
                        .at(cx.label(&cx.env_at("/domain"), "published through a Gateway"))
                        .help(if names().next().is_none() {
                            "add a `vip_pools` range to the inventory subnet users reach the cloud on, and name it here with `gateway.pool`".to_string()
                        } else {
                            format!(
                                "name the pool with `gateway.pool` (the inventory has: {})",
                                names().collect::<Vec<_>>().join(", ")
                            )
                        });
                    cx.diags.push(d);
                    return None;
                }
            }
        }
    };
    let (name, pool, _) = chosen;
    let address = match env.gateway.address {
        Some(a) => {
            if !(pool.start <= a && a <= pool.end) {
                let d = Diagnostic::error(
                    ADDRESS_OUTSIDE_POOL,
                    format!(
                        "gateway address {a} is outside VIP pool `{name}` ({}-{})",
                        pool.start, pool.end
                    ),
                )
                .at(cx.label(&cx.env_at("/gateway/address"), "outside the pool"))
                .also(cx.label(&pool.at.child("start"), "the pool"))
                .help("pick an address of the pool, or leave `address` out for its first");
                cx.diags.push(d);
                return None;
            }
            a
        }
        None => pool.start,
    };
    Some((name.clone(), address.to_string()))
}
