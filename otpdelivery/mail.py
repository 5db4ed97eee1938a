"""The development console's email backend: each email as a person reads it."""

from django.core.mail.backends.console import EmailBackend as DjangoConsoleBackend


class ReadableConsoleBackend(DjangoConsoleBackend):
    """Writes the headers a person looks at and the plain-text body, decoded.

    Django's console backend writes the raw MIME message: quoted-printable text (words cut
    by `=`, `=E2=80=93` for a dash) and every HTML alternative in full. The HTML part is
    named, not printed; it is the same text as the plain one.
    """

    HEADERS = ("From", "To", "Cc", "Bcc", "Reply-To", "Subject", "Date")

    def write_message(self, message):
        lines = []
        for name in self.HEADERS:
            value = self._header(message, name)
            if value:
                lines.append(f"{name}: {value}")
        lines += ["", message.body.rstrip("\n")]
        for _content, mimetype in getattr(message, "alternatives", []):
            lines.append(f"[{mimetype} version not shown]")
        for attachment in message.attachments:
            name = getattr(attachment, "filename", None) or "attachment"
            lines.append(f"[attachment not shown: {name}]")
        self.stream.write("\n".join(lines) + "\n" + "-" * 79 + "\n")

    @staticmethod
    def _header(message, name) -> str:
        values = {
            "From": message.from_email,
            "To": ", ".join(message.to),
            "Cc": ", ".join(message.cc),
            "Bcc": ", ".join(message.bcc),
            "Reply-To": ", ".join(message.reply_to),
            "Subject": message.subject,
        }
        if name in values:
            return values[name]
        return str(message.extra_headers.get(name, ""))
