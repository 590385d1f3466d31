import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, afterEach, beforeAll } from 'vitest';
import type { AgentOptions } from '../../../container/agent/env';
import type { FreqtradeSimHandle } from '../../../local/freqtrade-sim';
import type { RiskLimits } from '../../../shared/domain/risk';
import type { TradingMode } from '../../../shared/domain/session';
import type { SessionStore } from '../../../shared/domain/session-store';
import { startTestDynamo, type TestDynamo } from '../../support/dynamo';
import type { RunningAgent } from './run';

/** The seed §4 tags of SimStrategy 1.0.0 as the registry holds them (the sim's base.json, two pairs). */
export const SIM_STRATEGY_TAGS = {
  strategy_name: 'SimStrategy',
  strategy_version: '1.0.0',
  timeframe: '5m',
  pairs: 'BTC/USDT,ETH/USDT',
  configuration_file: 'base.json',
  warmup_days: '10',
};

export const SIM_BIN = resolve(import.meta.dirname, '../../../local/freqtrade-sim/bin/freqtrade');
export const CANARY_KEY = 'CANARY-KEY-7f3a9c1e5b2d';
export const CANARY_SECRET = 'CANARY-SECRET-0d4e8b6a2c9f';

export const LIMITS: RiskLimits = {
  max_drawdown_pct: 10,
  max_daily_loss: 1_000_000,
  max_open_trades: 10,
  max_leverage: 5,
  max_monitor_failures: 3,
  breach_ladder: ['pause'],
  escalation_grace_s: 120,
};

/** A strategy's base config as it would sit in S3, with the simulator's knobs. */
export const baseConfig = (sim: Record<string, unknown> = {}) => ({
  stake_currency: 'USDT',
  stake_amount: 100,
  max_open_trades: 3,
  dry_run: true,
  dry_run_wallet: 1000,
  exchange: { name: 'binance', pair_whitelist: ['BTC/USDT'] },
  minimal_roi: { '0': 10 },
  stoploss: -0.99,
  internals: { process_throttle_secs: 1, heartbeat_interval: 0 },
  sim: { tick_ms: 50, seed: 7, entry_probability: 0, open_trades_at_start: 2, ...sim },
});

export interface Fixture {
  dynamo: TestDynamo;
  store: SessionStore;
  dir: string;
  /** Creates a session (pending → launching → running) and writes its registry and base config. */
  session(options?: {
    runId?: string;
    mode?: TradingMode;
    limits?: Partial<RiskLimits>;
    sim?: Record<string, unknown>;
    overrides?: Record<string, unknown>;
  }): Promise<{ runId: string; options: AgentOptions; env: Record<string, string> }>;
  close(): Promise<void>;
}

let counter = 0;

export const startFixture = async (): Promise<Fixture> => {
  const dynamo = await startTestDynamo();
  const store = dynamo.newStore();
  const dir = await mkdtemp(join(tmpdir(), 'tradai-agent-'));
  await writeFile(
    join(dir, 'secrets.json'),
    JSON.stringify({ 'tradai/exchange/binance': { key: CANARY_KEY, secret: CANARY_SECRET } }),
  );
  return {
    dynamo,
    store,
    dir,
    async session(opts = {}) {
      counter += 1;
      const mode = opts.mode ?? 'dry-run';
      const strategyId = `strat-${process.pid}-${counter}`;
      const runId = opts.runId ?? `${mode}-${strategyId}-run`;
      const runDir = join(dir, runId);
      const configs = join(runDir, 'configs');
      await import('node:fs/promises').then((fs) => fs.mkdir(configs, { recursive: true }));
      await writeFile(join(configs, 'base.json'), JSON.stringify(baseConfig(opts.sim)));
      await writeFile(
        join(runDir, 'registry.json'),
        JSON.stringify({
          registered_models: [
            {
              name: 'SimStrategy',
              versions: [
                {
                  version: 1,
                  current_stage: 'Production',
                  tags: SIM_STRATEGY_TAGS,
                },
              ],
            },
          ],
        }),
      );
      const created = await store.createSession({
        run_id: runId,
        strategy_id: strategyId,
        strategy_name: 'SimStrategy',
        trading_mode: mode,
        risk_limits: { ...LIMITS, ...opts.limits },
        overrides: opts.overrides ?? {},
        requested_by: 'test',
        trace_id: 'trace-1',
      });
      if (!created.ok) throw new Error(created.message);
      await store.transition(runId, 'launching');
      await store.transition(runId, 'running');
      const env: Record<string, string> = {
        STRATEGY: 'SimStrategy',
        STRATEGY_ID: strategyId,
        RUN_ID: runId,
        TRADING_MODE: mode,
        MLFLOW_TRACKING_URI: `file://${join(runDir, 'registry.json')}`,
        EXCHANGE_SECRET_NAME: 'tradai/exchange/binance',
        SECRETS_FILE: join(dir, 'secrets.json'),
        DYNAMODB_TABLE: dynamo.tables.sessions,
        METRICS_TABLE: dynamo.tables.metrics,
        ARCTICDB_S3_URI: 's3://arctic-test',
        S3_CONFIG_BUCKET: `file://${configs}`,
        HEARTBEAT_INTERVAL_S: '0.3',
        RISK_POLL_INTERVAL_S: '0.2',
        CONTROL_POLL_INTERVAL_S: '0.2',
        HEARTBEAT_FAIL_CLOSED_S: '1',
        FREQTRADE_TIMEOUT_S: '0.5',
        LOOP_STALE_AFTER_S: '2',
        STOP_TIMEOUT_S: '5',
        FREQTRADE_CMD: SIM_BIN,
        FREQTRADE_RESTART_BACKOFF_MAX_S: '1',
        HEALTH_PORT: '0',
        AGENT_WORK_DIR: join(runDir, 'work'),
        LOG_LEVEL: 'debug',
        AWS_ENDPOINT_URL_DYNAMODB: dynamo.endpoint,
        AWS_REGION: 'us-east-1',
        AWS_ACCESS_KEY_ID: 'local',
        AWS_SECRET_ACCESS_KEY: 'local',
      };
      const { parseAgentEnv } = await import('../../../container/agent/env');
      const parsed = parseAgentEnv(env);
      if (!parsed.ok) throw new Error(parsed.message);
      return { runId, options: parsed.options, env };
    },
    async close() {
      await dynamo.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
};

/**
 * The agent suites' per-file set-up: one fixture for the file, and the agents and simulators a test
 * started, ended after each test. `fx` delegates to the fixture once `beforeAll` has made it.
 */
export const useAgentFixture = (): { fx: Fixture; agents: RunningAgent[]; sims: FreqtradeSimHandle[] } => {
  const agents: RunningAgent[] = [];
  const sims: FreqtradeSimHandle[] = [];
  let made: Fixture | undefined;
  const current = (): Fixture => {
    if (made === undefined) throw new Error('the agent fixture is made in beforeAll; use it inside a test');
    return made;
  };
  beforeAll(async () => {
    made = await startFixture();
  });
  afterEach(async () => {
    for (const agent of agents.splice(0)) await agent.handle.shutdown('test over');
    for (const sim of sims.splice(0)) await sim.close();
  });
  afterAll(async () => {
    await made?.close();
  });
  const fx: Fixture = {
    get dynamo() {
      return current().dynamo;
    },
    get store() {
      return current().store;
    },
    get dir() {
      return current().dir;
    },
    session: (options) => current().session(options),
    close: () => current().close(),
  };
  return { fx, agents, sims };
};
