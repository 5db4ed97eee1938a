"""Customer emails in plain text and HTML, rendered in the reader's language."""

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string
from django.utils import translation


def render_email(
    *, template: str, context: dict, to: str, language: str, subject: str | None = None
) -> EmailMultiAlternatives:
    """`<template>.txt` and `<template>.html`, with `<template>_subject.txt` as the subject
    unless one is given, all rendered in `language` (the site's default when empty)."""
    language = language or settings.LANGUAGE_CODE
    context = {**context, "language": language}
    with translation.override(language):
        if subject is None:
            subject = render_to_string(f"{template}_subject.txt", context).strip()
        text = render_to_string(f"{template}.txt", context)
        html = render_to_string(f"{template}.html", context)
    message = EmailMultiAlternatives(subject=subject, body=text, to=[to])
    message.attach_alternative(html, "text/html")
    return message
