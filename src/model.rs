//! The checked model: typed, cross-referenced inputs that later stages can trust.
//!
//! Every item keeps a [`Loc`] (file and JSON pointer) so later stages (the HA proof in
//! plan) can point at the input that causes a problem. Addresses are parsed types,
//! enums are enums; a value in a `Model` has passed every check in `check`.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::net::IpAddr;

use ipnet::IpNet;
use serde::{Deserialize, Serialize};

use crate::diag::FileId;

/// Where an item was written: its file and JSON pointer inside it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Loc {
    /// The file.
    pub file: FileId,
    /// RFC 6901 pointer into the file's document, e.g. `/nodes/3`.
    pub ptr: String,
}

impl Loc {
    /// A location in `file` at `ptr`.
    pub fn new(file: FileId, ptr: impl Into<String>) -> Self {
        Self {
            file,
            ptr: ptr.into(),
        }
    }

    /// The location of a key or index below this one.
    pub fn child(&self, segment: impl fmt::Display) -> Self {
        let seg = segment.to_string().replace('~', "~0").replace('/', "~1");
        Self {
            file: self.file,
            ptr: format!("{}/{seg}", self.ptr),
        }
    }
}

/// Deployment profile.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Profile {
    /// HA: replicated services survive the loss of any one physical machine.
    Base,
    /// All-in-one: one replica of everything, for tests.
    Aio,
}

impl Profile {
    /// Members of a quorum (MariaDB, RabbitMQ, OVN, memcached) in `base`, each on its own
    /// machine: losing any one machine leaves a majority.
    pub(crate) const BASE_QUORUM: usize = 3;
    /// Fewest replicas of a stateless API in `base` (and the floor of its autoscaler):
    /// one can be lost with the machine it runs on.
    pub(crate) const BASE_MIN_REPLICAS: u64 = 2;

    /// Members each quorum runs under this profile.
    pub fn quorum(self) -> usize {
        match self {
            Profile::Base => Self::BASE_QUORUM,
            Profile::Aio => 1,
        }
    }

    /// Whether MariaDB runs replicated (a primary and promotable replicas): only then does
    /// mariadb-operator create the `<name>-primary` Service.
    pub(crate) fn replicated_mariadb(self) -> bool {
        self == Profile::Base
    }

    /// The name as written in environments (`base`).
    pub fn as_str(self) -> &'static str {
        match self {
            Profile::Base => "base",
            Profile::Aio => "aio",
        }
    }
}

/// What applies the output.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, serde::Serialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Target {
    /// Flux: HelmRepository + HelmRelease.
    #[default]
    Flux,
    /// Argo CD: Application.
    Argocd,
}

/// Role of a Kubernetes node.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Role {
    /// Kubernetes control plane.
    ControlPlane,
    /// General worker (`node-role.kubernetes.io/worker`).
    Worker,
    /// OpenStack control plane (APIs, databases, queues).
    OpenstackControl,
    /// Nova compute.
    Compute,
    /// OVN gateway / network node.
    Network,
    /// Storage node.
    Storage,
}

impl Role {
    /// The name inputs give it (`control-plane`).
    pub fn as_str(self) -> &'static str {
        match self {
            Role::ControlPlane => "control-plane",
            Role::Worker => "worker",
            Role::OpenstackControl => "openstack-control",
            Role::Compute => "compute",
            Role::Network => "network",
            Role::Storage => "storage",
        }
    }
}

/// What a subnet carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SubnetPurpose {
    /// Out-of-band management (BMCs).
    Oob,
    /// Host management.
    Management,
    /// Storage traffic.
    Storage,
    /// Service VIPs.
    Services,
    /// Tenant overlay.
    Tenant,
    /// Provider networks (OVN bridges).
    Provider,
    /// Public endpoints.
    Public,
}

/// What an NFS export is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ExportPurpose {
    /// Persistent volumes.
    Volumes,
    /// Glance images.
    Images,
    /// Database and volume backups.
    Backups,
}

impl ExportPurpose {
    /// The name inputs give it.
    pub fn as_str(self) -> &'static str {
        match self {
            ExportPurpose::Volumes => "volumes",
            ExportPurpose::Images => "images",
            ExportPurpose::Backups => "backups",
        }
    }
}

/// Storage provider of a storage class.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Provider {
    /// NFS via csi-driver-nfs, on a NAS export.
    Nfs,
    /// Longhorn replicated block storage.
    Longhorn,
    /// TopoLVM local volumes.
    Topolvm,
}

impl Provider {
    /// The name as written in environments (`nfs`).
    pub fn as_str(self) -> &'static str {
        match self {
            Provider::Nfs => "nfs",
            Provider::Longhorn => "longhorn",
            Provider::Topolvm => "topolvm",
        }
    }
}

/// A MAC address, stored lowercase.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Mac(pub [u8; 6]);

impl Mac {
    /// Parses `aa:bb:cc:dd:ee:ff` (or with `-`), case-insensitive.
    pub fn parse(s: &str) -> Option<Mac> {
        let sep = if s.contains('-') { '-' } else { ':' };
        let parts: Vec<&str> = s.split(sep).collect();
        if parts.len() != 6 {
            return None;
        }
        let mut out = [0u8; 6];
        for (i, p) in parts.iter().enumerate() {
            if p.len() != 2 {
                return None;
            }
            out[i] = u8::from_str_radix(p, 16).ok()?;
        }
        Some(Mac(out))
    }
}

impl fmt::Display for Mac {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let m = self.0;
        write!(
            f,
            "{:02x}:{:02x}:{:02x}:{:02x}:{:02x}:{:02x}",
            m[0], m[1], m[2], m[3], m[4], m[5]
        )
    }
}

/// A physical machine: the failure domain.
#[derive(Debug, Clone)]
pub struct Hardware {
    /// Unique name.
    pub name: String,
    /// Rack, an optional higher failure domain.
    pub rack: Option<String>,
    /// BMC address.
    pub bmc: Option<IpAddr>,
    /// CPU cores.
    pub cpu: Option<u64>,
    /// Memory quantity.
    pub memory: Option<String>,
    /// Where it is written.
    pub at: Loc,
}

/// An oVirt host on a physical machine.
#[derive(Debug, Clone)]
pub struct Hypervisor {
    /// Unique name.
    pub name: String,
    /// Name of its [`Hardware`].
    pub hardware: String,
    /// oVirt cluster.
    pub cluster: Option<String>,
    /// Management address.
    pub address: Option<IpAddr>,
    /// Where it is written.
    pub at: Loc,
}

/// Where a node runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Placement {
    /// A VM on this hypervisor.
    Vm(String),
    /// Bare metal: this physical machine.
    BareMetal(String),
}

/// A Kubernetes node.
#[derive(Debug, Clone)]
pub struct Node {
    /// Unique name (the Kubernetes Node name).
    pub name: String,
    /// VM or bare metal.
    pub placement: Placement,
    /// Roles.
    pub roles: BTreeSet<Role>,
    /// vCPUs or cores.
    pub cpu: Option<u64>,
    /// Memory quantity.
    pub memory: Option<String>,
    /// Network interfaces.
    pub interfaces: Vec<Interface>,
    /// Where it is written.
    pub at: Loc,
}

impl Node {
    /// True when the node has `role`.
    pub fn has(&self, role: Role) -> bool {
        self.roles.contains(&role)
    }

    /// Where its placement is written (`hypervisor:` or `hardware:`), for labels that
    /// name the machine it shares.
    pub(crate) fn placement_at(&self) -> Loc {
        match &self.placement {
            Placement::Vm(_) => self.at.child("hypervisor"),
            Placement::BareMetal(_) => self.at.child("hardware"),
        }
    }
}

/// What a machine that is not a Kubernetes node does for the lab.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MachineRole {
    /// The git server the GitOps controller pulls from.
    Git,
    /// The backup host.
    Backup,
    /// A router: may hold the gateway addresses of its subnets.
    Router,
    /// Runs the DHCP server (Kea): its named interfaces are the ones Kea listens on.
    Dhcp,
}

impl MachineRole {
    /// The name inputs give it.
    pub fn as_str(self) -> &'static str {
        match self {
            MachineRole::Git => "git",
            MachineRole::Backup => "backup",
            MachineRole::Router => "router",
            MachineRole::Dhcp => "dhcp",
        }
    }
}

/// One of the lab's machines that is not a Kubernetes node (the git server, the backup
/// host, the router): it takes part in the address and MAC checks and gets DHCP
/// reservations, but runs nothing of the cloud.
#[derive(Debug, Clone)]
pub struct Machine {
    /// Unique name, across nodes and machines (its DHCP host name).
    pub name: String,
    /// VM or bare metal.
    pub placement: Placement,
    /// What it does.
    pub roles: BTreeSet<MachineRole>,
    /// vCPUs or cores.
    pub cpu: Option<u64>,
    /// Memory quantity.
    pub memory: Option<String>,
    /// Network interfaces.
    pub interfaces: Vec<Interface>,
    /// Where it is written.
    pub at: Loc,
}

/// A node or a machine: anything with interfaces on the lab's subnets.
#[derive(Debug, Clone, Copy)]
pub struct Host<'a> {
    /// `node` or `machine`, for messages.
    pub noun: &'static str,
    /// Its name.
    pub name: &'a str,
    /// VM or bare metal.
    pub placement: &'a Placement,
    /// Its interfaces.
    pub interfaces: &'a [Interface],
    /// vCPUs or cores.
    pub cpu: Option<u64>,
    /// Memory quantity.
    pub memory: Option<&'a str>,
    /// A router: may hold its subnets' gateway addresses.
    pub router: bool,
    /// Where it is written.
    pub at: &'a Loc,
}

/// A node's network interface.
#[derive(Debug, Clone)]
pub struct Interface {
    /// Name of its [`Subnet`].
    pub subnet: String,
    /// Static address.
    pub address: Option<IpAddr>,
    /// MAC address.
    pub mac: Option<Mac>,
    /// OVS bridge for a provider network.
    pub bridge: Option<String>,
    /// Interface name on the host.
    pub name: Option<String>,
    /// Where it is written.
    pub at: Loc,
}

/// A NAS appliance.
#[derive(Debug, Clone)]
pub struct Nas {
    /// Unique name.
    pub name: String,
    /// NFS server address.
    pub address: IpAddr,
    /// Exports.
    pub exports: Vec<Export>,
    /// Where it is written.
    pub at: Loc,
}

/// An NFS export.
#[derive(Debug, Clone)]
pub struct Export {
    /// Name, unique on its NAS.
    pub name: String,
    /// Exported path.
    pub path: String,
    /// Capacity quantity.
    pub capacity: Option<String>,
    /// Purposes.
    pub purpose: BTreeSet<ExportPurpose>,
    /// Where it is written.
    pub at: Loc,
}

/// An inclusive address range; named for DHCP and VIP pools.
#[derive(Debug, Clone)]
pub struct Pool {
    /// Pool name (required for DHCP and VIP pools).
    pub name: Option<String>,
    /// First address.
    pub start: IpAddr,
    /// Last address.
    pub end: IpAddr,
    /// Where it is written.
    pub at: Loc,
}

/// An IP subnet.
#[derive(Debug, Clone)]
pub struct Subnet {
    /// Unique name.
    pub name: String,
    /// The network.
    pub cidr: IpNet,
    /// Default gateway.
    pub gateway: Option<IpAddr>,
    /// VLAN id.
    pub vlan: Option<u16>,
    /// What it carries.
    pub purpose: Option<SubnetPurpose>,
    /// DHCP ranges.
    pub dhcp_pools: Vec<Pool>,
    /// Load-balancer VIP ranges (MetalLB pools).
    pub vip_pools: Vec<Pool>,
    /// Ranges nobody allocates from.
    pub reserved: Vec<Pool>,
    /// Where it is written.
    pub at: Loc,
}

/// One site's checked inventory.
#[derive(Debug, Clone, Default)]
pub struct Inventory {
    /// Inventory name (file or directory name).
    pub name: String,
    /// Site name.
    pub site: String,
    /// Site DNS domain.
    pub domain: Option<String>,
    /// Physical machines.
    pub hardware: Vec<Hardware>,
    /// oVirt hosts.
    pub hypervisors: Vec<Hypervisor>,
    /// Kubernetes nodes.
    pub nodes: Vec<Node>,
    /// The lab's other machines.
    pub machines: Vec<Machine>,
    /// The site's DNS resolvers, handed out by DHCP.
    pub dns: Vec<IpAddr>,
    /// NAS appliances.
    pub nas: Vec<Nas>,
    /// Subnets.
    pub subnets: Vec<Subnet>,
    /// The Kubernetes cluster's own networks.
    pub cluster: ClusterNetworks,
}

/// The networks inside the Kubernetes cluster (kube-ovn's pod, service and join
/// subnets): no inventory subnet may overlap them, or its hosts are unreachable from pods.
#[derive(Debug, Clone)]
pub struct ClusterNetworks {
    /// Pod addresses.
    pub pods: IpNet,
    /// Service (ClusterIP) addresses; the cluster installer must use the same.
    pub services: IpNet,
    /// kube-ovn's join subnet (node-to-pod traffic).
    pub join: IpNet,
    /// Where each is written (`None`: the default).
    pub at: [Option<Loc>; 3],
}

impl ClusterNetworks {
    /// kube-ovn's defaults.
    pub const DEFAULTS: [&'static str; 3] = ["10.16.0.0/16", "10.96.0.0/12", "100.64.0.0/16"];
    /// The inventory keys, in the same order.
    pub const KEYS: [&'static str; 3] = ["pod_cidr", "service_cidr", "join_cidr"];

    /// The three networks with their keys, in order.
    pub fn all(&self) -> [(&'static str, &IpNet, Option<&Loc>); 3] {
        [
            (Self::KEYS[0], &self.pods, self.at[0].as_ref()),
            (Self::KEYS[1], &self.services, self.at[1].as_ref()),
            (Self::KEYS[2], &self.join, self.at[2].as_ref()),
        ]
    }
}

impl Default for ClusterNetworks {
    fn default() -> Self {
        let net = |s: &str| {
            s.parse()
                .unwrap_or_else(|_| unreachable!("a valid default"))
        };
        ClusterNetworks {
            pods: net(Self::DEFAULTS[0]),
            services: net(Self::DEFAULTS[1]),
            join: net(Self::DEFAULTS[2]),
            at: [None, None, None],
        }
    }
}

impl Inventory {
    /// The URL of repository `git` on the inventory's git server:
    /// `ssh://git@<machine>.<domain>/<path>`, or by the machine's first address when the
    /// inventory has no domain; `None` when the machine is unknown or unreachable.
    pub fn git_url(&self, git: &GitServer) -> Option<String> {
        let m = self.machines.iter().find(|m| m.name == git.machine)?;
        let host = match &self.domain {
            Some(domain) => format!("{}.{domain}", m.name),
            None => match m.interfaces.iter().find_map(|i| i.address)? {
                IpAddr::V6(a) => format!("[{a}]"),
                a => a.to_string(),
            },
        };
        Some(format!("ssh://git@{host}/{}", git.path))
    }

    /// Every node, then every machine.
    pub fn hosts(&self) -> impl Iterator<Item = Host<'_>> {
        let nodes = self.nodes.iter().map(|n| Host {
            noun: "node",
            name: &n.name,
            placement: &n.placement,
            interfaces: &n.interfaces,
            cpu: n.cpu,
            memory: n.memory.as_deref(),
            router: false,
            at: &n.at,
        });
        let machines = self.machines.iter().map(|m| Host {
            noun: "machine",
            name: &m.name,
            placement: &m.placement,
            interfaces: &m.interfaces,
            cpu: m.cpu,
            memory: m.memory.as_deref(),
            router: m.roles.contains(&MachineRole::Router),
            at: &m.at,
        });
        nodes.chain(machines)
    }

    /// The NAS and export a storage class's `export: <nas>/<export>` names, if both exist.
    pub fn export(&self, reference: &str) -> Option<(&Nas, &Export)> {
        let (nas, export) = reference.split_once('/')?;
        let nas = self.nas.iter().find(|n| n.name == nas)?;
        Some((nas, nas.exports.iter().find(|x| x.name == export)?))
    }

    /// Node name → name of the physical machine it ends up on (its failure domain): a
    /// VM's hypervisor's hardware, or a bare-metal node's own. Nodes whose chain does not
    /// resolve are left out.
    pub(crate) fn failure_domains(&self) -> BTreeMap<&str, &str> {
        let hardware: BTreeSet<&str> = self.hardware.iter().map(|h| h.name.as_str()).collect();
        let hypervisors: BTreeMap<&str, &str> = self
            .hypervisors
            .iter()
            .map(|h| (h.name.as_str(), h.hardware.as_str()))
            .collect();
        self.nodes
            .iter()
            .filter_map(|n| {
                let hw = match &n.placement {
                    Placement::BareMetal(hw) => hw.as_str(),
                    Placement::Vm(hv) => hypervisors.get(hv.as_str())?,
                };
                hardware.contains(hw).then_some((n.name.as_str(), hw))
            })
            .collect()
    }
}

/// HPA bounds for a service's API deployments.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Autoscale {
    /// minReplicas.
    pub min: Option<u64>,
    /// maxReplicas.
    pub max: Option<u64>,
}

/// Chart source override.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChartPin {
    /// Chart name.
    pub name: Option<String>,
    /// Repository URL.
    pub repo: Option<String>,
    /// Chart version.
    pub version: Option<String>,
}

/// One enabled service and its settings.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Service {
    /// OpenStack release override.
    pub release: Option<String>,
    /// Chart version pin.
    pub version: Option<String>,
    /// Chart source override.
    pub chart: Option<ChartPin>,
    /// API replicas.
    pub replicas: Option<u64>,
    /// HPA bounds.
    pub autoscale: Option<Autoscale>,
    /// Helm values merged last.
    #[serde(default)]
    pub values: serde_json::Map<String, serde_json::Value>,
    /// Values paths filled from Secrets, beyond the ones the catalog knows.
    #[serde(default)]
    pub secrets: Vec<SecretRef>,
    /// Public host names of its APIs, by the chart's endpoint type (`identity`), instead
    /// of `<name>.<domain>`.
    #[serde(default)]
    pub public: BTreeMap<String, String>,
    /// Where it is written.
    #[serde(skip)]
    pub at: Option<Loc>,
}

/// A storage class the cloud needs.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StorageClass {
    /// Provider.
    pub provider: Provider,
    /// For nfs: `<nas>/<export>`.
    pub export: Option<String>,
    /// For longhorn: replicas per volume.
    pub replicas: Option<u64>,
    /// Cluster default class.
    pub default: Option<bool>,
    /// Where it is written.
    #[serde(skip)]
    pub at: Option<Loc>,
}

/// Where builds are published.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Publish {
    /// Deploy branch.
    pub branch: Option<String>,
    /// The deploy repository's URL, as the cluster's GitOps controller reaches it.
    pub url: Option<String>,
    /// The Secret (in `flux-system`) with the credentials for `url`.
    pub secret: Option<String>,
    /// The repository on the inventory's git server, instead of `url`.
    pub git: Option<GitServer>,
}

/// A repository on the inventory's git server.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GitServer {
    /// The machine (role `git`).
    pub machine: String,
    /// The repository's path on it.
    pub path: String,
}

/// The Gateway's address.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Gateway {
    /// The VIP pool its LoadBalancer address comes from (default: the inventory's
    /// external pool).
    pub pool: Option<String>,
    /// The address in that pool (default: the pool's first).
    pub address: Option<IpAddr>,
}

/// Where the certificates of the public endpoints come from. Neither set: a self-signed
/// root and a CA issuer gcc writes (works offline; clients must trust its `ca.crt`).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Tls {
    /// An ACME issuer (Let's Encrypt and the like), answered by HTTP-01 through the
    /// Gateway.
    pub acme: Option<Acme>,
    /// A ClusterIssuer the cluster already has, by name.
    pub issuer: Option<String>,
}

/// An ACME account.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Acme {
    /// The account's contact address.
    pub email: String,
    /// The directory URL (default: Let's Encrypt's production directory).
    pub server: Option<String>,
}

/// The deploy branch of environment `env`: the configured one, else `gcc/<env>`.
pub fn default_branch(env: &str, configured: Option<&str>) -> String {
    configured
        .map(String::from)
        .unwrap_or_else(|| format!("gcc/{env}"))
}

/// One checked environment.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Environment {
    /// Environment name (file name without `.yaml`).
    #[serde(skip)]
    pub name: String,
    /// Inventory name.
    pub inventory: String,
    /// Profile.
    pub profile: Profile,
    /// Target.
    #[serde(default)]
    pub target: Target,
    /// Default OpenStack release.
    pub release: String,
    /// Public DNS domain: every API is published as `<service>.<domain>`.
    pub domain: Option<String>,
    /// The Gateway users reach the APIs through.
    #[serde(default)]
    pub gateway: Gateway,
    /// Where the public endpoints' certificates come from.
    #[serde(default)]
    pub tls: Tls,
    /// Enabled services by name.
    #[serde(default)]
    pub services: BTreeMap<String, Service>,
    /// Storage classes by name.
    #[serde(default)]
    pub storage: BTreeMap<String, StorageClass>,
    /// Publishing settings.
    #[serde(default)]
    pub publish: Publish,
    /// The environment file.
    #[serde(skip)]
    pub file: FileId,
}

/// Everything `check` proved valid, ready for `plan`.
#[derive(Debug, Clone)]
pub struct Model {
    /// The environment.
    pub env: Environment,
    /// Its inventory.
    pub inventory: Inventory,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mac_parsing() {
        assert_eq!(
            Mac::parse("52:54:00:AB:cd:10").unwrap().to_string(),
            "52:54:00:ab:cd:10"
        );
        assert_eq!(
            Mac::parse("52-54-00-ab-cd-10"),
            Mac::parse("52:54:00:ab:cd:10")
        );
        for bad in [
            "52:54:00:ab:cd",
            "52:54:00:ab:cd:1",
            "52:54:00:ab:cd:zz",
            "",
            "525400abcd10",
        ] {
            assert!(Mac::parse(bad).is_none(), "{bad}");
        }
    }

    #[test]
    fn loc_child_escapes() {
        let l = Loc::new(0, "/services");
        assert_eq!(l.child("a/b").ptr, "/services/a~1b");
        assert_eq!(l.child(3).ptr, "/services/3");
    }
}

/// A Helm values path filled from a Secret in the `openstack` namespace.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct SecretRef {
    /// Dotted values path (`endpoints.oslo_db.auth.nova.password`).
    pub path: String,
    /// Secret name.
    pub secret: String,
    /// Key in the Secret.
    pub key: String,
}
