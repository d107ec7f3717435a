variable "repository" {
  description = "Name of the GitHub repository (without the owner) that holds `generated/` and that Flux syncs from."
  type        = string

  validation {
    condition     = can(regex("^[A-Za-z0-9._-]{1,100}$", var.repository))
    error_message = "Give the bare repository name, e.g. `platform`, not a URL or owner/name."
  }
}

variable "title" {
  description = "Title of the deploy key as shown in the repository settings."
  type        = string

  validation {
    condition     = length(var.title) > 0 && length(var.title) <= 100
    error_message = "The title must be between 1 and 100 characters."
  }
}
