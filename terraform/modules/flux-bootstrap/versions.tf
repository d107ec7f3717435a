terraform {
  required_version = ">= 1.10.0"

  required_providers {
    flux = {
      source  = "fluxcd/flux"
      version = ">= 1.5.0, < 2.0.0"
    }
  }
}
