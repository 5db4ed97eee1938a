"""URL converters shared by the portals."""


class TrackingNumberConverter:
    """A tracking number in an address: letters and digits only.

    Anything else (a NUL that PostgreSQL refuses in a query, 10 kB of junk, an injection
    attempt) never reaches a view: the address does not exist, a plain 404.
    """

    regex = "[0-9A-Za-z]{1,40}"

    def to_python(self, value: str) -> str:
        return value

    def to_url(self, value: str) -> str:
        return value
