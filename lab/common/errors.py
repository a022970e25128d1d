"""The one exception type whose message is meant for the user."""


class LabError(Exception):
    """An error with a message written for the user: what is wrong and what to do."""
