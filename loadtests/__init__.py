"""Load tests: the local stage, Locust users and shapes, and the per-request audit."""
