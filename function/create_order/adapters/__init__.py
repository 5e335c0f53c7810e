"""The only modules that talk to AWS: DynamoDB and SQS behind the logic's protocols."""
