# Remote state in S3 with S3-native locking (a `.tflock` object next to the state; no DynamoDB
# table needed since Terraform 1.10). Bucket and region are supplied at init time so the same code
# serves every account:
#
#   terraform init -backend-config="bucket=<state-bucket>" -backend-config="region=<region>"
#
# The bucket must have versioning, default encryption and Block Public Access turned on; the state
# holds the Flux deploy key, so only the platform team's deploy role may read it.
terraform {
  backend "s3" {
    key          = "platform/dev/terraform.tfstate"
    encrypt      = true
    use_lockfile = true
  }
}
