"""The site's URLs plus two that fail on purpose, to see the error pages people would get."""

from django.core.exceptions import PermissionDenied
from django.urls import path

from otpdelivery.urls import urlpatterns as site_urlpatterns


def boom(request):
    raise RuntimeError("a bug")


def forbidden(request):
    raise PermissionDenied


urlpatterns = [path("boom/", boom), path("forbidden/", forbidden), *site_urlpatterns]
