"""What the alert services refuse."""


class AlertError(Exception):
    """Base of the alert services' refusals."""


class ResolutionNoteRequired(AlertError):
    """An alert is resolved only with a note saying what was done."""


class AlertAlreadyResolved(AlertError):
    """Someone resolved this alert already; their note stays."""
