"""Errors raised by the code services: programming or configuration faults, never the
outcome of a person's entry (those are EntryResult outcomes)."""


class IllegalCodeTransition(Exception):
    """A code was asked to move to a status its current one does not lead to."""

    def __init__(self, current: str, target: str):
        super().__init__(f"A delivery code cannot go from {current!r} to {target!r}.")
        self.current = current
        self.target = target


class CodeEntryNotAllowed(Exception):
    """The caller asked for a code check that the parcel's state does not allow."""


class CodeGenerationFailed(Exception):
    """No free code could be drawn (a pickup point with implausibly many active codes)."""


class OverrideReasonMissing(Exception):
    """Operations tried to hand a parcel over without its code but gave no written reason."""


class NoCodeToResend(Exception):
    """The parcel has no code that can still be used, so there is nothing to send again."""


class ResendLimitReached(Exception):
    """The customer asked for the code again too often; say when they may ask next."""

    def __init__(self, *, next_allowed_at):
        super().__init__(f"Code resend limit reached until {next_allowed_at.isoformat()}")
        self.next_allowed_at = next_allowed_at
