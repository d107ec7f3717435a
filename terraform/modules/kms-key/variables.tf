variable "name" {
  description = "Alias of the key, without the `alias/` prefix (for example `platform-dev-logs`)."
  type        = string

  validation {
    condition     = can(regex("^[a-zA-Z0-9/_-]{1,200}$", var.name)) && !startswith(var.name, "aws/")
    error_message = "The name may hold letters, digits, '/', '_' and '-' and must not start with the reserved 'aws/' prefix."
  }
}

variable "description" {
  description = "What the key protects; shown in the KMS console."
  type        = string

  validation {
    condition     = length(var.description) > 0 && length(var.description) <= 8192
    error_message = "The description must be between 1 and 8192 characters."
  }
}

variable "cloudwatch_logs_region" {
  description = "When set, CloudWatch Logs in this region may use the key for log groups of this account (for encrypted log groups)."
  type        = string
  default     = null

  validation {
    condition     = var.cloudwatch_logs_region == null || can(regex("^[a-z]{2}(-[a-z]+)+-[0-9]$", var.cloudwatch_logs_region))
    error_message = "Give an AWS region name such as eu-west-1."
  }
}

variable "allow_autoscaling_volumes" {
  description = "Let the EC2 Auto Scaling service-linked role use the key, which EKS managed node groups need to launch nodes with volumes encrypted by it."
  type        = bool
  default     = false
}

variable "deletion_window_in_days" {
  description = "Days KMS waits before deleting the key after `terraform destroy`; the longer, the more time to undo a mistake."
  type        = number
  default     = 30

  validation {
    condition     = var.deletion_window_in_days >= 7 && var.deletion_window_in_days <= 30
    error_message = "KMS accepts a deletion window between 7 and 30 days."
  }
}

variable "tags" {
  description = "Tags added to the key."
  type        = map(string)
  default     = {}
}
