"""Celery entry points: ids only (a sign-in link never sits in Redis or a log)."""

from celery import shared_task
from django.contrib.auth import get_user_model

from otpdelivery.emails import render_email
from otpdelivery.signin_links import orders_signin_url


@shared_task(autoretry_for=(ConnectionError, TimeoutError), retry_backoff=True, max_retries=5)
def send_signin_link_email(user_id: int) -> bool:
    user = get_user_model().objects.filter(pk=user_id, is_active=True).first()
    if user is None or not user.email:
        return False
    language = user.orders.order_by("-pk").values_list("language", flat=True).first() or ""
    render_email(
        template="signinlinks/email/signin_link",
        context={"user": user, "signin_url": orders_signin_url(user)},
        to=user.email,
        language=language,
    ).send()
    return True
