variable "cluster_name" {
  description = "Name of the EKS cluster."
  type        = string

  validation {
    condition     = can(regex("^[0-9A-Za-z][A-Za-z0-9_-]{0,99}$", var.cluster_name))
    error_message = "EKS cluster names hold 1-100 letters, digits, '-' or '_' and start with a letter or digit."
  }
}

variable "kubernetes_version" {
  description = "Kubernetes minor version of the control plane and node groups (EKS standard support)."
  type        = string
  default     = "1.35"

  validation {
    condition     = can(regex("^1\\.(3[3-9])$", var.kubernetes_version))
    error_message = "Use a Kubernetes minor version still in EKS standard support, written like \"1.35\"."
  }
}

variable "vpc_id" {
  description = "ID of the VPC the cluster lives in."
  type        = string

  validation {
    condition     = can(regex("^vpc-[0-9a-f]+$", var.vpc_id))
    error_message = "Give a VPC ID (vpc-...)."
  }
}

variable "subnet_ids" {
  description = "Private subnets for the control-plane network interfaces and the worker nodes, in at least two availability zones."
  type        = list(string)

  validation {
    condition     = length(var.subnet_ids) >= 2 && alltrue([for id in var.subnet_ids : can(regex("^subnet-[0-9a-f]+$", id))])
    error_message = "Give at least two subnet IDs (subnet-...)."
  }
}

variable "endpoint_public_access" {
  description = "Expose the Kubernetes API on a public endpoint as well as the private one. Off by default: reach the API from inside the VPC (VPN, bastion, self-hosted runner)."
  type        = bool
  default     = false
}

variable "public_access_cidrs" {
  description = "CIDRs allowed to reach the public API endpoint when `endpoint_public_access` is on; never the whole internet."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for cidr in var.public_access_cidrs : can(cidrhost(cidr, 0)) && cidr != "0.0.0.0/0"])
    error_message = "Give valid CIDRs and not 0.0.0.0/0: the public endpoint must be restricted to known networks."
  }

  # EKS opens a public endpoint to 0.0.0.0/0 when no CIDR is given.
  validation {
    condition     = !var.endpoint_public_access || length(var.public_access_cidrs) > 0
    error_message = "A public API endpoint needs at least one allowed CIDR in public_access_cidrs."
  }
}

variable "log_kms_key_arn" {
  description = "ARN of the KMS key that encrypts the control-plane log group (the key must allow the CloudWatch Logs service)."
  type        = string

  validation {
    condition     = can(regex("^arn:aws[a-z-]*:kms:", var.log_kms_key_arn))
    error_message = "Give the ARN of a KMS key (arn:aws:kms:...)."
  }
}

variable "log_retention_days" {
  description = "Days to keep the control-plane logs (api, audit, authenticator, controllerManager, scheduler)."
  type        = number
  default     = 365

  validation {
    condition     = contains([365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653], var.log_retention_days)
    error_message = "Keep control-plane logs at least one year, using a retention CloudWatch Logs accepts (365, 400, 545, 731, ... 3653)."
  }
}

variable "node_groups" {
  description = <<-EOT
    Managed node groups by name. `instance_types` are tried in order; `capacity_type` is ON_DEMAND or SPOT;
    `min_size <= desired_size <= max_size`; `disk_size_gib` is the encrypted root volume; `labels` and
    `taints` (effect NO_SCHEDULE, NO_EXECUTE or PREFER_NO_SCHEDULE) go onto every node of the group.
  EOT
  type = map(object({
    instance_types = list(string)
    capacity_type  = optional(string, "ON_DEMAND")
    min_size       = number
    desired_size   = number
    max_size       = number
    disk_size_gib  = optional(number, 50)
    labels         = optional(map(string), {})
    taints = optional(list(object({
      key    = string
      value  = optional(string)
      effect = string
    })), [])
  }))

  validation {
    condition     = length(var.node_groups) > 0
    error_message = "Define at least one node group."
  }

  validation {
    condition     = alltrue([for group in values(var.node_groups) : group.min_size >= 0 && group.min_size <= group.desired_size && group.desired_size <= group.max_size && group.max_size > 0])
    error_message = "Each node group needs 0 <= min_size <= desired_size <= max_size and max_size > 0."
  }

  validation {
    condition     = alltrue([for group in values(var.node_groups) : length(group.instance_types) > 0 && contains(["ON_DEMAND", "SPOT"], group.capacity_type)])
    error_message = "Each node group needs at least one instance type and a capacity_type of ON_DEMAND or SPOT."
  }

  validation {
    condition     = alltrue([for group in values(var.node_groups) : group.disk_size_gib >= 20 && group.disk_size_gib <= 16384])
    error_message = "disk_size_gib must be between 20 and 16384."
  }

  validation {
    condition     = alltrue(flatten([for group in values(var.node_groups) : [for taint in group.taints : contains(["NO_SCHEDULE", "NO_EXECUTE", "PREFER_NO_SCHEDULE"], taint.effect)]]))
    error_message = "Taint effects are NO_SCHEDULE, NO_EXECUTE or PREFER_NO_SCHEDULE."
  }

  validation {
    condition     = alltrue([for name in keys(var.node_groups) : can(regex("^[a-z][a-z0-9-]{0,30}$", name))])
    error_message = "Node group names start with a lower-case letter and hold up to 31 lower-case letters, digits or '-'."
  }
}

variable "admin_principal_arns" {
  description = "IAM roles or users granted cluster-admin through EKS access entries (the identity running Terraform gets it automatically at creation)."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for arn in var.admin_principal_arns : can(regex("^arn:aws[a-z-]*:iam::[0-9]{12}:(role|user)/", arn))])
    error_message = "Give IAM role or user ARNs (arn:aws:iam::123456789012:role/...)."
  }
}

variable "tags" {
  description = "Tags added to every resource."
  type        = map(string)
  default     = {}
}
