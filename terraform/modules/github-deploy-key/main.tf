# The SSH key Flux uses to reach the repository. Write access is needed because bootstrap commits
# Flux's own manifests under `generated/clusters/<env>/flux-system`. The private key lives in the
# Terraform state, which is why the state bucket is encrypted and access to it restricted.

resource "tls_private_key" "this" {
  algorithm   = "ECDSA"
  ecdsa_curve = "P256"
}

resource "github_repository_deploy_key" "this" {
  repository = var.repository
  title      = var.title
  key        = tls_private_key.this.public_key_openssh
  read_only  = false
}
