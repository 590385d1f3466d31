"""
TradAI's demo strategy: a real Freqtrade IStrategy, small and fast, for dry-run on the local exchange.

Entries: an EMA cross on the strategy's timeframe (fast EMA above slow EMA), or, with
`"tradai_demo": {"entry": "always"}` in the config, on every candle while a pair has no open trade
(the end-to-end tests use that so a trade opens at the first loop). Exits: the EMA cross back down
(cross mode), `minimal_roi`, the stoploss, or the operator's forceexit.

Indicators use pandas only (no TA-Lib call), so the strategy starts in a second.
"""

from pandas import DataFrame

from freqtrade.strategy import IStrategy


ENTRY_MODES = ("ema_cross", "always")


class TradaiDemo(IStrategy):
    INTERFACE_VERSION = 3

    timeframe = "1m"
    can_short = False
    # The config may override both (the demo registry's base config does).
    minimal_roi = {"0": 0.02}
    stoploss = -0.10
    trailing_stop = False
    process_only_new_candles = True
    use_exit_signal = True
    startup_candle_count = 30

    # Market orders fill at once in dry-run (at the local exchange's book), so a test sees its positions
    # open at the first loop; a limit order at the touch may rest while the price drifts away.
    # Freqtrade requires entry/exit pricing on the "other" side of the book for these (the base config).
    order_types = {
        "entry": "market",
        "exit": "market",
        "emergency_exit": "market",
        "force_exit": "market",
        "force_entry": "market",
        "stoploss": "market",
        "stoploss_on_exchange": False,
    }

    ema_fast_period = 5
    ema_slow_period = 20

    def bot_start(self, **kwargs) -> None:
        settings = self.config.get("tradai_demo") or {}
        entry = settings.get("entry", "ema_cross")
        if entry not in ENTRY_MODES:
            # A typo must not silently trade another way: refuse to start, naming the key.
            raise ValueError(f"tradai_demo.entry must be one of {ENTRY_MODES}, not {entry!r}")
        self.entry_mode = entry

    def populate_indicators(self, dataframe: DataFrame, metadata: dict) -> DataFrame:
        dataframe["ema_fast"] = dataframe["close"].ewm(span=self.ema_fast_period, adjust=False).mean()
        dataframe["ema_slow"] = dataframe["close"].ewm(span=self.ema_slow_period, adjust=False).mean()
        return dataframe

    def populate_entry_trend(self, dataframe: DataFrame, metadata: dict) -> DataFrame:
        if getattr(self, "entry_mode", "ema_cross") == "always":
            condition = dataframe["volume"] > 0
            tag = "always"
        else:
            condition = (dataframe["ema_fast"] > dataframe["ema_slow"]) & (dataframe["volume"] > 0)
            tag = "ema_cross"
        dataframe.loc[condition, ["enter_long", "enter_tag"]] = (1, tag)
        return dataframe

    def populate_exit_trend(self, dataframe: DataFrame, metadata: dict) -> DataFrame:
        if getattr(self, "entry_mode", "ema_cross") == "always":
            return dataframe
        condition = (dataframe["ema_fast"] < dataframe["ema_slow"]) & (dataframe["volume"] > 0)
        dataframe.loc[condition, ["exit_long", "exit_tag"]] = (1, "ema_cross_down")
        return dataframe
