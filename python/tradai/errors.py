"""One base error for the tradai package; each subclass names the field that was wrong."""


class TradaiError(Exception):
    """Base of every refusal the tradai helpers raise."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field


class WarmupUriError(TradaiError):
    """ARCTICDB_S3_URI (or the URI given) is not one ArcticDB can open, or points at nothing."""


class WarmupLibraryError(TradaiError):
    """The ArcticDB library (default `ohlcv`) does not exist at that URI."""


class WarmupSymbolError(TradaiError):
    """A pair or timeframe cannot name a symbol, or the symbol holds no data."""


class WarmupDataError(TradaiError):
    """A symbol's data is not OHLCV candles (missing column, no time index, not numbers)."""
