"""Reusable views with no knowledge of the window or its tabs: charts, plots, transcripts, sliders, number boxes, colours and theme."""
