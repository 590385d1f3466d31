"""
TradAI's FreqAI demo strategy (seed §5): a real Freqtrade FreqAI strategy, small enough to train in a second.

FreqAI (the config's `freqai` section and `freqaimodel`, LightGBMRegressor here) predicts `&-s_close`, the mean
close of the next `label_period_candles` candles relative to this one, from a handful of price and volume
features on the strategy's own timeframe. A long entry when the model predicts a rise on a candle FreqAI
trusts (`do_predict == 1`); exits by `minimal_roi`, the stoploss or the operator.

The model is trained once (a train run) and registered in MLflow; a dry or live session downloads it and runs
it for inference only: the agent sets the `freqai` settings that keep Freqtrade from retraining
(container/agent/config/freqai-model.ts FREQAI_INFERENCE_ONLY).
"""

from pandas import DataFrame

from freqtrade.strategy import IStrategy


class TradaiFreqaiDemo(IStrategy):
    INTERFACE_VERSION = 3

    timeframe = "1m"
    can_short = False
    minimal_roi = {"0": 0.02}
    stoploss = -0.10
    trailing_stop = False
    # FreqAI refuses to run otherwise: it predicts once per new candle.
    process_only_new_candles = True
    use_exit_signal = False
    startup_candle_count = 20

    # As TradaiDemo: market orders fill at once on the local exchange's book.
    order_types = {
        "entry": "market",
        "exit": "market",
        "emergency_exit": "market",
        "force_exit": "market",
        "force_entry": "market",
        "stoploss": "market",
        "stoploss_on_exchange": False,
    }

    def feature_engineering_expand_all(
        self, dataframe: DataFrame, period: int, metadata: dict, **kwargs
    ) -> DataFrame:
        dataframe["%-pct-change-period"] = dataframe["close"].pct_change(period)
        dataframe["%-relative-volume-period"] = (
            dataframe["volume"] / dataframe["volume"].rolling(period).mean()
        )
        return dataframe

    def feature_engineering_expand_basic(
        self, dataframe: DataFrame, metadata: dict, **kwargs
    ) -> DataFrame:
        dataframe["%-pct-change"] = dataframe["close"].pct_change()
        dataframe["%-raw-volume"] = dataframe["volume"]
        return dataframe

    def set_freqai_targets(self, dataframe: DataFrame, metadata: dict, **kwargs) -> DataFrame:
        horizon = self.freqai_info["feature_parameters"]["label_period_candles"]
        dataframe["&-s_close"] = (
            dataframe["close"].shift(-horizon).rolling(horizon).mean() / dataframe["close"] - 1
        )
        return dataframe

    def populate_indicators(self, dataframe: DataFrame, metadata: dict) -> DataFrame:
        return self.freqai.start(dataframe, metadata, self)

    def populate_entry_trend(self, dataframe: DataFrame, metadata: dict) -> DataFrame:
        dataframe.loc[
            (dataframe["do_predict"] == 1) & (dataframe["&-s_close"] > 0), ["enter_long", "enter_tag"]
        ] = (1, "freqai_rise")
        return dataframe

    def populate_exit_trend(self, dataframe: DataFrame, metadata: dict) -> DataFrame:
        return dataframe
