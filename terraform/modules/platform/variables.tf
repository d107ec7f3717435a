variable "environment" {
  description = "Environment this stack serves; names the cluster (`platform-<environment>`) and the repository path Flux reconciles (`generated/clusters/<environment>`)."
  type        = string

  validation {
    condition     = contains(["dev", "staging", "prod"], var.environment)
    error_message = "The environment must be dev, staging or prod (the directories platformc writes under generated/clusters/)."
  }
}

variable "region" {
  description = "AWS region of the environment; also the region CloudWatch Logs uses the log key in."
  type        = string

  validation {
    condition     = can(regex("^[a-z]{2}(-[a-z]+)+-[0-9]$", var.region))
    error_message = "Give an AWS region name such as eu-west-1."
  }
}

variable "availability_zones" {
  description = "Availability zones for subnets and nodes; empty means zones a, b and c of the region. Listed explicitly so a zone AWS adds later never reshapes the network."
  type        = list(string)
  default     = []

  validation {
    condition     = length(var.availability_zones) == 0 || (length(var.availability_zones) >= 2 && length(var.availability_zones) <= 4)
    error_message = "Give between two and four availability zones, or none to use zones a, b and c of the region."
  }
}

variable "vpc_cidr" {
  description = "IPv4 CIDR of the environment's VPC; keep environments apart so they can be peered later."
  type        = string

  validation {
    condition     = can(cidrhost(var.vpc_cidr, 0)) && tonumber(split("/", var.vpc_cidr)[1]) <= 20
    error_message = "Give a valid IPv4 CIDR of size /20 or larger."
  }
}

variable "single_nat_gateway" {
  description = "One NAT gateway for the whole VPC (cheap, for dev) instead of one per availability zone (survives a zone outage)."
  type        = bool
  default     = false
}

variable "kubernetes_version" {
  description = "Kubernetes minor version of the EKS cluster; each environment names its own, so upgrades go dev, staging, prod."
  type        = string

  validation {
    condition     = can(regex("^1\\.(3[3-9])$", var.kubernetes_version))
    error_message = "Use a Kubernetes minor version still in EKS standard support, written like \"1.35\"."
  }
}

variable "node_groups" {
  description = "Managed node groups by name, as the eks module's `node_groups` describes them (instance types, capacity type, min/desired/max size, disk size, labels, taints); that module checks every field."
  type        = any

  validation {
    condition     = length(var.node_groups) > 0
    error_message = "Define at least one node group."
  }
}

variable "endpoint_public_access" {
  description = "Also expose the Kubernetes API publicly (restricted to `public_access_cidrs`). Off by default: run Terraform and kubectl from inside the VPC."
  type        = bool
  default     = false
}

variable "public_access_cidrs" {
  description = "Networks allowed to reach the public API endpoint when it is enabled."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for cidr in var.public_access_cidrs : can(cidrhost(cidr, 0)) && cidr != "0.0.0.0/0"])
    error_message = "Give valid CIDRs and not 0.0.0.0/0."
  }

  validation {
    condition     = !var.endpoint_public_access || length(var.public_access_cidrs) > 0
    error_message = "A public API endpoint needs at least one allowed CIDR (EKS would otherwise open it to the internet)."
  }
}

variable "admin_principal_arns" {
  description = "IAM roles or users that get cluster-admin (for example the SSO role of the platform team)."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for arn in var.admin_principal_arns : can(regex("^arn:aws[a-z-]*:iam::[0-9]{12}:(role|user)/", arn))])
    error_message = "Give IAM role or user ARNs."
  }
}

variable "github_owner" {
  description = "GitHub user or organisation that owns the platform repository."
  type        = string

  validation {
    condition     = can(regex("^[A-Za-z0-9](-?[A-Za-z0-9]){0,38}$", var.github_owner))
    error_message = "Give a GitHub user or organisation name."
  }
}

variable "github_repository" {
  description = "Name of the platform repository (the one holding specs/ and generated/)."
  type        = string

  validation {
    condition     = can(regex("^[A-Za-z0-9._-]{1,100}$", var.github_repository))
    error_message = "Give the bare repository name, not a URL."
  }
}

variable "flux_branch" {
  description = "Branch this cluster reconciles. dev and staging follow main; prod follows the branch the promotion workflow advances after the error-budget gate."
  type        = string

  validation {
    condition     = can(regex("^[A-Za-z0-9._/-]+$", var.flux_branch)) && !startswith(var.flux_branch, "/")
    error_message = "Give a plain branch name such as main."
  }
}
