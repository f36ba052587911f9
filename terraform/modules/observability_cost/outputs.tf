output "kms_key_arn" {
  description = "KMS key for this environment's log groups, audit trail and budget topic."
  value       = aws_kms_key.this.arn
}

output "budget_topic_arn" {
  description = "SNS topic receiving the budget notifications."
  value       = aws_sns_topic.budget.arn
}

output "budget_name" {
  description = "Name of the monthly cost budget."
  value       = aws_budgets_budget.monthly.name
}

output "trail_arn" {
  description = "ARN of the CloudTrail trail."
  value       = aws_cloudtrail.this.arn
}

output "trail_bucket" {
  description = "S3 bucket holding the audit trail's log files."
  value       = aws_s3_bucket.trail.id
}
