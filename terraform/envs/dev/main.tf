locals {
  tags = {
    Project     = "platform"
    Environment = "dev"
    ManagedBy   = "terraform"
  }
}

module "platform" {
  source = "../../modules/platform"

  environment          = "dev"
  region               = var.region
  availability_zones   = var.availability_zones
  github_owner         = var.github_owner
  github_repository    = var.github_repository
  admin_principal_arns = var.admin_principal_arns

  endpoint_public_access = var.endpoint_public_access
  public_access_cidrs    = var.public_access_cidrs

  kubernetes_version = "1.35"
  vpc_cidr           = "10.10.0.0/16"
  flux_branch        = "main"

  # dev: one small on-demand group behind a single NAT gateway; cheap, and still spread over zones.
  single_nat_gateway = true
  node_groups = {
    system = {
      instance_types = ["m7i.large", "m6i.large"]
      min_size       = 1
      desired_size   = 2
      max_size       = 4
      labels         = { "platform/pool" = "system" }
    }
  }
}
