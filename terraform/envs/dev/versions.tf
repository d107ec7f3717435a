terraform {
  # 1.10 brings S3-native state locking (`use_lockfile`), used in backend.tf.
  required_version = ">= 1.10.0, < 2.0.0"

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = "~> 6.14"
    }
    tls = {
      source  = "hashicorp/tls"
      version = "~> 4.1"
    }
    github = {
      source  = "integrations/github"
      version = "~> 6.6"
    }
    flux = {
      source  = "fluxcd/flux"
      version = "~> 1.6"
    }
  }
}
