locals {
  tags = {
    Project     = "platform"
    Environment = "prod"
    ManagedBy   = "terraform"
  }
}

module "platform" {
  source = "../../modules/platform"

  environment          = "prod"
  region               = var.region
  availability_zones   = var.availability_zones
  github_owner         = var.github_owner
  github_repository    = var.github_repository
  admin_principal_arns = var.admin_principal_arns

  endpoint_public_access = var.endpoint_public_access
  public_access_cidrs    = var.public_access_cidrs

  kubernetes_version = "1.35"
  vpc_cidr           = "10.30.0.0/16"
  flux_branch        = "release/prod"

  # prod: a NAT gateway per zone and at least one node per zone in each group, so losing a zone
  # leaves capacity running; on-demand only.
  single_nat_gateway = false
  node_groups = {
    system = {
      instance_types = ["m7i.xlarge", "m6i.xlarge"]
      min_size       = 3
      desired_size   = 3
      max_size       = 6
      disk_size_gib  = 100
      labels         = { "platform/pool" = "system" }
      taints         = [{ key = "platform/pool", value = "system", effect = "PREFER_NO_SCHEDULE" }]
    }
    workloads = {
      instance_types = ["m7i.2xlarge", "m6i.2xlarge"]
      min_size       = 3
      desired_size   = 6
      max_size       = 18
      disk_size_gib  = 100
      labels         = { "platform/pool" = "workloads" }
    }
  }
}
