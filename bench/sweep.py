"""One timed run of the day-end sweep, or of the raw SQL UPDATE it is compared with.

Run by bench/run.py in a fresh process, so that the peak memory (ru_maxrss) it reports
belongs to this run alone: `python bench/sweep.py sweep|raw`. Prints one JSON line.
Both variants connect first and time only the work itself, on the same rows.
"""

import json
import os
import resource
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import django  # noqa: E402

# What the sweep's own UPDATE does, written by hand: the yardstick.
RAW_UPDATE = (
    "UPDATE codes_deliverycode SET status = 'expired' WHERE status = 'active' AND valid_until <= %s"
)


def _peak_rss_mb() -> float:
    # Linux reports ru_maxrss in kilobytes.
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main(variant: str) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "otpdelivery.settings")
    django.setup()
    from django.db import connection
    from django.utils import timezone

    if variant == "sweep":
        # Imported before the clock starts, as the raw variant needs no import.
        from handoff.services import shipments_day_end
    connection.ensure_connection()
    now = timezone.now()
    rss_before = _peak_rss_mb()
    start = time.perf_counter()
    if variant == "sweep":
        rows = shipments_day_end(now=now).expired
    else:
        with connection.cursor() as cursor:
            cursor.execute(RAW_UPDATE, [now])
            rows = cursor.rowcount
    seconds = time.perf_counter() - start
    print(
        json.dumps(
            {
                "variant": variant,
                "rows": rows,
                "seconds": seconds,
                "rss_before_mb": rss_before,
                "rss_peak_mb": _peak_rss_mb(),
            }
        )
    )


if __name__ == "__main__":
    if len(sys.argv) != 2 or sys.argv[1] not in {"sweep", "raw"}:
        sys.exit("usage: python bench/sweep.py sweep|raw")
    main(sys.argv[1])
