//! The data services the OpenStack services share (the MariaDB, RabbitMQ and PostgreSQL
//! clusters, with one account per service) and the Secrets the cluster must provide.

use std::collections::{BTreeMap, BTreeSet};

use super::{
    BACKUPS_CLASS, BackupPlan, Component, Cx, DatabasePlan, MariadbPlan, OPENSTACK_NAMESPACE,
    PostgresPlan, ProvidedBy, RabbitmqPlan, RequiredSecret, Uses, db_password_secret,
    mq_password_secret,
};
use crate::catalog::{self, Reason};
use crate::model::{Inventory, Profile};

/// Whether the inventory has a VIP pool named `primary` for the clusters' LoadBalancer
/// Services.
fn has_primary_pool(inv: &Inventory) -> bool {
    inv.subnets
        .iter()
        .flat_map(|s| &s.vip_pools)
        .any(|p| p.name.as_deref() == Some("primary"))
}

/// The MariaDB cluster, with a database (or several) and a user per service that keeps
/// data in it.
pub(super) fn mariadb(
    cx: &Cx,
    services: &BTreeMap<String, Reason>,
    replicas: usize,
) -> MariadbPlan {
    let env = &cx.model.env;
    let mut databases = Vec::new();
    let mut users = Vec::new();
    for s in services.keys() {
        let entry = &cx.catalog.services[s];
        if entry.databases.is_empty() {
            continue;
        }
        users.push(s.clone());
        for d in &entry.databases {
            databases.push(DatabasePlan {
                service: s.clone(),
                name: d.name.clone(),
                database: d.database.clone(),
            });
        }
    }
    MariadbPlan {
        replicas,
        replication: env.profile.replicated_mariadb(),
        databases,
        users,
        backup: env.storage.contains_key(BACKUPS_CLASS).then(|| BackupPlan {
            class: BACKUPS_CLASS.to_string(),
            cron: cx.catalog.mariadb.backup_cron.clone(),
            storage: cx.catalog.mariadb.backup_storage.clone(),
        }),
        load_balancer: has_primary_pool(&cx.model.inventory),
        image: cx.catalog.mariadb.image.clone(),
        storage: cx.catalog.mariadb.storage.clone(),
    }
}

/// The PostgreSQL cluster of the services in `uses.postgres`.
pub(super) fn postgres(cx: &Cx, uses: &Uses, replicas: usize) -> PostgresPlan {
    let base = cx.model.env.profile == Profile::Base;
    let pg = &cx.catalog.postgres;
    let profile = if base { &pg.base } else { &pg.aio };
    PostgresPlan {
        name: pg.name.clone(),
        replicas,
        services: uses.postgres.clone(),
        team: pg.team.clone(),
        version: pg.version.clone(),
        storage: profile.storage.clone(),
        parameters: profile.parameters.clone(),
    }
}

/// The RabbitMQ cluster, with a user and vhost per service that uses one.
pub(super) fn rabbitmq(
    cx: &Cx,
    services: &BTreeMap<String, Reason>,
    replicas: usize,
) -> RabbitmqPlan {
    RabbitmqPlan {
        replicas,
        vhosts: services
            .keys()
            .filter(|s| cx.catalog.services[*s].vhost)
            .cloned()
            .collect(),
        load_balancer: has_primary_pool(&cx.model.inventory),
        image: cx.catalog.rabbitmq.image.clone(),
        storage: cx.catalog.rabbitmq.storage.clone(),
    }
}

/// The Secret postgres-operator writes with the cluster's superuser password (its
/// `secret_name_template`, `{username}.{cluster}.credentials.{tprkind}.{tprgroup}`).
pub(crate) fn postgres_superuser_secret(pg: &catalog::PostgresDefaults) -> String {
    format!("postgres.{}.credentials.postgresql.acid.zalan.do", pg.name)
}

/// Every Secret the build reads, and who creates it.
pub(super) fn required(
    cx: &Cx,
    components: &[Component],
    mariadb: Option<&MariadbPlan>,
    rabbitmq: Option<&RabbitmqPlan>,
    ovn_tls: &BTreeSet<String>,
) -> Vec<RequiredSecret> {
    let mut secrets = read_by(components, mariadb, rabbitmq);
    // The operators make their superusers' Secrets.
    let pg_superuser = postgres_superuser_secret(&cx.catalog.postgres);
    for s in &mut secrets {
        if s.name == pg_superuser {
            s.provided_by = ProvidedBy::Operator("postgres-operator".into());
        }
    }
    // kube-ovn keeps its TLS certificates in kube-system; the clients' pods mount a copy.
    for name in ovn_tls.iter().cloned() {
        secrets.push(RequiredSecret {
            namespace: OPENSTACK_NAMESPACE.into(),
            name,
            keys: ["cacert", "cert", "key"].map(String::from).into(),
            provided_by: ProvidedBy::YouCopying("kube-system/kube-ovn-tls".into()),
        });
    }
    secrets.sort_by(|a, b| a.name.cmp(&b.name));
    secrets
}

fn read_by(
    components: &[Component],
    mariadb: Option<&MariadbPlan>,
    rabbitmq: Option<&RabbitmqPlan>,
) -> Vec<RequiredSecret> {
    let mut map: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for c in components {
        for s in &c.secrets {
            map.entry(s.secret.clone())
                .or_default()
                .insert(s.key.clone());
        }
    }
    if let Some(m) = mariadb {
        let root = map.entry("mariadb".into()).or_default();
        root.insert("root-password".into());
        root.insert("password".into());
        for u in &m.users {
            map.entry(db_password_secret(u))
                .or_default()
                .insert("password".into());
        }
    }
    if let Some(r) = rabbitmq {
        for v in &r.vhosts {
            let e = map.entry(mq_password_secret(v)).or_default();
            e.insert("username".into());
            e.insert("password".into());
        }
    }
    map.into_iter()
        .map(|(name, keys)| RequiredSecret {
            namespace: OPENSTACK_NAMESPACE.into(),
            provided_by: if name == "rabbitmq-default-user" {
                ProvidedBy::Operator("rabbitmq-operator".into())
            } else {
                ProvidedBy::You
            },
            name,
            keys,
        })
        .collect()
}
