"""The window's tabs, one subpackage each; they never import one another."""
