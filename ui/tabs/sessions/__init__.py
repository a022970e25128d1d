"""The Sessions tab: recorded sessions listed, opened, compared and exported."""
