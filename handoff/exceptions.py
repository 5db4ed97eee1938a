"""Why the hand-over layer refused an action. Each is an answer for the person who asked
(the views and the admin turn it into a message), never a server error."""

from orders.exceptions import IllegalTransition, PickupPointUnavailable

__all__ = [
    "ActionRefused",
    "BoundForAPickupPoint",
    "IllegalTransition",
    "NotItsDeliveryDay",
    "NotOnARoute",
    "NotYourStop",
    "OnAnotherRoute",
    "PickupPointUnavailable",
    "StopFinished",
]


class ActionRefused(Exception):
    """The parcel is not in a state that allows this action."""


class NotItsDeliveryDay(ActionRefused):
    """A parcel goes out for delivery, or onto a route, only on its delivery day (rule 13)."""


class NotOnARoute(ActionRefused):
    """A parcel goes out for delivery only on a route of its day (rule 13)."""


class OnAnotherRoute(ActionRefused):
    """The parcel is already on another courier's route that day: operations move it."""


class StopFinished(ActionRefused):
    """The parcel's stop that day is already finished (rule 14): that day is over for it."""

    def __init__(self, stop):
        super().__init__(f"{stop.shipment_id}'s stop on {stop.day} is already {stop.outcome}.")
        self.stop = stop


class NotYourStop(ActionRefused):
    """Only the courier whose stop it is can hand the parcel over or record an attempt."""


class BoundForAPickupPoint(ActionRefused):
    """The parcel goes to its pickup point: it is dropped there, never attempted at a door
    (rule 15: on its way to the point, not a failed delivery)."""

    def __init__(self, shipment):
        super().__init__(f"{shipment} goes to {shipment.pickup_point}: it is dropped there.")
        self.shipment = shipment
