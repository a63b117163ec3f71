variable "api_reserved" {
  default = 20
}

resource "aws_lambda_function" "api" {
  function_name                  = "api"
  memory_size                    = 512
  reserved_concurrent_executions = 10 # burst guard
}

resource "aws_lambda_function" "worker" {
  function_name = "worker"
  runtime       = "python3.12"
}

resource "aws_lambda_function" "etl" {
  function_name                  = "etl"
  reserved_concurrent_executions = var.api_reserved
}
