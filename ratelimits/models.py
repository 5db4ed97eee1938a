"""Counters behind otpdelivery.ratelimit: one row per limit, key and window, in the
database so that every web process shares them."""

from django.db import models


class RateLimitBucket(models.Model):
    # Which limit, e.g. "password_reset:recipient".
    scope = models.CharField(max_length=50)
    # A keyed hash of what is limited (an email address, a client address): the table
    # holds no personal data in the clear.
    key_digest = models.CharField(max_length=64)
    window_start = models.DateTimeField()
    hits = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["scope", "key_digest", "window_start"], name="ratelimit_one_bucket"
            ),
        ]

    def __str__(self):
        return f"{self.scope} {self.window_start:%Y-%m-%d %H:%M} ({self.hits})"
