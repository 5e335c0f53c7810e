"""Fault injection for the create-order harness: plans as data, injected at the SDK edge."""
