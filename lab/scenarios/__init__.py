"""Scenarios: files, validation, checks, runs, sweeps, statistics, coherence, lessons."""
