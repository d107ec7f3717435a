provider "aws" {
  region = var.region

  default_tags {
    tags = local.tags
  }
}

# Reads the token from GITHUB_TOKEN.
provider "github" {
  owner = var.github_owner
}

# Cluster access through `aws eks get-token` and Git access through the deploy key; the module's
# outputs spell both out.
provider "flux" {
  kubernetes = module.platform.flux_kubernetes
  git        = module.platform.flux_git
}
