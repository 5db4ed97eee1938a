"""JSON bodies only, and not too large: a body past the limit is refused before parsing."""

from django.conf import settings
from django.utils.translation import gettext as _
from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser


class LimitedJSONParser(JSONParser):
    def parse(self, stream, media_type=None, parser_context=None):
        request = (parser_context or {}).get("request")
        limit = settings.API_MAX_BODY_BYTES
        length = request.META.get("CONTENT_LENGTH") if request is not None else None
        try:
            too_large = length is not None and int(length) > limit
        except ValueError:
            too_large = True
        if too_large:
            raise ParseError(_("The body is larger than %(limit)d bytes.") % {"limit": limit})
        return super().parse(stream, media_type, parser_context)
