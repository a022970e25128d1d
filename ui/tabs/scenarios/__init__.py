"""The Scenarios tab: browse, edit, validate, save and run scenario files."""
