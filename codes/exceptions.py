"""Errors raised by the code services: programming or configuration faults, never the
outcome of a person's entry (those are EntryResult outcomes)."""


class CodeEntryNotAllowed(Exception):
    """The caller asked for a code check that the parcel's state does not allow."""


class CodeGenerationFailed(Exception):
    """No free code could be drawn (a pickup point with implausibly many active codes)."""


class OverrideReasonMissing(Exception):
    """Operations tried to hand a parcel over without its code but gave no written reason."""
