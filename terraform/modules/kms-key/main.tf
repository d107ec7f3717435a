# A customer-managed KMS key with yearly rotation and an explicit key policy: the account root keeps
# administrative control (so IAM policies in the account can grant use of the key), CloudWatch Logs
# may use it for this account's log groups, and Auto Scaling may use it for node volumes, each only
# when asked for.

data "aws_caller_identity" "current" {}

data "aws_partition" "current" {}

locals {
  partition            = data.aws_partition.current.partition
  account_id           = data.aws_caller_identity.current.account_id
  autoscaling_role_arn = "arn:${local.partition}:iam::${local.account_id}:role/aws-service-role/autoscaling.amazonaws.com/AWSServiceRoleForAutoScaling"
}

# In a key policy the resource "*" means "this key" and nothing else, which is what these three IAM
# checks, written for identity policies, read as unconstrained.
data "aws_iam_policy_document" "key" {
  #checkov:skip=CKV_AWS_109:Key policy; "*" is the key itself and administration stays with this account's root, as AWS's default key policy does.
  #checkov:skip=CKV_AWS_111:Key policy; "*" is the key itself, and service use is narrowed by principal and condition.
  #checkov:skip=CKV_AWS_356:Key policy; "*" is the only resource a key policy can name and it means this key.

  statement {
    sid       = "AccountAdministration"
    actions   = ["kms:*"]
    resources = ["*"]

    principals {
      type        = "AWS"
      identifiers = ["arn:${local.partition}:iam::${local.account_id}:root"]
    }
  }

  dynamic "statement" {
    for_each = var.cloudwatch_logs_region == null ? [] : [var.cloudwatch_logs_region]

    content {
      sid = "CloudWatchLogsUse"
      actions = [
        "kms:Decrypt*",
        "kms:Describe*",
        "kms:Encrypt*",
        "kms:GenerateDataKey*",
        "kms:ReEncrypt*",
      ]
      resources = ["*"]

      principals {
        type        = "Service"
        identifiers = ["logs.${statement.value}.amazonaws.com"]
      }

      condition {
        test     = "ArnLike"
        variable = "kms:EncryptionContext:aws:logs:arn"
        values   = ["arn:${local.partition}:logs:${statement.value}:${local.account_id}:log-group:*"]
      }
    }
  }

  dynamic "statement" {
    for_each = var.allow_autoscaling_volumes ? [1] : []

    content {
      sid = "AutoScalingVolumeUse"
      actions = [
        "kms:Decrypt",
        "kms:DescribeKey",
        "kms:Encrypt",
        "kms:GenerateDataKey*",
        "kms:ReEncrypt*",
      ]
      resources = ["*"]

      principals {
        type        = "AWS"
        identifiers = [local.autoscaling_role_arn]
      }
    }
  }

  dynamic "statement" {
    for_each = var.allow_autoscaling_volumes ? [1] : []

    content {
      sid       = "AutoScalingVolumeGrants"
      actions   = ["kms:CreateGrant"]
      resources = ["*"]

      principals {
        type        = "AWS"
        identifiers = [local.autoscaling_role_arn]
      }

      condition {
        test     = "Bool"
        variable = "kms:GrantIsForAWSResource"
        values   = ["true"]
      }
    }
  }
}

resource "aws_kms_key" "this" {
  description             = var.description
  enable_key_rotation     = true
  rotation_period_in_days = 365
  deletion_window_in_days = var.deletion_window_in_days
  policy                  = data.aws_iam_policy_document.key.json
  tags                    = var.tags
}

resource "aws_kms_alias" "this" {
  name          = "alias/${var.name}"
  target_key_id = aws_kms_key.this.key_id
}
