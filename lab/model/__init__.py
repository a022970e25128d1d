"""Loading models (specs, GGUF cache, hub) and the forward hooks on their decoder layers."""
