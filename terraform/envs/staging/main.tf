locals {
  tags = {
    Project     = "platform"
    Environment = "staging"
    ManagedBy   = "terraform"
  }
}

module "platform" {
  source = "../../modules/platform"

  environment          = "staging"
  region               = var.region
  availability_zones   = var.availability_zones
  github_owner         = var.github_owner
  github_repository    = var.github_repository
  admin_principal_arns = var.admin_principal_arns

  endpoint_public_access = var.endpoint_public_access
  public_access_cidrs    = var.public_access_cidrs

  kubernetes_version = "1.35"
  vpc_cidr           = "10.20.0.0/16"
  flux_branch        = "main"

  # staging: production-shaped (NAT per zone, same instance family) at smaller scale, so upgrades
  # and load tests rehearse what prod will see.
  single_nat_gateway = false
  node_groups = {
    system = {
      instance_types = ["m7i.large", "m6i.large"]
      min_size       = 2
      desired_size   = 2
      max_size       = 4
      labels         = { "platform/pool" = "system" }
      taints         = [{ key = "platform/pool", value = "system", effect = "PREFER_NO_SCHEDULE" }]
    }
    workloads = {
      instance_types = ["m7i.xlarge", "m6i.xlarge"]
      min_size       = 2
      desired_size   = 3
      max_size       = 6
      labels         = { "platform/pool" = "workloads" }
    }
  }
}
