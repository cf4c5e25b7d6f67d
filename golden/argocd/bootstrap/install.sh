#!/bin/sh
# gcc: bootstrap of environment `argocd` (written by gcc build; do not edit).
# Run once against the new cluster (kubectl's and helm's current context), then:
#   install Argo CD with argocd-vault-plugin; kubectl apply -k bootstrap
# The cluster installer must use pod network 10.16.0.0/16 and service network 10.96.0.0/12
# (kubeadm init --pod-network-cidr 10.16.0.0/16 --service-cidr 10.96.0.0/12) and install no CNI.
set -eu
cd "$(dirname "$0")/.."
# Node labels and annotations (the same objects nodes/ keeps applied).
kubectl apply -k nodes
# Control-plane nodes with OpenStack roles take workloads.
kubectl taint nodes k8s-ctl-01 node-role.kubernetes.io/control-plane:NoSchedule- 2>/dev/null || true
kubectl taint nodes k8s-ctl-02 node-role.kubernetes.io/control-plane:NoSchedule- 2>/dev/null || true
kubectl taint nodes k8s-ctl-03 node-role.kubernetes.io/control-plane:NoSchedule- 2>/dev/null || true
# The CNI, with its release's values; the controller adopts the release.
helm upgrade --install kube-ovn kube-ovn --repo https://kubeovn.github.io/kube-ovn --version v1.15.4 --namespace kube-system --values - <<'GCC_VALUES'
{
  "MASTER_NODES": "10.20.0.31,10.20.0.32,10.20.0.33",
  "func": {
    "ENABLE_EXTERNAL_VPC": true
  },
  "global": {
    "images": {
      "kubeovn": {
        "repository": "kube-ovn",
        "tag": "v1.15.4"
      }
    },
    "registry": {
      "address": "ghcr.io/rackerlabs/genestack-images"
    }
  },
  "ipv4": {
    "JOIN_CIDR": "100.64.0.0/16",
    "POD_CIDR": "10.16.0.0/16",
    "SVC_CIDR": "10.96.0.0/12"
  },
  "networking": {
    "ENABLE_SSL": true
  }
}
GCC_VALUES
