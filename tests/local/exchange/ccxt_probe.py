"""Drives ccxt's binance client (the one Freqtrade uses) against the local exchange; prints what it parsed."""

import json
import sys
import urllib.request

import ccxt

config = json.loads(sys.argv[1])
exchange = ccxt.binance(config)
out = {}
markets = exchange.load_markets()
btc = markets["BTC/USDT"]
out["symbols"] = sorted(markets)
out["btc"] = {
    "spot": btc["spot"],
    "active": btc["active"],
    "precision": btc["precision"],
    "min_amount": btc["limits"]["amount"]["min"],
    "min_cost": btc["limits"]["cost"]["min"],
}
out["time"] = exchange.fetch_time()
out["ohlcv"] = exchange.fetch_ohlcv("BTC/USDT", "5m", limit=3)
ticker = exchange.fetch_ticker("ETH/USDT")
out["ticker"] = {k: ticker[k] for k in ("symbol", "bid", "ask", "last", "high", "low", "baseVolume")}
out["tickers"] = sorted(exchange.fetch_tickers(["BTC/USDT", "SOL/USDT"]))
out["all_tickers"] = len(exchange.fetch_tickers())
out["bids_asks"] = sorted(exchange.fetch_bids_asks(["BTC/USDT"]))
book = exchange.fetch_l2_order_book("BTC/USDT", 5)
out["book"] = {"bids": book["bids"], "asks": book["asks"]}
for name, call in (
    ("bad_symbol", lambda: exchange.publicGetDepth({"symbol": "NOPEUSDT"})),
    ("bad_interval", lambda: exchange.publicGetKlines({"symbol": "BTCUSDT", "interval": "7m"})),
):
    try:
        call()
        out[name] = None
    except ccxt.BaseError as error:
        out[name] = type(error).__name__
request = urllib.request.Request(
    f"{sys.argv[2]}/__scenario",
    data=json.dumps({"error_5xx_burst": 1}).encode(),
    headers={"content-type": "application/json"},
    method="POST",
)
urllib.request.urlopen(request).read()
try:
    exchange.fetch_time()
    out["burst"] = None
except ccxt.BaseError as error:
    out["burst"] = [type(error).__name__, isinstance(error, ccxt.NetworkError)]
print(json.dumps(out))
