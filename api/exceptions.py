"""Every API error is a JSON object: DRF's own, plus the cases it leaves to Django."""

from django.http import Http404, JsonResponse
from django.utils.translation import gettext as _
from rest_framework import status
from rest_framework.exceptions import UnsupportedMediaType
from rest_framework.response import Response
from rest_framework.views import exception_handler

from orders.exceptions import IllegalTransition


def api_exception_handler(exc, context):
    if isinstance(exc, IllegalTransition):
        return Response(
            {
                "detail": _("The parcel cannot go from %(current)s to %(target)s.")
                % {"current": exc.current, "target": exc.target},
                "code": "illegal_transition",
                "status": exc.current,
            },
            status=status.HTTP_409_CONFLICT,
        )
    if isinstance(exc, UnsupportedMediaType):
        # A body that is not JSON is a body that does not validate.
        return Response(
            {"detail": _("Send the body as JSON (Content-Type: application/json).")},
            status=status.HTTP_400_BAD_REQUEST,
        )
    if isinstance(exc, Http404):
        return Response({"detail": _("Not found.")}, status=status.HTTP_404_NOT_FOUND)
    return exception_handler(exc, context)


def not_found(request, *args, **kwargs):
    """Any address under /api/v1/ that names no call."""
    return JsonResponse({"detail": _("Not found.")}, status=404)


class ReferenceTaken(Exception):
    """The retailer already has an order with this reference."""


class IdempotencyKeyReused(Exception):
    """An Idempotency-Key sent again with another body."""
