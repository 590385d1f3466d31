import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { type LocalCloud, type LocalCloudOptions, REPO_ROOT } from '../../local/cloud/cloud';
import {
  type LocalExchange,
  REAL_FREQTRADE_CMD,
  realFreqtradeAvailable,
  realFreqtradeEnvironment,
  startLocalExchange,
} from '../../local/exchange/index';
import { FAST, startFastCloud } from '../e2e/support';

export { realFreqtradeAvailable };

const PYTHON = join(REPO_ROOT, '.venv/bin/python');

/**
 * The e2e suite's fast cloud, with real `freqtrade trade` (the .venv's Freqtrade 2026.9) in every
 * container instead of the simulator, trading dry-run against a local exchange of its own. Freqtrade's
 * REST API is slower than the simulator's (uvicorn in Python, every /balance asks the exchange for
 * tickers), so the agent's request timeout is longer and the heartbeat a little slower than FAST's.
 */
export const REAL: Partial<LocalCloudOptions> = {
  freqtradeCmd: REAL_FREQTRADE_CMD,
  containerEnvironment: {
    ...FAST.containerEnvironment,
    HEARTBEAT_INTERVAL_S: '1',
    RISK_POLL_INTERVAL_S: '0.5',
    CONTROL_POLL_INTERVAL_S: '0.5',
    FREQTRADE_TIMEOUT_S: '5',
    STOP_TIMEOUT_S: '10',
    LOG_LEVEL: 'warn',
  },
};

export interface RealCloud {
  cloud: LocalCloud;
  exchange: LocalExchange;
  close(): Promise<void>;
}

export const startRealCloud = async (options: Partial<LocalCloudOptions> = {}): Promise<RealCloud> => {
  const exchange = await startLocalExchange({ seed: 7 });
  const cloud = await startFastCloud({
    ...REAL,
    ...options,
    containerEnvironment: {
      ...REAL.containerEnvironment,
      ...realFreqtradeEnvironment(exchange.url),
      ...(options.containerEnvironment ?? {}),
    },
  });
  return {
    cloud,
    exchange,
    close: async () => {
      await cloud.close();
      await exchange.close();
    },
  };
};

/**
 * A dry-run start of TradaiDemo that trades at once: an entry on every candle while a pair is flat, no
 * ROI exit (so the positions stay open until the test closes them), a loop every second.
 */
export const realStartBody = (
  overrides: Record<string, unknown> = {},
  extra: Record<string, unknown> = {},
) => ({
  strategy: 'TradaiDemo',
  mode: 'dry-run',
  stage: 'Production',
  reason: 'e2e real Freqtrade',
  overrides: {
    internals: { process_throttle_secs: 1 },
    tradai_demo: { entry: 'always' },
    minimal_roi: { '0': 10 },
    stoploss: -0.99,
    ...overrides,
  },
  ...extra,
});

/** Trades as Freqtrade's own database holds them (read with the .venv's Python: Node 20 has no sqlite). */
export interface StoredTrade {
  id: number;
  pair: string;
  is_open: boolean;
  exit_reason: string | null;
  open_date: string;
}

export const tradesInStore = async (dataDir: string, strategyId: string): Promise<StoredTrade[]> => {
  const path = join(dataDir, 'trade-store', strategyId, 'tradesv3.dry-run.sqlite');
  const script = [
    'import json, sqlite3, sys',
    'db = sqlite3.connect(f"file:{sys.argv[1]}?mode=ro", uri=True)',
    'rows = db.execute("select id, pair, is_open, exit_reason, open_date from trades order by id").fetchall()',
    'print(json.dumps([dict(id=r[0], pair=r[1], is_open=bool(r[2]), exit_reason=r[3], open_date=r[4]) for r in rows]))',
  ].join('\n');
  const { stdout } = await promisify(execFile)(PYTHON, ['-c', script, path], { timeout: 20_000 });
  return JSON.parse(stdout) as StoredTrade[];
};
