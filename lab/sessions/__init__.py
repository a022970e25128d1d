"""Sessions: a generation recorded into the store, and a recorded session re-run on the engine."""
