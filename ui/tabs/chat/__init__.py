"""The Chat and Compare tabs and the generation jobs they share."""
