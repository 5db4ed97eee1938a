"""Keep delivery codes out of log lines and error reports (rule 9), whatever slips in.

The code services never hand a code to a logger; these are the second line of defence:
anything that looks like a code (six digits in a row, or two groups of three as people
read it aloud) is masked in every log record, and (otpdelivery.error_reports) in every
error report Django builds. No Django import here: gunicorn's master loads this filter
before Django is set up.
Masking a few innocent six-digit numbers is the price, and a small one.
"""

import logging
import re

# Not after "#": a colour such as #333333 in an error page's stylesheet is no code.
CODE_LIKE = re.compile(r"(?<![#0-9])[0-9]{3}[ \-\u2010-\u2014\u2212]?[0-9]{3}(?![0-9])")
MASK = "******"

# Attributes every LogRecord has; anything else was added with `extra=` and is written
# out by the JSON formatter, so it is masked too.
_STANDARD_ATTRS = frozenset(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {
    "message",
    "asctime",
}


def redact(text: str) -> str:
    return CODE_LIKE.sub(MASK, text)


class RedactCodesFilter(logging.Filter):
    """A handler filter: masks code-like digits in the message, traceback and extras."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if CODE_LIKE.search(message):
            record.msg, record.args = redact(message), None
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
