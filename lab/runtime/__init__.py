"""Using a loaded model: steering, per-token readings, the token generator and its events."""
