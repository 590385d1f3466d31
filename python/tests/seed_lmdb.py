"""Seeds an LMDB ArcticDB store with hourly candles for a command-line test: python -m tests.seed_lmdb DIR NOW DAYS PAIR..."""

from __future__ import annotations

import sys
from datetime import datetime, timedelta

import arcticdb

from tests.test_warmup import candles
from tradai.warmup import symbol_for


def main(argv: list[str]) -> int:
    directory, now, days, *pairs = argv
    end = datetime.fromisoformat(now)
    # Candles open on the hour, as an exchange's hourly candles do.
    start = (end - timedelta(days=int(days))).replace(minute=0, second=0, microsecond=0)
    library = arcticdb.Arctic(f"lmdb://{directory}").get_library("ohlcv", create_if_missing=True)
    periods = int((end - start) / timedelta(hours=1))
    for pair in pairs:
        library.write(symbol_for(pair, "1h"), candles(start, periods, "1h"))
    print(f"seeded {len(pairs)} symbols x {periods} candles")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
