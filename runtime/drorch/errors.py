"""Errors drorch raises on purpose, with a message meant for a human."""


class DrorchError(Exception):
    """Base class: the message is one clear line; ``hint`` says what to do."""

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.hint = hint


class InputError(DrorchError):
    """A file or argument the user gave is wrong; nothing was changed."""
