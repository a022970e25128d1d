"""The Emotion editor and Emotion map tabs."""
