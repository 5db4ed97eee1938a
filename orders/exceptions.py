"""Errors raised by order and shipment services."""


class IllegalTransition(Exception):
    """A shipment was asked to move to a status its current one does not lead to."""

    def __init__(self, current: str, target: str):
        super().__init__(f"A shipment cannot go from {current!r} to {target!r}.")
        self.current = current
        self.target = target


class PickupPointUnavailable(Exception):
    """The parcel cannot go to, or be received at, this pickup point (inactive, or the
    parcel is addressed to another one)."""
