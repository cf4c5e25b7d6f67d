//! Objects every target shares: Namespaces, the MariaDB, RabbitMQ and PostgreSQL clusters
//! and their per-service accounts, the services' claims and stand-ins, HPAs, PDBs,
//! StorageClasses, MetalLB pools, Node labels.

use base64::Engine;
use serde_json::{Value, json};

use super::{Emitted, Section, meta, object, with};
use crate::catalog::StandInKind;
use crate::model::{Profile, Provider};
use crate::plan::{
    HPA_UTILIZATION, MACHINE_LABEL, MARIADB_CLUSTER, OPENSTACK_NAMESPACE, Plan, RABBITMQ_CLUSTER,
};

const MARIADB: &str = "k8s.mariadb.com/v1alpha1";
const RABBITMQ: &str = "rabbitmq.com/v1beta1";
const METALLB: &str = "metallb.io/v1beta1";
const NS: &str = OPENSTACK_NAMESPACE;
/// Node labels of the roles that may host the data services.
const WORKER: (&str, &str) = crate::plan::WORKER_LABEL;
const CONTROL: (&str, &str) = ("openstack-control-plane", "enabled");

/// Required node affinity: a node with any one of the `labels` (one term each, ORed).
fn node_affinity(labels: &[(&str, &str)]) -> Value {
    let terms: Vec<Value> = labels
        .iter()
        .map(
            |(k, v)| json!({ "matchExpressions": [{ "key": k, "operator": "In", "values": [v] }] }),
        )
        .collect();
    json!({ "requiredDuringSchedulingIgnoredDuringExecution": { "nodeSelectorTerms": terms } })
}

pub(super) fn emit(plan: &Plan, out: &mut Emitted) {
    let mut push = |o: Value| out.objects.push((Section::Root, o));
    for ns in &plan.namespaces {
        let mut o = object("v1", "Namespace", ns, None);
        if ns == NS {
            // Genestack runs OpenStack privileged (libvirt, OVS agents).
            o = meta(
                o,
                "labels",
                json!({
                    "pod-security.kubernetes.io/audit": "privileged",
                    "pod-security.kubernetes.io/enforce": "privileged",
                    "pod-security.kubernetes.io/warn": "privileged",
                }),
            );
        }
        push(o);
    }
    let base = plan.profile == Profile::Base;
    let lb = |o: Value, on: bool| {
        if on {
            meta(
                o,
                "annotations",
                json!({ "metallb.io/address-pool": "primary" }),
            )
        } else {
            o
        }
    };
    let anti_affinity = |selector: Value| {
        json!({ "requiredDuringSchedulingIgnoredDuringExecution": [
            { "labelSelector": { "matchLabels": selector }, "topologyKey": MACHINE_LABEL }
        ]})
    };

    for ini in &plan.ovn_ini {
        push(with(
            object("v1", "ConfigMap", &ini.name, Some(NS)),
            "data",
            json!({ "ovn.ini": ini.text }),
        ));
    }

    if let Some(m) = &plan.mariadb {
        let my_cnf = "[mariadb]\nbind-address=*\ndefault_storage_engine=InnoDB\nbinlog_format=ROW\n\
character_set_server=utf8mb3\ncollation_server=utf8mb3_general_ci\nsync_binlog=1\n\
innodb_flush_log_at_trx_commit=1\ninnodb_buffer_pool_size=4G\nmax_connections=10240\n\
binlog_expire_logs_seconds=604800\n";
        // Generated from inputs: the name carries a content hash so pods roll on change.
        let data = json!({ "my.cnf": my_cnf });
        let my_cnf_name = format!(
            "{MARIADB_CLUSTER}-mycnf-{}",
            crate::plan::content_suffix(&data)
        );
        push(with(
            object("v1", "ConfigMap", &my_cnf_name, Some(NS)),
            "data",
            data,
        ));
        let mut spec = json!({
            "image": m.image,
            "replicas": m.replicas,
            "replication": if m.replication {
                json!({ "enabled": true, "primary": { "autoFailover": true } })
            } else {
                json!({ "enabled": false })
            },
            "rootPasswordSecretKeyRef": { "name": "mariadb", "key": "root-password", "generate": false },
            "username": "mariadb",
            "database": "mariadb",
            "passwordSecretKeyRef": { "name": "mariadb", "key": "password", "generate": false },
            "storage": {
                "size": m.storage,
                "resizeInUseVolumes": true,
                "waitForVolumeResize": true,
            },
            "myCnfConfigMapKeyRef": { "name": my_cnf_name, "key": "my.cnf" },
            "updateStrategy": { "type": "RollingUpdate" },
            "metrics": { "enabled": false },
            "affinity": { "nodeAffinity": node_affinity(&[WORKER, CONTROL]) },
        });
        if let Some(class) = &plan.data_class {
            spec["storage"]["storageClassName"] = json!(class);
        }
        if base {
            spec["affinity"]["podAntiAffinity"] =
                anti_affinity(json!({ "app.kubernetes.io/instance": MARIADB_CLUSTER }));
            spec["podDisruptionBudget"] = json!({ "maxUnavailable": 1 });
        }
        if m.load_balancer {
            let svc = json!({ "type": "LoadBalancer", "metadata": { "annotations": { "metallb.io/address-pool": "primary" } } });
            spec["service"] = svc.clone();
            spec["primaryService"] = svc.clone();
            spec["secondaryService"] = svc;
        }
        push(with(
            object(MARIADB, "MariaDB", MARIADB_CLUSTER, Some(NS)),
            "spec",
            spec,
        ));
        let ref_ = json!({ "name": MARIADB_CLUSTER });
        for d in &m.databases {
            push(with(
                object(MARIADB, "Database", &d.name, Some(NS)),
                "spec",
                json!({ "mariaDbRef": ref_, "name": d.database, "characterSet": "utf8", "collate": "utf8_general_ci", "retryInterval": "5s" }),
            ));
            push(with(
                object(MARIADB, "Grant", &format!("{}-grant", d.name), Some(NS)),
                "spec",
                json!({ "mariaDbRef": ref_, "privileges": ["ALL"], "database": d.database, "table": "*",
                        "username": d.service, "grantOption": true, "host": "%", "retryInterval": "5s" }),
            ));
        }
        for u in &m.users {
            push(with(
                object(MARIADB, "User", u, Some(NS)),
                "spec",
                json!({ "mariaDbRef": ref_, "passwordSecretKeyRef": { "name": crate::plan::db_password_secret(u), "key": "password" },
                        "maxUserConnections": 0, "host": "%", "retryInterval": "5s" }),
            ));
        }
        if let Some(b) = &m.backup {
            push(with(
                object(MARIADB, "Backup", "mariadb-backup", Some(NS)),
                "spec",
                json!({
                    "mariaDbRef": ref_,
                    "schedule": { "cron": b.cron },
                    "compression": "gzip",
                    "args": ["--single-transaction", "--all-databases", "--verbose"],
                    "storage": { "persistentVolumeClaim": {
                        "accessModes": ["ReadWriteOnce"],
                        "storageClassName": b.class,
                        "resources": { "requests": { "storage": b.storage } },
                    }},
                    "resources": {
                        "requests": { "cpu": "100m", "memory": "128Mi" },
                        "limits": { "cpu": "300m", "memory": "512Mi" },
                    },
                }),
            ));
        }
    }

    if let Some(r) = &plan.rabbitmq {
        let mut spec = json!({
            "replicas": r.replicas,
            "image": r.image,
            "resources": { "requests": { "cpu": "500m", "memory": "2Gi" }, "limits": { "memory": "2Gi" } },
            "persistence": { "storage": r.storage },
            "rabbitmq": { "additionalConfig": "cluster_partition_handling = pause_minority\ndisk_free_limit.relative = 1.0\ncollect_statistics_interval = 10000\n" },
            "affinity": { "nodeAffinity": node_affinity(&[WORKER]) },
        });
        if let Some(class) = &plan.data_class {
            spec["persistence"]["storageClassName"] = json!(class);
        }
        if base {
            spec["affinity"]["podAntiAffinity"] =
                anti_affinity(json!({ "app.kubernetes.io/name": "rabbitmq" }));
        }
        if r.load_balancer {
            spec["service"] = json!({ "type": "LoadBalancer" });
        }
        push(lb(
            with(
                object(RABBITMQ, "RabbitmqCluster", RABBITMQ_CLUSTER, Some(NS)),
                "spec",
                spec,
            ),
            r.load_balancer,
        ));
        if base {
            push(with(
                object(
                    "policy/v1",
                    "PodDisruptionBudget",
                    "rabbitmq-disruption-budget",
                    Some(NS),
                ),
                "spec",
                json!({ "maxUnavailable": 1, "selector": { "matchLabels": { "app.kubernetes.io/name": "rabbitmq" } } }),
            ));
        }
        let cluster = json!({ "name": RABBITMQ_CLUSTER, "namespace": NS });
        for v in &r.vhosts {
            push(with(
                object(RABBITMQ, "User", v, Some(NS)),
                "spec",
                json!({ "rabbitmqClusterReference": cluster, "tags": ["management", "policymaker"],
                        "importCredentialsSecret": { "name": crate::plan::mq_password_secret(v) } }),
            ));
            push(with(
                object(RABBITMQ, "Vhost", &format!("{v}-vhost"), Some(NS)),
                "spec",
                json!({ "rabbitmqClusterReference": cluster, "name": v, "defaultQueueType": "quorum" }),
            ));
            push(with(
                object(RABBITMQ, "Permission", &format!("{v}-permission"), Some(NS)),
                "spec",
                json!({ "rabbitmqClusterReference": cluster, "vhost": v, "userReference": { "name": v },
                        "permissions": { "configure": ".*", "write": ".*", "read": ".*" } }),
            ));
            let policy = format!("{v}-quorum-three-replicas");
            push(with(
                object(RABBITMQ, "Policy", &policy, Some(NS)),
                "spec",
                json!({ "rabbitmqClusterReference": cluster, "name": policy, "vhost": v, "pattern": ".*",
                        "applyTo": "queues", "definition": { "target-group-size": r.replicas }, "priority": 0 }),
            ));
        }
    }

    if let Some(pg) = &plan.postgres {
        let mut spec = json!({
            "teamId": pg.team,
            "numberOfInstances": pg.replicas,
            "postgresql": { "version": pg.version, "parameters": pg.parameters },
            "volume": { "size": pg.storage },
            "nodeAffinity": node_affinity(&[WORKER]),
        });
        if let Some(class) = &plan.data_class {
            spec["volume"]["storageClass"] = json!(class);
        }
        push(with(
            object("acid.zalan.do/v1", "postgresql", &pg.name, Some(NS)),
            "spec",
            spec,
        ));
    }

    for c in &plan.claims {
        push(with(
            object("v1", "PersistentVolumeClaim", &c.name, Some(NS)),
            "spec",
            json!({
                "accessModes": ["ReadWriteMany"],
                "storageClassName": c.class,
                "resources": { "requests": { "storage": c.size } },
            }),
        ));
    }

    for st in &plan.stand_ins {
        let kind = match st.kind {
            StandInKind::ConfigMap => "ConfigMap",
            StandInKind::Secret => "Secret",
        };
        let data: serde_json::Map<String, Value> = st
            .data
            .iter()
            .map(|(k, v)| {
                let v = match st.kind {
                    StandInKind::ConfigMap => v.clone(),
                    StandInKind::Secret => base64::engine::general_purpose::STANDARD.encode(v),
                };
                (k.clone(), json!(v))
            })
            .collect();
        let mut o = with(object("v1", kind, &st.name, Some(NS)), "data", json!(data));
        if st.kind == StandInKind::Secret {
            o["type"] = json!("Opaque");
        }
        push(o);
    }

    for c in &plan.components {
        for a in &c.autoscalers {
            push(with(
                object(
                    "autoscaling/v2",
                    "HorizontalPodAutoscaler",
                    &a.deployment,
                    Some(&c.namespace),
                ),
                "spec",
                json!({
                    "scaleTargetRef": { "apiVersion": "apps/v1", "kind": "Deployment", "name": a.deployment },
                    "minReplicas": a.min,
                    "maxReplicas": a.max,
                    "metrics": [
                        { "type": "Resource", "resource": { "name": "cpu", "target": { "type": "Utilization", "averageUtilization": HPA_UTILIZATION } } },
                        { "type": "Resource", "resource": { "name": "memory", "target": { "type": "Utilization", "averageUtilization": HPA_UTILIZATION } } },
                    ],
                }),
            ));
            if a.pdb {
                push(with(
                    object(
                        "policy/v1",
                        "PodDisruptionBudget",
                        &a.deployment,
                        Some(&c.namespace),
                    ),
                    "spec",
                    json!({ "maxUnavailable": 1, "selector": { "matchLabels": {
                        "application": c.name, "component": a.component } } }),
                ));
            }
        }
    }

    for s in &plan.storage {
        let mut o = object("storage.k8s.io/v1", "StorageClass", &s.name, None);
        if s.default {
            o = meta(
                o,
                "annotations",
                json!({ "storageclass.kubernetes.io/is-default-class": "true" }),
            );
        }
        let body = match s.provider {
            Provider::Longhorn => json!({
                "provisioner": "driver.longhorn.io",
                "parameters": {
                    "numberOfReplicas": s.replicas.unwrap_or(1).to_string(),
                    "dataLocality": "best-effort",
                    "fsType": "ext4",
                },
                "allowVolumeExpansion": true,
                "reclaimPolicy": "Delete",
                "volumeBindingMode": "Immediate",
            }),
            Provider::Nfs => {
                let (server, share) = s.nfs.clone().unwrap_or_default();
                json!({
                    "provisioner": "nfs.csi.k8s.io",
                    "parameters": { "server": server, "share": share },
                    "allowVolumeExpansion": true,
                    "reclaimPolicy": "Delete",
                    "volumeBindingMode": "Immediate",
                })
            }
            Provider::Topolvm => json!({
                "provisioner": "topolvm.io",
                "parameters": { "csi.storage.k8s.io/fstype": "xfs", "topolvm.io/device-class": "general" },
                "allowVolumeExpansion": true,
                "reclaimPolicy": "Delete",
                "volumeBindingMode": "WaitForFirstConsumer",
            }),
        };
        if let (Value::Object(m), Value::Object(b)) = (&mut o, body) {
            m.extend(b);
            if s.retain {
                m.insert("reclaimPolicy".into(), json!("Retain"));
            }
        }
        push(o);
    }

    for p in &plan.pools {
        push(with(
            object(METALLB, "IPAddressPool", &p.name, Some("metallb-system")),
            "spec",
            json!({ "addresses": [p.range], "autoAssign": false, "avoidBuggyIPs": true }),
        ));
        push(with(
            object(METALLB, "L2Advertisement", &p.name, Some("metallb-system")),
            "spec",
            json!({ "ipAddressPools": [p.name],
                    "nodeSelectors": [{ "matchLabels": p.announced_by }] }),
        ));
    }

    for n in &plan.nodes {
        let mut o = meta(
            object("v1", "Node", &n.name, None),
            "labels",
            json!(n.labels),
        );
        if !n.annotations.is_empty() {
            o = meta(o, "annotations", json!(n.annotations));
        }
        out.objects.push((Section::Nodes, o));
    }
}
