"""Benchmarks, the self-test and the validation report: measuring the lab itself."""
