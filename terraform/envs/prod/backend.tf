# State in S3, locked by a `.tflock` object next to it (Terraform 1.10+, no DynamoDB table). Bucket
# and region come at init time: terraform init -backend-config="bucket=<bucket>" -backend-config="region=<region>".
# The state holds Flux's deploy key: see README.md ("Remote state") for the bucket's settings.
terraform {
  backend "s3" {
    key          = "platform/prod/terraform.tfstate"
    encrypt      = true
    use_lockfile = true
  }
}
