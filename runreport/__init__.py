"""A local run's report: the dashboard's definition drawn from the run's own data, a stand-in for CloudWatch."""
