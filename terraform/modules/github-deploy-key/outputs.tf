output "private_key_pem" {
  description = "Private half of the deploy key, for the Flux provider's Git credentials."
  value       = tls_private_key.this.private_key_pem
  sensitive   = true
}

output "public_key_openssh" {
  description = "Public half of the deploy key, as registered on the repository."
  value       = tls_private_key.this.public_key_openssh
}

output "deploy_key_id" {
  description = "ID of the deploy key on GitHub."
  value       = github_repository_deploy_key.this.id
}
