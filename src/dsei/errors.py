"""Exceptions that the CLI turns into one ``error:`` line and exit status 2.

Every error a user can cause by their input is a :class:`DseiError`; its message is a single line
that names the offending file (or option) and the problem. Anything else is a bug and is reported
as such (with the traceback only under ``--debug``).
"""

from __future__ import annotations


class DseiError(Exception):
    """Base class for errors caused by user input or environment, never by a bug."""

    exit_code = 2

    def __init__(self, message: str):
        # One line, always: the CLI prints it after ``error:``.
        super().__init__(" ".join(str(message).split()))


class InputError(DseiError):
    """A structure file or option is unusable. ``source`` is the file (or option) name."""

    def __init__(self, source: object, problem: str):
        self.source = str(source)
        self.problem = problem
        super().__init__(f"{source}: {problem}")


class ModelUnavailableError(DseiError):
    """A model cannot be loaded here (package missing, weights not on disk, ...)."""


class CalculationError(DseiError):
    """A calculation failed for one structure (e.g. relaxation diverged); others may go on."""


class Interrupted(DseiError):
    """The user stopped a long run (Ctrl-C). The message says what was kept and how to resume; exit 130."""

    exit_code = 130
    prefix = "interrupted"
