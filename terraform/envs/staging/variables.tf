# Settings of the account and of whoever applies; terraform.tfvars.example lists the ones to fill in.
# What sets the environments apart is written in main.tf. modules/platform validates every value.

variable "region" {
  description = "AWS region of the environment."
  type        = string
  default     = "eu-west-1"
}

variable "availability_zones" {
  description = "Availability zones for subnets and nodes; empty means zones a, b and c of the region."
  type        = list(string)
  default     = []
}

variable "github_owner" {
  description = "GitHub user or organisation that owns the platform repository."
  type        = string
}

variable "github_repository" {
  description = "Name of the platform repository (the one holding specs/ and generated/)."
  type        = string
}

variable "admin_principal_arns" {
  description = "IAM roles or users that get cluster-admin (for example the SSO role of the platform team)."
  type        = list(string)
  default     = []
}

variable "endpoint_public_access" {
  description = "Also expose the Kubernetes API publicly, to `public_access_cidrs` only (for a first apply from outside the VPC)."
  type        = bool
  default     = false
}

variable "public_access_cidrs" {
  description = "Networks allowed to reach the public API endpoint when it is enabled."
  type        = list(string)
  default     = []
}
