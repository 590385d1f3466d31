"""TradAI helpers that run inside the strategy image, next to Freqtrade (seed §7)."""
