# IAM Roles for Service Accounts: the cluster's OIDC issuer becomes an IAM identity provider, so a
# Kubernetes service account can assume an IAM role scoped to it (used below by the EBS CSI driver).

data "tls_certificate" "oidc_issuer" {
  url = aws_eks_cluster.this.identity[0].oidc[0].issuer
}

resource "aws_iam_openid_connect_provider" "this" {
  url             = aws_eks_cluster.this.identity[0].oidc[0].issuer
  client_id_list  = ["sts.amazonaws.com"]
  thumbprint_list = [data.tls_certificate.oidc_issuer.certificates[length(data.tls_certificate.oidc_issuer.certificates) - 1].sha1_fingerprint]
  tags            = var.tags
}

locals {
  oidc_issuer_host = replace(aws_eks_cluster.this.identity[0].oidc[0].issuer, "https://", "")
}
