"""Requests per API key, counted in the shared cache (Redis or the database), so that every
web process sees the same count."""

from rest_framework.throttling import SimpleRateThrottle


class ApiKeyRateThrottle(SimpleRateThrottle):
    scope = "api_key"

    def get_cache_key(self, request, view):
        if request.auth is None:
            return None  # refused by the permission anyway
        return self.cache_format % {"scope": self.scope, "ident": request.auth.pk}
