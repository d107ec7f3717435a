provider "aws" {
  region = var.region

  default_tags {
    tags = local.tags
  }
}

provider "github" {
  owner = var.github_owner
}

# The token is fetched by the AWS CLI on every call, so no long-lived Kubernetes credential is kept;
# the machine running Terraform must reach the API endpoint (private by default).
provider "flux" {
  kubernetes = {
    host                   = module.eks.cluster_endpoint
    cluster_ca_certificate = base64decode(module.eks.cluster_certificate_authority_data)
    exec = {
      api_version = "client.authentication.k8s.io/v1beta1"
      command     = "aws"
      args        = ["eks", "get-token", "--cluster-name", module.eks.cluster_name, "--region", var.region]
    }
  }

  git = {
    url    = "ssh://git@github.com/${var.github_owner}/${var.github_repository}.git"
    branch = var.flux_branch
    ssh = {
      username    = "git"
      private_key = module.deploy_key.private_key_pem
    }
  }
}
