"""Load tests: Locust users and shapes, the per-request audit, the main job and the deployed-stack runner."""
