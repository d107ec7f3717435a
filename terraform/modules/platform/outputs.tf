output "cluster_name" {
  description = "Name of the EKS cluster."
  value       = module.eks.cluster_name
}

output "cluster_endpoint" {
  description = "Kubernetes API endpoint (private unless endpoint_public_access is on)."
  value       = module.eks.cluster_endpoint
}

output "kubeconfig_command" {
  description = "Command that writes a kubeconfig entry for this cluster."
  value       = "aws eks update-kubeconfig --region ${var.region} --name ${module.eks.cluster_name}"
}

output "oidc_provider_arn" {
  description = "IAM OIDC provider of the cluster, for IRSA roles of platform services."
  value       = module.eks.oidc_provider_arn
}

output "vpc_id" {
  description = "ID of the environment's VPC."
  value       = module.vpc.vpc_id
}

output "private_subnet_ids" {
  description = "Private subnets of the environment."
  value       = module.vpc.private_subnet_ids
}

output "nat_public_ips" {
  description = "Egress IPs of the cluster."
  value       = module.vpc.nat_public_ips
}

output "flux_sync_path" {
  description = "Repository path Flux reconciles on this cluster."
  value       = module.flux.cluster_path
}

# Providers can only be configured in the root module; these two outputs hand the root the
# settings of the `flux` provider, so the connection details live here next to what they connect to.
output "flux_kubernetes" {
  description = "The `kubernetes` block of the root's `flux` provider: the API endpoint and CA, and a token fetched by `aws eks get-token` on every call, so no long-lived Kubernetes credential is kept (the machine running Terraform must reach the endpoint, private by default)."
  value = {
    host                   = module.eks.cluster_endpoint
    cluster_ca_certificate = base64decode(module.eks.cluster_certificate_authority_data)
    exec = {
      api_version = "client.authentication.k8s.io/v1beta1"
      command     = "aws"
      args        = ["eks", "get-token", "--cluster-name", module.eks.cluster_name, "--region", var.region]
    }
  }
}

output "flux_git" {
  description = "The `git` block of the root's `flux` provider: the repository over SSH, the branch this cluster follows and the deploy key."
  sensitive   = true
  value = {
    url    = "ssh://git@github.com/${var.github_owner}/${var.github_repository}.git"
    branch = var.flux_branch
    ssh = {
      username    = "git"
      private_key = module.deploy_key.private_key_pem
    }
  }
}
