"""otpdelivery: parcels handed over only against a one-time delivery code."""

from .celery import app as celery_app

__all__ = ("celery_app",)
