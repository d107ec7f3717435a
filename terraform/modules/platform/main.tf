# One environment of the platform: a VPC, an EKS cluster with its add-ons, and Flux bootstrapped
# onto the platform repository at `generated/clusters/<environment>`. The environment roots under
# terraform/envs/ call this module with their sizing and configure the providers it uses.

locals {
  cluster_name = "platform-${var.environment}"
  zones        = length(var.availability_zones) > 0 ? var.availability_zones : [for suffix in ["a", "b", "c"] : "${var.region}${suffix}"]
}

module "logs_key" {
  source = "../kms-key"

  name                   = "${local.cluster_name}-logs"
  description            = "Encryption of the ${local.cluster_name} VPC flow logs and EKS control-plane logs"
  cloudwatch_logs_region = var.region
}

module "vpc" {
  source = "../vpc"

  name                 = local.cluster_name
  cidr_block           = var.vpc_cidr
  availability_zones   = local.zones
  single_nat_gateway   = var.single_nat_gateway
  cluster_name         = local.cluster_name
  flow_log_kms_key_arn = module.logs_key.key_arn
}

module "eks" {
  source = "../eks"

  cluster_name           = local.cluster_name
  kubernetes_version     = var.kubernetes_version
  vpc_id                 = module.vpc.vpc_id
  subnet_ids             = module.vpc.private_subnet_ids
  endpoint_public_access = var.endpoint_public_access
  public_access_cidrs    = var.public_access_cidrs
  log_kms_key_arn        = module.logs_key.key_arn
  node_groups            = var.node_groups
  admin_principal_arns   = var.admin_principal_arns
}

module "deploy_key" {
  source = "../github-deploy-key"

  repository = var.github_repository
  title      = "flux-${local.cluster_name}"
}

module "flux" {
  source = "../flux-bootstrap"

  environment = var.environment

  # Flux needs running nodes and the deploy key registered before bootstrap can succeed.
  depends_on = [module.eks, module.deploy_key]
}
