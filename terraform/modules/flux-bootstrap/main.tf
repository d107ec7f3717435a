# Installs Flux from the manifests embedded in the provider (no download from GitHub during apply),
# commits them under `generated/clusters/<env>/flux-system`, and points the cluster's root
# Kustomization at `generated/clusters/<env>`, the directory `platformc compile` writes.

locals {
  cluster_path = "generated/clusters/${var.environment}"
}

resource "flux_bootstrap_git" "this" {
  path               = local.cluster_path
  embedded_manifests = true
  interval           = var.sync_interval
  components_extra   = var.components_extra
  network_policy     = true
  log_level          = "info"
}
