"""Simulated citizens and agents on Local channels, for the demo, tests and benchmarks."""
