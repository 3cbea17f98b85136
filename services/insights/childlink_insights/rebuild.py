"""Derive every indicator cell again from the subjects' stored events (after a change to a definition, or
after a crash on MongoDB between a subject's save and its cells' update).

    python -m childlink_insights.rebuild        # stop the insights service first
"""

import sys
import time

from childlink_referral.growth import zscores

from .aggregate import Aggregator
from .store import open_store


def main():
    store = open_store()
    started = time.monotonic()
    try:
        with store.batch():
            count = Aggregator(store, zscores).rebuild()
    finally:
        store.close()
    print(f"rebuilt the cells of {count} subjects in {time.monotonic() - started:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
