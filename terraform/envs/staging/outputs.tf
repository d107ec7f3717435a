output "cluster_name" {
  description = "Name of the EKS cluster."
  value       = module.platform.cluster_name
}

output "cluster_endpoint" {
  description = "Kubernetes API endpoint (private unless endpoint_public_access is on)."
  value       = module.platform.cluster_endpoint
}

output "kubeconfig_command" {
  description = "Command that writes a kubeconfig entry for this cluster."
  value       = module.platform.kubeconfig_command
}

output "oidc_provider_arn" {
  description = "IAM OIDC provider of the cluster, for IRSA roles of platform services."
  value       = module.platform.oidc_provider_arn
}

output "vpc_id" {
  description = "ID of the environment's VPC."
  value       = module.platform.vpc_id
}

output "private_subnet_ids" {
  description = "Private subnets of the environment."
  value       = module.platform.private_subnet_ids
}

output "nat_public_ips" {
  description = "Egress IPs of the cluster."
  value       = module.platform.nat_public_ips
}

output "flux_sync_path" {
  description = "Repository path Flux reconciles on this cluster."
  value       = module.platform.flux_sync_path
}
