variable "name" {
  description = "Name prefix of every network resource (for example `platform-dev`)."
  type        = string

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{1,38}$", var.name))
    error_message = "The name must start with a lower-case letter and hold 2-39 lower-case letters, digits or '-'."
  }
}

variable "cidr_block" {
  description = "IPv4 CIDR of the VPC: each private subnet gets an eighth of it (a /19 of a /16), the public subnets share the last eighth."
  type        = string

  validation {
    condition     = can(cidrhost(var.cidr_block, 0)) && tonumber(split("/", var.cidr_block)[1]) <= 20
    error_message = "The VPC CIDR must be a valid IPv4 block of size /20 or larger."
  }
}

variable "availability_zones" {
  description = "Availability zones to spread subnets over; EKS needs at least two."
  type        = list(string)

  validation {
    condition     = length(var.availability_zones) >= 2 && length(var.availability_zones) <= 4
    error_message = "Give between two and four availability zones."
  }
}

variable "single_nat_gateway" {
  description = "One NAT gateway for the whole VPC (cheaper, fine for dev) instead of one per availability zone (survives a zone outage)."
  type        = bool
  default     = false
}

variable "cluster_name" {
  description = "Name of the EKS cluster that will use these subnets; written into the subnet tags the AWS load balancer integration looks for."
  type        = string

  validation {
    condition     = can(regex("^[0-9A-Za-z][A-Za-z0-9_-]{0,99}$", var.cluster_name))
    error_message = "EKS cluster names hold 1-100 letters, digits, '-' or '_' and start with a letter or digit."
  }
}

variable "flow_log_kms_key_arn" {
  description = "ARN of the KMS key that encrypts the VPC flow log group (the key must allow the CloudWatch Logs service)."
  type        = string

  validation {
    condition     = can(regex("^arn:aws[a-z-]*:kms:", var.flow_log_kms_key_arn))
    error_message = "Give the ARN of a KMS key (arn:aws:kms:...)."
  }
}

variable "flow_log_retention_days" {
  description = "Days to keep VPC flow logs."
  type        = number
  default     = 365

  validation {
    condition     = contains([365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653], var.flow_log_retention_days)
    error_message = "Keep flow logs at least one year, using a retention CloudWatch Logs accepts (365, 400, 545, 731, ... 3653)."
  }
}

variable "tags" {
  description = "Tags added to every resource."
  type        = map(string)
  default     = {}
}
