//! The public edge: every API at `<service>.<domain>` (or the environment's name for it)
//! in the chart's values, so Keystone's catalog names it; one Gateway listener, route and
//! certificate per name, on an address of the external VIP pool; the three sources of
//! certificates; and what a build without a domain publishes (nothing, and says so).
//! That the routes reach rendered Services and the rendered catalog URLs go through the
//! Gateway is proven with real Helm by `gcc rehearse` (tests/rehearse.rs, CI).

mod common;
use common::{at, gcc, repo, text};

use std::collections::{BTreeMap, BTreeSet};

use gcc::compile::compile;
use gcc::source::MemSource;
use serde_json::Value;

fn example(path: &str) -> String {
    std::fs::read_to_string(repo().join(path)).unwrap()
}

/// Builds `env` (the text of environments/<name>.yaml) over the bundled inventories.
fn build(name: &str, env: &str) -> BTreeMap<String, Vec<u8>> {
    let src = common::with_inventories(
        MemSource::new().with(format!("environments/{name}.yaml"), env.as_bytes().to_vec()),
    );
    let c = compile(&src, name).expect("compiles");
    assert!(c.build.is_some(), "{name}: {:#?}", c.diagnostics);
    c.build.unwrap().rendered.files
}

fn object(files: &BTreeMap<String, Vec<u8>>, rel: &str) -> Value {
    serde_saphyr::from_str(&text(&files[&at(files, rel)])).unwrap()
}

/// Every object of `kind` in the tree.
fn all(files: &BTreeMap<String, Vec<u8>>, kind: &str) -> Vec<Value> {
    files
        .iter()
        .filter(|(p, _)| p.ends_with(".yaml") && !p.ends_with("kustomization.yaml"))
        .filter_map(|(_, b)| serde_saphyr::from_str::<Value>(&text(b)).ok())
        .filter(|o| o["kind"] == kind)
        .collect()
}

fn strs(v: &Value) -> Vec<&str> {
    v.as_array()
        .map(|a| a.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default()
}

#[test]
fn every_api_is_published_at_its_name_through_one_gateway() {
    let files = build("prod", &example("environments/prod.yaml"));
    // Keystone's own endpoint, as helm-toolkit will build its public URL.
    let ks = object(&files, "openstack/helmrelease-keystone.yaml");
    let identity = &ks["spec"]["values"]["endpoints"]["identity"];
    assert_eq!(
        identity["host_fqdn_override"]["public"]["host"],
        "keystone.cloud.lab.example.net"
    );
    assert_eq!(identity["scheme"]["public"], "https");
    assert_eq!(identity["port"]["api"]["public"], 443);
    // nova's second API (the VNC console) on a name of its own, with its own port name.
    let nova = object(&files, "openstack/helmrelease-nova.yaml");
    let vnc = &nova["spec"]["values"]["endpoints"]["compute_novnc_proxy"];
    assert_eq!(
        vnc["host_fqdn_override"]["public"]["host"],
        "novnc.cloud.lab.example.net"
    );
    assert_eq!(vnc["port"]["novnc_proxy"]["public"], 443);

    let gateways = all(&files, "Gateway");
    assert_eq!(gateways.len(), 1);
    let gw = &gateways[0];
    // Its address: the first of the inventory's external pool, from MetalLB.
    let ann = &gw["spec"]["infrastructure"]["annotations"];
    assert_eq!(ann["metallb.io/address-pool"], "gateway-api-external");
    assert_eq!(ann["metallb.io/loadBalancerIPs"], "172.16.50.10");
    let pool = object(
        &files,
        "metallb-system/ipaddresspool-gateway-api-external.yaml",
    );
    assert_eq!(
        strs(&pool["spec"]["addresses"]),
        ["172.16.50.10-172.16.50.19"]
    );
    let class = object(&files, "cluster/gatewayclass-gcc.yaml");
    assert_eq!(gw["spec"]["gatewayClassName"], class["metadata"]["name"]);
    assert_eq!(class["spec"]["parametersRef"]["kind"], "EnvoyProxy");

    // One HTTPS listener per name, each with the Secret of the Certificate for that name.
    let listeners: BTreeMap<&str, &Value> = gw["spec"]["listeners"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| (l["name"].as_str().unwrap(), l))
        .collect();
    let certs = all(&files, "Certificate");
    let routes = all(&files, "HTTPRoute");
    assert_eq!(routes.len(), 22, "one per API of prod");
    assert_eq!(listeners.len(), routes.len());
    let mut hosts = BTreeSet::new();
    for r in &routes {
        let parent = &r["spec"]["parentRefs"][0];
        let l = listeners[parent["sectionName"].as_str().unwrap()];
        let host = l["hostname"].as_str().unwrap();
        assert_eq!(strs(&r["spec"]["hostnames"]), [host]);
        assert!(host.ends_with(".cloud.lab.example.net"), "{host}");
        assert!(hosts.insert(host), "{host} twice");
        assert_eq!(
            (l["protocol"].as_str(), l["port"].as_u64()),
            (Some("HTTPS"), Some(443))
        );
        let secret = l["tls"]["certificateRefs"][0]["name"].as_str().unwrap();
        let cert = certs
            .iter()
            .find(|c| c["spec"]["secretName"] == secret)
            .unwrap_or_else(|| panic!("no Certificate writes {secret}"));
        assert_eq!(strs(&cert["spec"]["dnsNames"]), [host]);
        assert_eq!(cert["metadata"]["namespace"], gw["metadata"]["namespace"]);
        assert_eq!(cert["spec"]["issuerRef"]["name"], "gcc-ca");
    }
    assert!(hosts.contains("keystone.cloud.lab.example.net"));
    // The CA issuer signs with the self-signed root, kept in cert-manager's namespace.
    let ca = object(&files, "cluster/clusterissuer-gcc-ca.yaml");
    let root = object(&files, "cert-manager/certificate-gcc-root-ca.yaml");
    assert_eq!(ca["spec"]["ca"]["secretName"], root["spec"]["secretName"]);
    assert_eq!(root["spec"]["isCA"], true);
    assert_eq!(root["spec"]["issuerRef"]["name"], "gcc-selfsigned");
    // Two proxies on two machines in base, one kept through a disruption.
    let proxy = object(&files, "envoyproxy-gateway-system/envoyproxy-gcc.yaml");
    let k = &proxy["spec"]["provider"]["kubernetes"];
    assert_eq!(k["envoyDeployment"]["replicas"], 2);
    assert_eq!(
        k["envoyDeployment"]["pod"]["affinity"]["podAntiAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"]
            [0]["topologyKey"],
        "topology.gcc.cloud/machine"
    );
    assert_eq!(k["envoyPDB"]["minAvailable"], 1);
    // Flux applies the edge with the services, which nothing waits on.
    assert!(at(&files, "openstack/httproute-keystone-identity.yaml").starts_with("5-services/"));
}

#[test]
fn a_name_of_the_environments_moves_the_catalog_entry_listener_and_certificate() {
    let env = example("environments/prod.yaml").replace(
        "  keystone: {}\n",
        "  keystone:\n    public:\n      identity: identity.example.org\n",
    );
    let files = build("prod", &env);
    let ks = object(&files, "openstack/helmrelease-keystone.yaml");
    assert_eq!(
        ks["spec"]["values"]["endpoints"]["identity"]["host_fqdn_override"]["public"]["host"],
        "identity.example.org"
    );
    let route = object(&files, "openstack/httproute-keystone-identity.yaml");
    assert_eq!(strs(&route["spec"]["hostnames"]), ["identity.example.org"]);
    let cert = object(
        &files,
        "envoyproxy-gateway-system/certificate-keystone-identity.yaml",
    );
    assert_eq!(strs(&cert["spec"]["dnsNames"]), ["identity.example.org"]);
    let gw = &all(&files, "Gateway")[0];
    assert!(
        gw["spec"]["listeners"]
            .as_array()
            .unwrap()
            .iter()
            .any(|l| l["hostname"] == "identity.example.org")
    );
    // The other services keep their names under the domain.
    let glance = object(&files, "openstack/httproute-glance-image.yaml");
    assert_eq!(
        strs(&glance["spec"]["hostnames"]),
        ["glance.cloud.lab.example.net"]
    );
}

#[test]
fn acme_answers_through_the_gateway_and_an_existing_issuer_is_only_named() {
    let acme = build(
        "prod",
        &format!(
            "{}tls:\n  acme: {{ email: ops@example.net }}\n",
            example("environments/prod.yaml")
        ),
    );
    let issuer = object(&acme, "cluster/clusterissuer-gcc-acme.yaml");
    assert_eq!(
        issuer["spec"]["acme"]["server"],
        "https://acme-v02.api.letsencrypt.org/directory"
    );
    let solver =
        &issuer["spec"]["acme"]["solvers"][0]["http01"]["gatewayHTTPRoute"]["parentRefs"][0];
    assert_eq!(solver["name"], "gcc");
    let gw = &all(&acme, "Gateway")[0];
    let http: Vec<&Value> = gw["spec"]["listeners"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|l| l["name"] == solver["sectionName"])
        .collect();
    assert_eq!(http.len(), 1);
    assert_eq!(
        (http[0]["protocol"].as_str(), http[0]["port"].as_u64()),
        (Some("HTTP"), Some(80))
    );
    assert_eq!(all(&acme, "ClusterIssuer").len(), 1, "no self-signed chain");
    assert!(
        all(&acme, "Certificate")
            .iter()
            .all(|c| c["spec"]["issuerRef"]["name"] == "gcc-acme")
    );
    // cert-manager answers HTTP-01 with HTTPRoutes only with the Gateway API on, and
    // starts after the chart that installs its CRDs.
    let cm = object(&acme, "cert-manager/helmrelease-cert-manager.yaml");
    assert_eq!(cm["spec"]["values"]["config"]["enableGatewayAPI"], true);
    assert!(
        cm["spec"]["dependsOn"]
            .as_array()
            .unwrap()
            .iter()
            .any(|d| d["name"] == "envoyproxy-gateway")
    );

    let existing = build(
        "prod",
        &format!(
            "{}tls:\n  issuer: corp-ca\n",
            example("environments/prod.yaml")
        ),
    );
    assert!(all(&existing, "ClusterIssuer").is_empty());
    let certs = all(&existing, "Certificate");
    assert_eq!(certs.len(), 22);
    assert!(
        certs
            .iter()
            .all(|c| c["spec"]["issuerRef"]["name"] == "corp-ca")
    );
}

#[test]
fn without_a_domain_nothing_is_published_and_the_summary_says_so() {
    let dir = common::example_tree();
    let env = dir.path().join("environments/aio.yaml");
    let text_env = std::fs::read_to_string(&env).unwrap();
    let without: String = text_env
        .lines()
        .filter(|l| !l.starts_with("domain:"))
        .map(|l| format!("{l}\n"))
        .collect();
    assert_ne!(without, text_env);
    std::fs::write(&env, &without).unwrap();
    let files = build("aio", &without);
    for kind in [
        "Gateway",
        "HTTPRoute",
        "Certificate",
        "ClusterIssuer",
        "EnvoyProxy",
    ] {
        assert!(all(&files, kind).is_empty(), "{kind}");
    }
    let ks = object(&files, "openstack/helmrelease-keystone.yaml");
    assert!(ks["spec"]["values"]["endpoints"]["identity"]["host_fqdn_override"].is_null());
    // Horizon stays on plain http: no secure-only cookies a browser would not send back.
    let horizon = object(&files, "openstack/helmrelease-horizon.yaml");
    let config = &horizon["spec"]["values"]["conf"]["horizon"]["local_settings"]["config"];
    assert!(config["csrf_cookie_secure"].is_null(), "{config}");
    assert!(config["csrf_trusted_origins"].is_null(), "{config}");

    let o = gcc(dir.path(), &["build", "aio", "--color", "never"]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    let out = text(&o.stdout);
    assert!(
        out.contains("public endpoints: none (the environment has no `domain`"),
        "{out}"
    );
    let o = gcc(dir.path(), &["build", "aio", "--format", "json"]);
    let j: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert!(j["public"].is_null(), "{j}");
}

#[test]
fn the_summary_lists_every_public_url_and_where_its_name_must_resolve() {
    let dir = common::example_tree();
    let o = gcc(dir.path(), &["build", "aio", "--format", "json"]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    let j: Value = serde_json::from_slice(&o.stdout).unwrap();
    let p = &j["public"];
    assert_eq!(p["domain"], "cloud.aio.example.net");
    assert_eq!(p["tls"]["issuer"], "self-signed");
    let urls: Vec<&str> = p["endpoints"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["url"].as_str().unwrap())
        .collect();
    assert!(
        urls.contains(&"https://keystone.cloud.aio.example.net"),
        "{urls:?}"
    );
    let o = gcc(dir.path(), &["build", "aio", "--color", "never"]);
    let out = text(&o.stdout);
    let address = p["address"].as_str().unwrap();
    assert!(
        out.contains(&format!("public endpoints: resolve each name to {address}")),
        "{out}"
    );
    assert!(
        out.contains("https://keystone.cloud.aio.example.net"),
        "{out}"
    );
}
