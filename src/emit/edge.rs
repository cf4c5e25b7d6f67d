//! The public edge: Envoy Gateway's EnvoyProxy, GatewayClass and Gateway (an HTTPS
//! listener per public host name, its address from MetalLB), an HTTPRoute per API to the
//! Service its chart renders, and cert-manager's issuers and a Certificate per listener.

use serde_json::{Value, json};

use super::{Emitted, Section, object, with};
use crate::plan::{EdgePlan, MACHINE_LABEL, OPENSTACK_NAMESPACE, Plan, TlsPlan};

const GATEWAY_API: &str = "gateway.networking.k8s.io/v1";
const ENVOY: &str = "gateway.envoyproxy.io/v1alpha1";
const CERT_MANAGER: &str = "cert-manager.io/v1";
/// Envoy Gateway's controller (gateway-helm's `config.envoyGateway.gateway.controllerName`).
const CONTROLLER: &str = "gateway.envoyproxy.io/gatewayclass-controller";
/// The label Envoy Gateway puts on the proxies of a Gateway.
const OWNING_GATEWAY: &str = "gateway.envoyproxy.io/owning-gateway-name";
/// The self-signed issuer that signs only the root, the root's Certificate and Secret,
/// and the CA issuer that signs the listeners' certificates with it.
const SELF_SIGNED: &str = "gcc-selfsigned";
const ROOT: &str = EdgePlan::ROOT_CA;
const CA: &str = "gcc-ca";
const ACME: &str = "gcc-acme";
/// The plain-HTTP listener ACME's HTTP-01 challenges come in on.
const HTTP_LISTENER: &str = "http";

pub(super) fn emit(plan: &Plan, out: &mut Emitted) {
    let Some(edge) = &plan.edge else { return };
    let mut push = |o: Value| out.objects.push((Section::Root, o));
    push(envoy_proxy(edge));
    push(with(
        object(GATEWAY_API, "GatewayClass", &edge.name, None),
        "spec",
        json!({
            "controllerName": CONTROLLER,
            "parametersRef": {
                "group": "gateway.envoyproxy.io",
                "kind": "EnvoyProxy",
                "name": edge.name,
                "namespace": edge.namespace,
            },
        }),
    ));
    push(gateway(edge));
    for e in &edge.endpoints {
        push(with(
            object(
                GATEWAY_API,
                "HTTPRoute",
                &e.name(),
                Some(OPENSTACK_NAMESPACE),
            ),
            "spec",
            json!({
                "parentRefs": [{
                    "group": "gateway.networking.k8s.io",
                    "kind": "Gateway",
                    "name": edge.name,
                    "namespace": edge.namespace,
                    "sectionName": e.name(),
                }],
                "hostnames": [e.host],
                "rules": [{
                    "matches": [{ "path": { "type": "PathPrefix", "value": "/" } }],
                    "backendRefs": [{ "name": e.backend, "port": e.backend_port }],
                }],
            }),
        ));
    }
    let issuer = match &edge.tls {
        TlsPlan::SelfSigned => {
            push(with(
                object(CERT_MANAGER, "ClusterIssuer", SELF_SIGNED, None),
                "spec",
                json!({ "selfSigned": {} }),
            ));
            // The root lives ten years and keeps its key: clients trust it once.
            push(with(
                object(
                    CERT_MANAGER,
                    "Certificate",
                    ROOT,
                    Some(&edge.issuer_namespace),
                ),
                "spec",
                json!({
                    "isCA": true,
                    "commonName": format!("{} root CA", edge.domain),
                    "secretName": ROOT,
                    "duration": "87600h",
                    "privateKey": { "algorithm": "ECDSA", "size": 256, "rotationPolicy": "Never" },
                    "issuerRef": { "group": "cert-manager.io", "kind": "ClusterIssuer", "name": SELF_SIGNED },
                }),
            ));
            push(with(
                object(CERT_MANAGER, "ClusterIssuer", CA, None),
                "spec",
                json!({ "ca": { "secretName": ROOT } }),
            ));
            CA.to_string()
        }
        TlsPlan::Acme { email, server } => {
            push(with(
                object(CERT_MANAGER, "ClusterIssuer", ACME, None),
                "spec",
                json!({ "acme": {
                    "email": email,
                    "server": server,
                    "privateKeySecretRef": { "name": ACME },
                    "solvers": [{ "http01": { "gatewayHTTPRoute": { "parentRefs": [{
                        "group": "gateway.networking.k8s.io",
                        "kind": "Gateway",
                        "name": edge.name,
                        "namespace": edge.namespace,
                        "sectionName": HTTP_LISTENER,
                    }]}}}],
                }}),
            ));
            ACME.to_string()
        }
        TlsPlan::Existing { name } => name.clone(),
    };
    for e in &edge.endpoints {
        push(with(
            object(
                CERT_MANAGER,
                "Certificate",
                &e.name(),
                Some(&edge.namespace),
            ),
            "spec",
            json!({
                "secretName": e.tls_secret(),
                "dnsNames": [e.host],
                "issuerRef": { "group": "cert-manager.io", "kind": "ClusterIssuer", "name": issuer },
            }),
        ));
    }
}

fn envoy_proxy(edge: &EdgePlan) -> Value {
    let mut deployment = json!({ "replicas": edge.replicas });
    let mut kubernetes = json!({
        // Any node may take the VIP's traffic and hand it to a proxy on another.
        "envoyService": { "externalTrafficPolicy": "Cluster" },
    });
    if edge.spread {
        deployment["pod"] = json!({ "affinity": { "podAntiAffinity": {
            "requiredDuringSchedulingIgnoredDuringExecution": [{
                "labelSelector": { "matchLabels": { OWNING_GATEWAY: edge.name } },
                "topologyKey": MACHINE_LABEL,
            }],
        }}});
        kubernetes["envoyPDB"] = json!({ "minAvailable": 1 });
    }
    kubernetes["envoyDeployment"] = deployment;
    with(
        object(ENVOY, "EnvoyProxy", &edge.name, Some(&edge.namespace)),
        "spec",
        json!({ "provider": { "type": "Kubernetes", "kubernetes": kubernetes } }),
    )
}

fn gateway(edge: &EdgePlan) -> Value {
    // Routes come from the OpenStack namespace only.
    let from_openstack = json!({ "namespaces": {
        "from": "Selector",
        "selector": { "matchLabels": { "kubernetes.io/metadata.name": OPENSTACK_NAMESPACE } },
    }});
    let mut listeners: Vec<Value> = edge
        .endpoints
        .iter()
        .map(|e| {
            json!({
                "name": e.name(),
                "hostname": e.host,
                "port": 443,
                "protocol": "HTTPS",
                "tls": { "mode": "Terminate", "certificateRefs": [{
                    "group": "", "kind": "Secret", "name": e.tls_secret(),
                }]},
                "allowedRoutes": from_openstack,
            })
        })
        .collect();
    if matches!(edge.tls, TlsPlan::Acme { .. }) {
        // cert-manager's solver routes live beside the Certificates.
        listeners.push(json!({
            "name": HTTP_LISTENER,
            "port": 80,
            "protocol": "HTTP",
            "allowedRoutes": { "namespaces": { "from": "Same" } },
        }));
    }
    with(
        object(GATEWAY_API, "Gateway", &edge.name, Some(&edge.namespace)),
        "spec",
        json!({
            "gatewayClassName": edge.name,
            // MetalLB gives the proxies' LoadBalancer Service this address from this pool.
            "infrastructure": { "annotations": {
                "metallb.io/address-pool": edge.pool,
                "metallb.io/loadBalancerIPs": edge.address,
            }},
            "listeners": listeners,
        }),
    )
}
