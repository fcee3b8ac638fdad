"""Errors a user can cause, each with its one-line message and exit status.

Exit statuses: 0 ok, 1 failed, 2 usage or configuration error, 3 unreachable.
"""


class LabError(Exception):
    """Something went wrong that the user can act on; str() is one line."""
    exit_code = 1


class ConfigError(LabError):
    """A broken inventory, playbook or option."""
    exit_code = 2


class UnreachableError(LabError):
    """A node could not be reached."""
    exit_code = 3
