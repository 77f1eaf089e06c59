"""The two ways a conversion step says no: the input is bad, or one layer stays float."""


class ConversionError(ValueError):
    """Bad input or an unwritable output: one sentence naming the file and what to do."""

    def __init__(self, message: str):
        super().__init__(" ".join(str(message).split()))  # always a single line


class NotConvertible(Exception):
    """A layer that stays float; the message is the reason shown in the report."""
