"""Exceptions the library raises for problems a user can fix, and what each means as an exit code.

The CLI turns every `ToolkitError` into one line on stderr and `exit_code`; anything else is a bug
and keeps its traceback. Messages start with the file or object they are about, so a line in a log
of thousands of files says which one failed and why.
"""

from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    OK = 0
    CHECK_FAILED = 1  # the command ran, and what it checked is out of tolerance
    USAGE = 2  # typer/click's own code for a malformed command line
    BAD_INPUT = 3  # a file is missing, unreadable, corrupt or does not fit the model
    MISSING_DEPENDENCY = 4  # an optional extra (torch, onnxruntime, ...) is not installed, or no GPU
    INTERRUPTED = 130  # Ctrl-C or SIGTERM, as shells report SIGINT (128 + 2)


class ToolkitError(Exception):
    """A problem with the user's input or environment, reported as one line."""

    exit_code: ExitCode = ExitCode.BAD_INPUT


class InputError(ToolkitError):
    """A file or argument that cannot be used: missing, unreadable, corrupt, wrong shape."""


class UsageError(InputError):
    """An option value or a combination of options that cannot work: a bad command line (exit 2).
    An InputError too, so that Python callers catch every bad argument as one kind."""

    exit_code = ExitCode.USAGE


class WeightsMismatchError(InputError):
    """A weights file whose keys or shapes do not fit the model."""


class MissingDependencyError(ToolkitError):
    exit_code = ExitCode.MISSING_DEPENDENCY

    def __init__(self, module: str, extra: str, purpose: str, install: str = "") -> None:
        install = install or f"pip install 'line-art-toolkit[{extra}]'"
        super().__init__(f"{purpose} needs the '{module}' package: {install}")


class CheckFailed(ToolkitError):
    """A verification ran to the end and found results outside tolerance."""

    exit_code = ExitCode.CHECK_FAILED


def first_line(error: BaseException) -> str:
    """The first line of a third-party error's message (or its class name): the detail in our one-line
    messages, when libraries raise multi-line messages or none."""
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__
