"""The local stage: moto server, Lambda-like workers and an API Gateway front, from template.yaml."""
