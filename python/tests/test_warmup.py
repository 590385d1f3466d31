"""tradai.warmup against the real arcticdb package, on an LMDB store seeded in a temp dir."""

from __future__ import annotations

import gc
import io
import json
import shutil
import tempfile
import unittest
from contextlib import redirect_stdout
from datetime import datetime, timedelta, timezone

import arcticdb
import numpy as np
import pandas as pd

from tradai.errors import WarmupDataError, WarmupLibraryError, WarmupSymbolError, WarmupUriError
from tradai.warmup import (
    FREQTRADE_COLUMNS,
    ArcticWarmupLoader,
    arctic_uri,
    load_warmup,
    load_warmup_for_config,
    main,
    symbol_for,
)

# The window closes at NOW (mid-candle); seeded candles run from 40 days before it to 2 hours after it
# (a writer slightly ahead of the reader's clock must not leak future or still-open candles into the
# warmup). A window of N days at 12:30 holds N*24 hourly opens, the last (12:00) still open: N*24 - 1.
NOW = datetime(2026, 3, 1, 12, 30, tzinfo=timezone.utc)
SEED_START = datetime(2026, 1, 20, tzinfo=timezone.utc)


def candles(start: datetime, periods: int, freq: str) -> pd.DataFrame:
    index = pd.date_range(start, periods=periods, freq=freq, tz="UTC")
    close = 100 + np.arange(periods, dtype="float64")
    # Stored in a different column order than Freqtrade's, as a collector may write it.
    return pd.DataFrame(
        {"volume": np.full(periods, 5.0), "close": close, "low": close - 1, "high": close + 1, "open": close},
        index=index,
    )


class WarmupTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls) -> None:
        cls.dir = tempfile.mkdtemp(prefix="tradai-arctic-")
        cls.uri = f"lmdb://{cls.dir}"
        # LMDB supports one Arctic instance per path and process: the tests share this one.
        cls.arctic = arcticdb.Arctic(cls.uri)
        library = cls.arctic.get_library("ohlcv", create_if_missing=True)
        hourly = int((NOW + timedelta(hours=2) - SEED_START) / timedelta(hours=1))
        library.write("BTC_USDT_1h", candles(SEED_START, hourly, "1h"))
        library.write("ETH_USDT_1h", candles(SEED_START, hourly, "1h"))
        library.write("BTC_USDT:USDT_1h", candles(SEED_START, hourly, "1h"))
        five = int((NOW - SEED_START) / timedelta(minutes=5))
        library.write("BTC_USDT_5m", candles(SEED_START, five, "5min"))
        # A collector that wrote naive timestamps in a `date` column instead of a time index.
        naive = candles(SEED_START, hourly, "1h").rename_axis("date").reset_index()
        naive["date"] = naive["date"].dt.tz_localize(None)
        library.write("SOL_USDT_1h", naive)
        library.write("XRP_USDT_1h", candles(SEED_START, hourly, "1h").drop(columns=["volume"]))
        library.write("OLD_USDT_1h", candles(SEED_START - timedelta(days=400), 100, "1h"))
        cls.arctic.get_library("other", create_if_missing=True)

    @classmethod
    def tearDownClass(cls) -> None:
        shutil.rmtree(cls.dir, ignore_errors=True)

    def loader(self) -> ArcticWarmupLoader:
        return ArcticWarmupLoader(self.uri, now=lambda: NOW, arctic=self.arctic)

    def test_loads_the_closed_candles_of_the_window_in_freqtrade_column_order(self) -> None:
        frames = self.loader().load(["BTC/USDT", "ETH/USDT"], "1h", 30)
        for pair, frame in frames.items():
            self.assertEqual(tuple(frame.columns), FREQTRADE_COLUMNS, pair)
            # 30 days of hourly candles; the 12:00 candle is still open at 12:30 and left out.
            self.assertEqual(len(frame), 30 * 24 - 1, pair)
            self.assertEqual(frame["date"].iloc[0], pd.Timestamp(NOW - timedelta(days=30)).ceil("1h"))
            self.assertEqual(frame["date"].iloc[-1], pd.Timestamp("2026-03-01 11:00", tz="UTC"))
            self.assertEqual(str(frame["date"].dt.tz), "UTC")
            self.assertTrue(frame["date"].is_monotonic_increasing)
            self.assertEqual(list(frame.index), list(range(len(frame))))
            self.assertTrue((frame["high"] > frame["low"]).all())
        print(f"warmup candles BTC/USDT={len(frames['BTC/USDT'])} ETH/USDT={len(frames['ETH/USDT'])}")

    def test_reads_futures_pairs_and_other_timeframes(self) -> None:
        futures = self.loader().load(["BTC/USDT:USDT"], "1h", 2)
        five = self.loader().load(["BTC/USDT"], "5m", 1)
        self.assertEqual(len(futures["BTC/USDT:USDT"]), 2 * 24 - 1)
        self.assertEqual(len(five["BTC/USDT"]), 24 * 12)
        print(f"warmup candles BTC/USDT:USDT 1h={len(futures['BTC/USDT:USDT'])} BTC/USDT 5m={len(five['BTC/USDT'])}")

    def test_reads_a_symbol_stored_with_a_naive_date_column_as_utc(self) -> None:
        frame = self.loader().load(["SOL/USDT"], "1h", 1)["SOL/USDT"]
        self.assertEqual(tuple(frame.columns), FREQTRADE_COLUMNS)
        self.assertEqual(len(frame), 24 - 1)
        self.assertEqual(str(frame["date"].dt.tz), "UTC")

    def test_refuses_a_symbol_that_does_not_exist_naming_it(self) -> None:
        with self.assertRaises(WarmupSymbolError) as refused:
            self.loader().load(["BTC/USDT", "DOGE/USDT"], "1h", 30)
        self.assertIn("DOGE_USDT_1h", str(refused.exception))
        self.assertEqual(refused.exception.field, "pairs")

    def test_refuses_a_symbol_with_no_candle_in_the_window(self) -> None:
        with self.assertRaises(WarmupSymbolError) as refused:
            self.loader().load(["OLD/USDT"], "1h", 30)
        self.assertIn("no closed candle", str(refused.exception))

    def test_refuses_a_symbol_that_is_not_ohlcv_naming_the_column(self) -> None:
        with self.assertRaises(WarmupDataError) as refused:
            self.loader().load(["XRP/USDT"], "1h", 30)
        self.assertIn("volume", str(refused.exception))

    def test_refuses_bad_pairs_timeframes_and_days_before_reading(self) -> None:
        for pairs, timeframe, days, field in [
            (["BTCUSDT"], "1h", 30, "pairs"),
            (["BTC/USDT"], "hourly", 30, "timeframe"),
            (["BTC/USDT"], "0m", 30, "timeframe"),
            ([], "1h", 30, "pairs"),
            (["BTC/USDT"], "1h", 0, "warmup_days"),
            (["../etc/USDT"], "1h", 30, "pairs"),
        ]:
            with self.subTest(pairs=pairs, timeframe=timeframe, days=days):
                with self.assertRaises(WarmupSymbolError) as refused:
                    self.loader().load(pairs, timeframe, days)
                self.assertEqual(refused.exception.field, field)

    def test_refuses_a_missing_library(self) -> None:
        with self.assertRaises(WarmupLibraryError) as refused:
            ArcticWarmupLoader(self.uri, library="candles", arctic=self.arctic)
        self.assertIn("candles", str(refused.exception))

    def test_refuses_uris_that_would_open_the_wrong_store_or_none(self) -> None:
        for uri in ["", "lmdb://relative/arctic", f"lmdb://{self.dir}/missing", "http://arctic", "s3://Bad_Bucket"]:
            with self.subTest(uri=uri):
                with self.assertRaises(WarmupUriError) as refused:
                    ArcticWarmupLoader(uri)
                self.assertEqual(refused.exception.field, "ARCTICDB_S3_URI")

    def test_turns_the_seeds_s3_bucket_uri_into_arcticdbs_own_form(self) -> None:
        # arcticdb.Arctic("s3://tradai-arcticdb-prod") fails with an AttributeError; ArcticDB wants
        # s3(s)://endpoint:bucket. The templates and the seed give the plain bucket form.
        with self.assertRaises(AttributeError):
            arcticdb.Arctic("s3://tradai-arcticdb-prod")
        self.assertEqual(
            arctic_uri("s3://tradai-arcticdb-prod", {"AWS_REGION": "eu-central-1"}),
            "s3s://s3.eu-central-1.amazonaws.com:tradai-arcticdb-prod?aws_auth=true",
        )
        self.assertEqual(
            arctic_uri("s3://tradai-arcticdb-prod/ohlcv/v1", {"AWS_DEFAULT_REGION": "us-east-1"}),
            "s3s://s3.us-east-1.amazonaws.com:tradai-arcticdb-prod?path_prefix=ohlcv/v1&aws_auth=true",
        )
        native = "s3s://s3.eu-central-1.amazonaws.com:tradai-arcticdb-prod?aws_auth=true"
        self.assertEqual(arctic_uri(native, {}), native)
        arcticdb.Arctic(arctic_uri("s3://tradai-arcticdb-prod", {"AWS_REGION": "eu-central-1"}))
        with self.assertRaises(WarmupUriError) as refused:
            arctic_uri("s3://tradai-arcticdb-prod", {})
        self.assertIn("AWS_REGION", str(refused.exception))

class WarmupEntryPointsTest(unittest.TestCase):
    """load_warmup, load_warmup_for_config and the command line open their own Arctic: a store of their own."""

    @classmethod
    def setUpClass(cls) -> None:
        cls.dir = tempfile.mkdtemp(prefix="tradai-arctic-entry-")
        cls.uri = f"lmdb://{cls.dir}"
        writer = arcticdb.Arctic(cls.uri)
        library = writer.get_library("ohlcv", create_if_missing=True)
        hourly = int((NOW + timedelta(hours=2) - SEED_START) / timedelta(hours=1))
        library.write("BTC_USDT_1h", candles(SEED_START, hourly, "1h"))
        library.write("ETH_USDT_1h", candles(SEED_START, hourly, "1h"))
        # LMDB allows one Arctic per path and process: release the writer before the readers open.
        del library, writer
        gc.collect()

    @classmethod
    def tearDownClass(cls) -> None:
        shutil.rmtree(cls.dir, ignore_errors=True)

    def test_loads_from_the_config_the_agent_writes(self) -> None:
        config = {"tradai": {"pairs": ["ETH/USDT"], "timeframe": "1h", "warmup_days": 3, "arcticdb_s3_uri": self.uri}}
        frames = load_warmup_for_config(config, now=lambda: NOW)
        self.assertEqual(len(frames["ETH/USDT"]), 3 * 24 - 1)
        self.assertEqual(symbol_for("ETH/USDT", "1h"), "ETH_USDT_1h")
        self.assertEqual(len(load_warmup(self.uri, ["ETH/USDT"], "1h", 3, now=lambda: NOW)["ETH/USDT"]), 71)

    def test_command_line_prints_counts_and_exits_2_on_a_refusal(self) -> None:
        out = io.StringIO()
        with redirect_stdout(out):
            ok = main(["--uri", self.uri, "--pairs", "BTC/USDT,ETH/USDT", "--timeframe", "1h", "--days", "30", "--now", NOW.isoformat()])
        self.assertEqual(ok, 0)
        self.assertEqual(json.loads(out.getvalue())["candles"], {"BTC/USDT": 719, "ETH/USDT": 719})
        out = io.StringIO()
        with redirect_stdout(out):
            refused = main(["--uri", self.uri, "--pairs", "DOGE/USDT", "--timeframe", "1h", "--days", "30"])
        self.assertEqual(refused, 2)
        self.assertEqual(json.loads(out.getvalue())["error"], "WarmupSymbolError")



if __name__ == "__main__":
    unittest.main()
