"""Keep delivery codes out of log lines and error reports (rule 9), whatever slips in.

The code services never hand a code to a logger; these are the second line of defence:
anything that looks like a code (six digits standing alone as a word, or two groups of
three as people read it aloud) is masked in every log record, and
(otpdelivery.error_reports) in every error report Django builds. Digits that are part of
something else are left alone: the microseconds of a timestamp (`00:00:00.123456`), a
decimal, a colour (`#333333`), a longer number, and in a request line of the access log
(runserver, gunicorn) everything after the quoted request: status, size and duration.
No Django import here: gunicorn's master loads this filter before Django is set up.
Masking a few innocent six-digit words is the price, and a small one.
"""

import logging
import re

# A word on its own: not inside a longer word or number, not after "#" (a colour such as
# #333333), not the fraction of a number or a timestamp (after "5." or "00:00:00,").
CODE_LIKE = re.compile(
    r"(?<![\w#])(?<![0-9][.,:])"
    r"[0-9]{3}[ \-\u2010-\u2014\u2212]?[0-9]{3}"
    r"(?!\w)(?![.,:][0-9])"
)
MASK = "******"
# Loggers whose lines are '"<request line>" status size [duration]': only the request line
# (its path and query string) can hold a code.
ACCESS_LOGGERS = frozenset({"django.server", "gunicorn.access"})
_QUOTED = re.compile(r'"[^"]*"')

# Attributes every LogRecord has; anything else was added with `extra=` and is written
# out by the JSON formatter, so it is masked too.
_STANDARD_ATTRS = frozenset(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {
    "message",
    "asctime",
}


def redact(text: str) -> str:
    return CODE_LIKE.sub(MASK, text)


def redact_access_line(text: str) -> str:
    """Mask codes in the quoted request line only, not in the status, size or duration."""
    return _QUOTED.sub(lambda quoted: redact(quoted.group()), text)


class RedactCodesFilter(logging.Filter):
    """A handler filter: masks code-like digits in the message, traceback and extras."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        masked = redact_access_line(message) if record.name in ACCESS_LOGGERS else redact(message)
        if masked != message:
            record.msg, record.args = masked, None
        if record.exc_info:
            formatted = logging.Formatter().formatException(record.exc_info)
            if CODE_LIKE.search(formatted):
                # The masked text replaces the exception for every formatter after us.
                record.exc_info, record.exc_text = None, redact(formatted)
        elif record.exc_text and CODE_LIKE.search(record.exc_text):
            record.exc_text = redact(record.exc_text)
        for name, value in list(vars(record).items()):
            if name not in _STANDARD_ATTRS and isinstance(value, str) and CODE_LIKE.search(value):
                setattr(record, name, redact(value))
        return True
