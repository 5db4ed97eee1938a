"""`Authorization: Bearer <key>` for the retailer API."""

from django.utils.translation import gettext_lazy as _
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import authentication, exceptions, permissions

from retailers.services import api_key_authenticate


class ApiKeyAuthentication(authentication.BaseAuthentication):
    """The request's user is the key's retailer, its auth the ApiKey. A missing header is
    left to the permission (401); a wrong, revoked or malformed key is a 401 at once."""

    keyword = "Bearer"

    def authenticate(self, request):
        header = authentication.get_authorization_header(request).split()
        if not header or header[0].lower() != self.keyword.lower().encode():
            return None
        if len(header) != 2:
            raise exceptions.AuthenticationFailed(_("Invalid Authorization header."))
        try:
            raw_key = header[1].decode("ascii")
        except UnicodeDecodeError as error:
            raise exceptions.AuthenticationFailed(_("Invalid API key.")) from error
        api_key = api_key_authenticate(raw_key=raw_key)
        if api_key is None:
            raise exceptions.AuthenticationFailed(_("Invalid API key."))
        return (api_key.retailer, api_key)

    def authenticate_header(self, request):
        # Makes DRF answer 401 (not 403) with a WWW-Authenticate header.
        return f'{self.keyword} realm="api"'


class HasRetailerKey(permissions.BasePermission):
    def has_permission(self, request, view):
        return request.auth is not None


class ApiKeyScheme(OpenApiAuthenticationExtension):
    target_class = "api.authentication.ApiKeyAuthentication"
    name = "retailerKey"

    def get_security_definition(self, auto_schema):
        return {"type": "http", "scheme": "bearer", "description": "A retailer's API key."}
