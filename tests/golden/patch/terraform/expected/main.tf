variable "worker_memory" {
  type    = number
  default = 512
}

# The public API; memory tuned by memtune.
resource "aws_lambda_function" "api" {
  function_name = "orders-api"
  role          = aws_iam_role.lambda.arn
  handler       = "app.handler"
  runtime       = "python3.12"
  memory_size   = 1024 # MB

  environment {
    variables = {
      MEMORY_HINT = "256"
    }
  }
}

resource "aws_lambda_function" "worker" {
  function_name = "orders-worker"
  role          = aws_iam_role.lambda.arn
  handler       = "worker.handler"
  memory_size   = var.worker_memory
}

resource "aws_lambda_function" "cron" {
  function_name = "orders-cron"
  role          = aws_iam_role.lambda.arn
  handler       = "cron.handler"
  memory_size = 512
}

module "thumbnailer" {
  source        = "terraform-aws-modules/lambda/aws"
  function_name = "thumbnailer"
  memory_size   = "1769"
}

resource "aws_lambda_function" "templated" {
  function_name = "orders-${terraform.workspace}"
  memory_size   = 128
}
