"""Functions CodeDeploy runs during a deploy of the endpoint: nothing of the endpoint or the harness."""
