locals {
  environment  = "staging"
  cluster_name = "platform-${local.environment}"
  zones        = length(var.availability_zones) > 0 ? var.availability_zones : [for suffix in ["a", "b", "c"] : "${var.region}${suffix}"]

  tags = {
    Project     = "platform"
    Environment = local.environment
    ManagedBy   = "terraform"
  }

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

module "logs_key" {
  source = "../../modules/kms-key"

  name                   = "${local.cluster_name}-logs"
  description            = "Encryption of the ${local.cluster_name} VPC flow logs and EKS control-plane logs"
  cloudwatch_logs_region = var.region
}

module "vpc" {
  source = "../../modules/vpc"

  name                 = local.cluster_name
  cidr_block           = var.vpc_cidr
  availability_zones   = local.zones
  single_nat_gateway   = local.single_nat_gateway
  cluster_name         = local.cluster_name
  flow_log_kms_key_arn = module.logs_key.key_arn
}

module "eks" {
  source = "../../modules/eks"

  cluster_name           = local.cluster_name
  kubernetes_version     = var.kubernetes_version
  vpc_id                 = module.vpc.vpc_id
  subnet_ids             = module.vpc.private_subnet_ids
  endpoint_public_access = var.endpoint_public_access
  public_access_cidrs    = var.public_access_cidrs
  log_kms_key_arn        = module.logs_key.key_arn
  node_groups            = local.node_groups
  admin_principal_arns   = var.admin_principal_arns
}

module "deploy_key" {
  source = "../../modules/github-deploy-key"

  repository = var.github_repository
  title      = "flux-${local.cluster_name}"
}

module "flux" {
  source = "../../modules/flux-bootstrap"

  environment = local.environment

  # Flux needs running nodes and the deploy key registered before bootstrap can succeed.
  depends_on = [module.eks, module.deploy_key]
}
