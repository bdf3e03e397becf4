"""The one exception type users see: its message is the whole error report."""


class SbnError(Exception):
    """A problem with the user's input or environment.

    The message is one line that says what is wrong and how to fix it. The CLI
    prints it without a traceback and exits non-zero.
    """
