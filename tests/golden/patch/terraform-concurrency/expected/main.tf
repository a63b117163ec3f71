variable "api_reserved" {
  default = 20
}

variable "etl_alias" {
  default = "prod"
}

resource "aws_lambda_function" "api" {
  function_name                  = "api"
  memory_size                    = 512
  reserved_concurrent_executions = 25 # burst guard
}

resource "aws_lambda_alias" "api_live" {
  name             = "live"
  function_name    = aws_lambda_function.api.function_name
  function_version = aws_lambda_function.api.version
}

resource "aws_lambda_provisioned_concurrency_config" "api" {
  function_name                     = aws_lambda_alias.api_live.function_name
  qualifier                         = aws_lambda_alias.api_live.name
  provisioned_concurrent_executions = 6 # sale
}

resource "aws_lambda_function" "worker" {
  function_name = "worker"
  runtime       = "python3.12"
  reserved_concurrent_executions = 5
}

resource "aws_lambda_provisioned_concurrency_config" "worker_live" {
  function_name                     = aws_lambda_function.worker.function_name
  qualifier                         = "live"
  provisioned_concurrent_executions = 3
}

resource "aws_lambda_function" "etl" {
  function_name                  = "etl"
  reserved_concurrent_executions = var.api_reserved
}

resource "aws_lambda_provisioned_concurrency_config" "etl" {
  function_name                     = "etl"
  qualifier                         = var.etl_alias
  provisioned_concurrent_executions = 1
}

resource "aws_lambda_function" "bare" {
  function_name = "bare"
}
