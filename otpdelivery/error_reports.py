"""Django's error page and error emails, with anything code-like masked (rule 9)."""

from django.views.debug import ExceptionReporter

from .redaction import redact


class CodeRedactingExceptionReporter(ExceptionReporter):
    """Django's error page and error email, with anything code-like masked.

    sensitive_post_parameters already hides the posted code; this also covers a code in
    an exception's message, a local variable of any frame, a URL or a header.
    """

    def get_traceback_html(self):
        return redact(str(super().get_traceback_html()))

    def get_traceback_text(self):
        return redact(str(super().get_traceback_text()))
