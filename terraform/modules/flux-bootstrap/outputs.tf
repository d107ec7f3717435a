output "cluster_path" {
  description = "Repository path the cluster reconciles."
  value       = local.cluster_path
}

output "repository_files" {
  description = "Files bootstrap committed to the repository (Flux's own manifests)."
  value       = sort(keys(flux_bootstrap_git.this.repository_files))
}
