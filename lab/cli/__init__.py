"""The command line: `python -m lab COMMAND`."""
