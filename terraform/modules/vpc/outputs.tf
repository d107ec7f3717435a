output "vpc_id" {
  description = "ID of the VPC."
  value       = aws_vpc.this.id
}

output "private_subnet_ids" {
  description = "IDs of the private subnets (worker nodes and the EKS control-plane network interfaces)."
  value       = aws_subnet.private[*].id
}

output "public_subnet_ids" {
  description = "IDs of the public subnets (NAT gateways and internet-facing load balancers)."
  value       = aws_subnet.public[*].id
}

output "nat_public_ips" {
  description = "Public IPs the cluster's outbound traffic leaves from (useful for allow-lists, e.g. the Git host)."
  value       = aws_eip.nat[*].public_ip
}
