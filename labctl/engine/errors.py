"""Errors the engine raises before or while running a playbook."""


class PlaybookError(Exception):
    """A playbook, role or task file cannot be loaded; ``str()`` is one line naming file and line."""


class TaskFailure(Exception):
    """Internal: a task failed on a host with this one-line message."""
