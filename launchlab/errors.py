"""The one error type the toolkit shows to a user: a line saying what is wrong and what next."""


class LaunchlabError(Exception):
    """Printed as ``launchlab: <message>`` with exit code 2; never as a traceback."""
