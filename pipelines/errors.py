"""Errors that mean "the input is wrong", shown to the user as one line."""

from __future__ import annotations


class InputError(ValueError):
    """Bad input a user can fix: the message names the file/field and the problem.

    The CLI prints ``str(error)`` on one line to stderr and exits non-zero,
    without a traceback.
    """
