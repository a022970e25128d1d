"""Emotions: example texts -> activations -> directions (extraction, calibration, validation, file formats, control vectors)."""
