"""Using a loaded model: steering and its range, per-token readings, the token generator."""
