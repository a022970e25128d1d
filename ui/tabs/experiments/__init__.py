"""The Experiments tab: sweeps over emotions x strengths x seeds."""
