"""seed §7: OHLCV warmup candles for a strategy, read directly from ArcticDB.

The data-collection service writes one symbol per pair and timeframe (`BTC_USDT_1h`, the seed's
`f"{pair.replace('/', '_')}_{timeframe}"`) into the `ohlcv` library; a strategy container reads its
warmup window from there, with no dependency on that service. Locally the store is LMDB
(`lmdb:///abs/path`), in AWS an S3 bucket (ARCTICDB_S3_URI).

Each pair's candles come back as a DataFrame in Freqtrade's own layout: a RangeIndex and the columns
`date` (UTC), `open`, `high`, `low`, `close`, `volume`, sorted, one row per date, closed candles only
(Freqtrade drops the still-open candle too, `drop_incomplete`).

Command line (prints one JSON line of counts):
    python -m tradai.warmup --uri lmdb:///data/arctic --pairs BTC/USDT,ETH/USDT --timeframe 5m --days 30
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Callable, Mapping, Sequence
from urllib.parse import quote

from tradai.errors import (
    TradaiError,
    WarmupDataError,
    WarmupLibraryError,
    WarmupSymbolError,
    WarmupUriError,
)

FREQTRADE_COLUMNS = ("date", "open", "high", "low", "close", "volume")
DEFAULT_LIBRARY = "ohlcv"

_TIMEFRAME = re.compile(r"^(\d+)([smhdwM])$")
# Spot `BTC/USDT` and futures `BTC/USDT:USDT`, as Freqtrade names pairs.
_PAIR = re.compile(r"^[A-Za-z0-9]{1,32}/[A-Za-z0-9]{1,32}(:[A-Za-z0-9]{1,32})?$")
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800, "M": 2592000}
# ArcticDB's own S3 form is `s3://<endpoint>:<bucket>`; the seed's and our templates' `s3://<bucket>`
# (no colon) makes arcticdb.Arctic fail with "'NoneType' object has no attribute 'groupdict'".
_ARCTIC_S3 = re.compile(r"^s3s?://[^/:?]+(:\d+)?:[^/?]+")
_PLAIN_S3 = re.compile(r"^s3://(?P<bucket>[a-z0-9][a-z0-9.-]{1,61}[a-z0-9])(?:/(?P<prefix>[^?]*))?$")


def timeframe_seconds(timeframe: str) -> int:
    match = _TIMEFRAME.match(timeframe)
    if match is None or int(match.group(1)) == 0:
        raise WarmupSymbolError("timeframe", f"{timeframe!r} is not a Freqtrade timeframe like 5m or 1h")
    return int(match.group(1)) * _UNIT_SECONDS[match.group(2)]


def symbol_for(pair: str, timeframe: str) -> str:
    """The ArcticDB symbol of a pair's candles: `BTC/USDT` + `1h` -> `BTC_USDT_1h` (seed §7)."""
    if not _PAIR.match(pair):
        raise WarmupSymbolError("pairs", f"{pair!r} is not a pair like BTC/USDT or BTC/USDT:USDT")
    timeframe_seconds(timeframe)
    return f"{pair.replace('/', '_')}_{timeframe}"


def arctic_uri(uri: str, env: Mapping[str, str] | None = None) -> str:
    """The URI to hand to arcticdb.Arctic, refusing what would open the wrong store (or none).

    - `lmdb:///abs/path[?options]`: the folder must exist (a typo would otherwise create an empty store,
      and the strategy would start with no warmup at all);
    - `s3://bucket[/prefix]` (the form in the seed and the templates) becomes ArcticDB's
      `s3s://s3.<region>.amazonaws.com:bucket?path_prefix=...&aws_auth=true`, region from AWS_REGION;
    - ArcticDB's own `s3://endpoint:bucket?...` / `s3s://...` forms pass unchanged.
    """
    env = os.environ if env is None else env
    value = uri.strip()
    if value == "":
        raise WarmupUriError("ARCTICDB_S3_URI", "is empty")
    if value.startswith("lmdb://"):
        path = value[len("lmdb://") :].split("?", 1)[0]
        if not path.startswith("/"):
            raise WarmupUriError(
                "ARCTICDB_S3_URI", f"{value!r}: an LMDB path must be absolute (lmdb:///abs/path)"
            )
        if not os.path.isdir(path):
            raise WarmupUriError("ARCTICDB_S3_URI", f"{value!r}: no ArcticDB store at {path}")
        return value
    if _ARCTIC_S3.match(value):
        return value
    plain = _PLAIN_S3.match(value)
    if plain is not None:
        region = env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION")
        if not region:
            raise WarmupUriError(
                "ARCTICDB_S3_URI", f"{value!r} names a bucket but AWS_REGION is not set to find it"
            )
        options = ["aws_auth=true"]
        prefix = (plain.group("prefix") or "").strip("/")
        if prefix:
            options.insert(0, f"path_prefix={quote(prefix, safe='/')}")
        return f"s3s://s3.{region}.amazonaws.com:{plain.group('bucket')}?{'&'.join(options)}"
    raise WarmupUriError(
        "ARCTICDB_S3_URI",
        f"{value!r} is not an ArcticDB URI (lmdb:///abs/path, s3://bucket[/prefix], s3s://endpoint:bucket)",
    )


@dataclass(frozen=True)
class WarmupRequest:
    pairs: Sequence[str]
    timeframe: str
    warmup_days: int
    library: str = DEFAULT_LIBRARY

    def __post_init__(self) -> None:
        if isinstance(self.pairs, str) or len(self.pairs) == 0:
            raise WarmupSymbolError("pairs", "must name at least one pair")
        if not isinstance(self.warmup_days, int) or isinstance(self.warmup_days, bool) or not (
            1 <= self.warmup_days <= 3650
        ):
            raise WarmupSymbolError("warmup_days", f"{self.warmup_days!r} must be a whole number of days, 1 to 3650")


def _utc(moment: datetime) -> datetime:
    return moment.replace(tzinfo=timezone.utc) if moment.tzinfo is None else moment.astimezone(timezone.utc)


def to_freqtrade_frame(data, symbol: str, start: datetime, end: datetime, candle: timedelta):
    """Stored OHLCV (a DatetimeIndex or a `date` column) -> Freqtrade's layout, closed candles in [start, end)."""
    import pandas as pd

    frame = data.copy()
    if "date" not in frame.columns:
        if not isinstance(frame.index, pd.DatetimeIndex):
            raise WarmupDataError(symbol, "has neither a time index nor a date column")
        frame = frame.rename_axis("date").reset_index()
    missing = [column for column in FREQTRADE_COLUMNS if column not in frame.columns]
    if missing:
        raise WarmupDataError(symbol, f"is missing column(s) {', '.join(missing)}")
    frame = frame.loc[:, list(FREQTRADE_COLUMNS)]
    try:
        frame["date"] = pd.to_datetime(frame["date"], utc=True)
        for column in FREQTRADE_COLUMNS[1:]:
            frame[column] = pd.to_numeric(frame[column]).astype("float64")
    except (TypeError, ValueError) as error:
        raise WarmupDataError(symbol, f"holds values that are not OHLCV numbers: {error}") from error
    start_ts, end_ts = pd.Timestamp(start), pd.Timestamp(end)
    # A candle is closed once its open time plus one timeframe has passed.
    closed = (frame["date"] >= start_ts) & (frame["date"] + candle <= end_ts)
    frame = frame.loc[closed]
    frame = frame.sort_values("date").drop_duplicates(subset="date", keep="last")
    return frame.reset_index(drop=True)


class ArcticWarmupLoader:
    """Reads warmup windows from one ArcticDB library. `now` is injected so tests fix the window."""

    def __init__(
        self,
        uri: str,
        *,
        library: str = DEFAULT_LIBRARY,
        now: Callable[[], datetime] = lambda: datetime.now(timezone.utc),
        env: Mapping[str, str] | None = None,
        arctic=None,
    ) -> None:
        import arcticdb

        self._uri = arctic_uri(uri, env)
        self._now = now
        try:
            # LMDB allows one Arctic instance per path in a process: a caller that has one passes it.
            self._arctic = arctic if arctic is not None else arcticdb.Arctic(self._uri)
        except (ValueError, AttributeError) as error:
            raise WarmupUriError("ARCTICDB_S3_URI", f"{uri!r}: ArcticDB refused it: {error}") from error
        try:
            self._library = self._arctic.get_library(library)
        except arcticdb.exceptions.LibraryNotFound as error:
            raise WarmupLibraryError("library", f"no library {library!r} at {uri}") from error
        self._library_name = library

    def load(self, pairs: Sequence[str], timeframe: str, warmup_days: int) -> dict:
        """pair -> DataFrame of its closed candles in the last `warmup_days` days. Every pair must have data."""
        import arcticdb

        request = WarmupRequest(pairs=pairs, timeframe=timeframe, warmup_days=warmup_days, library=self._library_name)
        candle = timedelta(seconds=timeframe_seconds(request.timeframe))
        end = _utc(self._now())
        start = end - timedelta(days=request.warmup_days)
        result = {}
        for pair in request.pairs:
            symbol = symbol_for(pair, request.timeframe)
            try:
                description = self._library.get_description(symbol)
            except arcticdb.exceptions.NoSuchVersionException as error:
                raise WarmupSymbolError(
                    "pairs", f"no symbol {symbol!r} (pair {pair}) in library {self._library_name!r}"
                ) from error
            if "NANOSECONDS_UTC" in str(description.index[0].dtype if description.index else ""):
                stored = self._library.read(symbol, date_range=(start, end)).data
            else:
                # A symbol written with a `date` column rather than a time index cannot be read by
                # date_range; read it whole and let to_freqtrade_frame cut the window.
                stored = self._library.read(symbol).data
            frame = to_freqtrade_frame(stored, symbol, start, end, candle)
            if frame.empty:
                raise WarmupSymbolError(
                    "pairs", f"symbol {symbol!r} has no closed candle between {start.isoformat()} and {end.isoformat()}"
                )
            result[pair] = frame
        return result


def load_warmup(
    uri: str,
    pairs: Sequence[str],
    timeframe: str,
    warmup_days: int,
    *,
    library: str = DEFAULT_LIBRARY,
    now: Callable[[], datetime] | None = None,
) -> dict:
    """One call for a strategy: `load_warmup(os.environ['ARCTICDB_S3_URI'], pairs, '5m', 30)`."""
    loader = ArcticWarmupLoader(uri, library=library, **({} if now is None else {"now": now}))
    return loader.load(pairs, timeframe, warmup_days)


def load_warmup_for_config(config: Mapping, *, now: Callable[[], datetime] | None = None) -> dict:
    """From the config the agent writes (its `tradai` block: pairs, timeframe, warmup_days, arcticdb_s3_uri)."""
    tradai = config.get("tradai")
    if not isinstance(tradai, Mapping):
        raise WarmupSymbolError("tradai", "the Freqtrade config has no tradai block (written by the agent)")
    return load_warmup(
        str(tradai.get("arcticdb_s3_uri") or os.environ.get("ARCTICDB_S3_URI", "")),
        list(tradai.get("pairs") or []),
        str(tradai.get("timeframe", "")),
        tradai.get("warmup_days"),
        now=now,
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tradai.warmup", description=__doc__.split("\n\n")[0])
    parser.add_argument("--uri", default=os.environ.get("ARCTICDB_S3_URI", ""))
    parser.add_argument("--pairs", required=True, help="comma-separated, e.g. BTC/USDT,ETH/USDT")
    parser.add_argument("--timeframe", required=True)
    parser.add_argument("--days", type=int, required=True)
    parser.add_argument("--library", default=DEFAULT_LIBRARY)
    parser.add_argument("--now", help="ISO time closing the window (default: now)")
    args = parser.parse_args(argv)
    now = (lambda: datetime.fromisoformat(args.now)) if args.now else None
    pairs = [pair.strip() for pair in args.pairs.split(",") if pair.strip()]
    try:
        frames = load_warmup(args.uri, pairs, args.timeframe, args.days, library=args.library, now=now)
    except TradaiError as error:
        print(json.dumps({"error": type(error).__name__, "field": error.field, "message": str(error)}))
        return 2
    print(
        json.dumps(
            {
                "candles": {pair: len(frame) for pair, frame in frames.items()},
                "columns": list(FREQTRADE_COLUMNS),
                "first": {pair: frame["date"].iloc[0].isoformat() for pair, frame in frames.items()},
                "last": {pair: frame["date"].iloc[-1].isoformat() for pair, frame in frames.items()},
            }
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
