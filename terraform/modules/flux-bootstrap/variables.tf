variable "environment" {
  description = "Environment whose compiled manifests this cluster reconciles: Flux syncs `generated/clusters/<environment>`."
  type        = string

  validation {
    condition     = contains(["dev", "staging", "prod"], var.environment)
    error_message = "The environment must be dev, staging or prod (the directories platformc writes under generated/clusters/)."
  }
}

variable "sync_interval" {
  description = "How often Flux fetches the repository and reconciles the cluster (a Go duration)."
  type        = string
  default     = "1m0s"

  validation {
    condition     = can(regex("^([0-9]+h)?([0-9]+m)?([0-9]+s)?$", var.sync_interval)) && var.sync_interval != ""
    error_message = "Give a Go duration such as 1m0s, 5m or 1h."
  }
}

variable "components_extra" {
  description = "Optional Flux controllers to install besides the default four (for example `image-reflector-controller`)."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for component in var.components_extra : contains(["image-reflector-controller", "image-automation-controller", "source-watcher"], component)])
    error_message = "Extra components are image-reflector-controller, image-automation-controller or source-watcher."
  }
}
