"""CloudWatch dashboard and alarms for create-order: one definition for AWS and for local runs."""
