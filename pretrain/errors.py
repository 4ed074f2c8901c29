"""The error every command raises for bad user input."""


class UsageError(ValueError):
    """Bad input from the user: the message names the file, line or argument
    at fault and says what to do. The CLI prints it without a traceback and
    exits with status 2."""
