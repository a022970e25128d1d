"""Shared by every layer: the user-facing error, file locations, the progress protocol, intervals."""
