import type { ChildProcess, SpawnOptions } from 'node:child_process';
import { createInterface } from 'node:readline';
import type { Clock } from '../../../shared/domain/clock';
import type { JsonObject } from '../config/merge';
import { DEFAULT_MAX_RESTARTS, DEFAULT_RESTART_WINDOW_S } from '../constants';
import type { AgentLogger } from '../logger';
import type { FreqtradeEndpoint } from './client';
import { type InitialState, writeFreqtradeConfig } from './config-writer';
import { RestartWindow } from './restart-window';

export type SpawnFn = (command: string, args: readonly string[], options: SpawnOptions) => ChildProcess;

export interface SupervisorOptions {
  /** `FREQTRADE_CMD`, split on spaces (e.g. `python -m freqtrade`). */
  command: string;
  workDir: string;
  /** TRADE_DB_URL: Freqtrade's durable trade database (the writer refuses live trading without it). */
  tradeDbUrl?: string;
  config: JsonObject;
  /** Credentials and anything else Freqtrade needs in its environment. */
  env: Record<string, string>;
  spawn: SpawnFn;
  logger: AgentLogger;
  clock: Clock;
  backoffMaxMs: number;
  /** Asked at every (re)start, so a restart after a breach comes back paused. */
  initialState: () => InitialState;
  onStarted?: (endpoint: FreqtradeEndpoint, start: number) => void;
  /** N restarts within M minutes without a live trading loop, then no more (FREQTRADE_MAX_RESTARTS / _WINDOW_S). */
  maxRestarts?: number;
  restartWindowMs?: number;
  /** Called once when the supervisor stops restarting: Freqtrade does not come up. */
  onGaveUp?: (failure: StartFailure) => void;
}

/** Why the supervisor stopped restarting Freqtrade. */
export interface StartFailure {
  restarts: number;
  windowMs: number;
  since: number;
  lastExit: string;
}

const exitOf = (code: number | null, signal: NodeJS.Signals | null): string =>
  code !== null ? `code ${code}` : signal !== null ? `signal ${signal}` : 'could not start';

const BACKOFF_BASE_MS = 500;
/** A run this long is healthy: the next crash starts the backoff from the beginning again. */
const STABLE_RUN_MS = 60_000;

/**
 * Runs `freqtrade trade` and keeps it alive: a crash restarts it with exponential backoff (counted in
 * health), each start with a fresh config (new API port and credentials, initial_state as the agent
 * wants it now). Its output is forwarded line by line to the agent's log (redacted there).
 */
/** Freqtrade's log format: `2026-01-01 00:00:00,000 - freqtrade.worker - INFO - message`. */
const FREQTRADE_LEVEL = / - (DEBUG|INFO|WARNING|ERROR|CRITICAL) - /;
const LEVELS = { DEBUG: 'debug', INFO: 'info', WARNING: 'warn', ERROR: 'error', CRITICAL: 'error' } as const;

/**
 * Forwards Freqtrade's output line by line at the level Freqtrade gave it (Python logs everything to
 * stderr, so the stream alone would make every line a warning); unlabelled stderr lines stay warnings.
 */
const forwardLogs = (child: ChildProcess, logger: AgentLogger): void => {
  for (const [stream, fallback] of [
    [child.stdout, 'info'],
    [child.stderr, 'warn'],
  ] as const) {
    if (stream === null) continue;
    createInterface({ input: stream, crlfDelay: Number.POSITIVE_INFINITY }).on('line', (line) => {
      if (line.trim() === '') return;
      const label = line.match(FREQTRADE_LEVEL)?.[1] as keyof typeof LEVELS | undefined;
      logger[label === undefined ? fallback : LEVELS[label]]('freqtrade', { source: 'freqtrade', line });
    });
  }
};

export class FreqtradeSupervisor {
  readonly #options: SupervisorOptions;
  readonly #argv: string[];
  #child: ChildProcess | undefined;
  #stopping = false;
  #restarts = 0;
  #crashesWhileTrading = 0;
  #childReachedLoop = false;
  #consecutiveCrashes = 0;
  #restartTimer: NodeJS.Timeout | undefined;
  #starts = 0;
  #exited: Promise<void> = Promise.resolve();
  readonly #window: RestartWindow;
  #lastExit: string | null = null;
  #gaveUp: StartFailure | undefined;

  constructor(options: SupervisorOptions) {
    this.#options = options;
    this.#window = new RestartWindow({
      maxRestarts: options.maxRestarts ?? DEFAULT_MAX_RESTARTS,
      windowMs: options.restartWindowMs ?? DEFAULT_RESTART_WINDOW_S * 1000,
    });
    this.#argv = options.command.split(/\s+/).filter((part) => part !== '');
  }

  get restarts(): number {
    return this.#restarts;
  }

  /** How the last Freqtrade process ended (`code 1`, `signal SIGKILL`), null while none has. */
  get lastExit(): string | null {
    return this.#lastExit;
  }

  get restartsInWindow(): number {
    return this.#window.count(this.#options.clock.now());
  }

  /** Set once the supervisor gave up restarting. */
  get gaveUp(): StartFailure | undefined {
    return this.#gaveUp;
  }

  /** The agent saw Freqtrade's trading loop alive: earlier restarts no longer count against start-up. */
  markLive(): void {
    this.#window.live();
    this.#childReachedLoop = true;
  }

  /** Restarts of a process that had reached a live trading loop: crashes while trading, not start-up failures. */
  get crashesWhileTrading(): number {
    return this.#crashesWhileTrading;
  }

  get pid(): number | undefined {
    return this.#child?.pid;
  }

  get running(): boolean {
    return this.#child !== undefined;
  }

  async start(): Promise<void> {
    if (this.#stopping) return;
    const initial = this.#options.initialState();
    const written = await writeFreqtradeConfig(this.#options.workDir, this.#options.config, initial, {
      ...(this.#options.tradeDbUrl === undefined ? {} : { tradeDbUrl: this.#options.tradeDbUrl }),
    });
    if (!written.tradeDatabase.durable && this.#starts === 0) {
      this.#options.logger.warn('dry-run trades are kept on the task disk: a replacement task starts empty', {
        db_url: written.tradeDatabase.url,
        fix: 'set TRADE_DB_URL',
      });
    }
    const [command, ...prefix] = this.#argv;
    if (command === undefined) throw new Error('FREQTRADE_CMD is empty');
    const startedAt = this.#options.clock.now();
    this.#starts += 1;
    const start = this.#starts;
    const child = this.#options.spawn(command, [...prefix, 'trade', '--config', written.path], {
      env: { ...process.env, ...this.#options.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.#child = child;
    this.#forward(child);
    this.#options.logger.info('freqtrade started', { pid: child.pid, initial_state: initial, start });
    this.#exited = new Promise<void>((resolve) => {
      child.once('error', (error) => {
        this.#options.logger.error('freqtrade could not be started', { error: error.message });
      });
      child.once('close', (code, signal) => {
        if (this.#child === child) this.#child = undefined;
        resolve();
        this.#onExit(code, signal, this.#options.clock.now() - startedAt);
      });
    });
    this.#options.onStarted?.(written.endpoint, start);
  }

  #forward(child: ChildProcess): void {
    forwardLogs(child, this.#options.logger);
  }

  #onExit(code: number | null, signal: NodeJS.Signals | null, ranMs: number): void {
    if (this.#stopping) {
      this.#options.logger.info('freqtrade exited', { code, signal });
      return;
    }
    this.#lastExit = exitOf(code, signal);
    const now = this.#options.clock.now();
    if (!this.#window.tryRestart(now)) {
      this.#gaveUp = {
        restarts: this.#window.withoutLiveLoop(now),
        windowMs: this.#window.windowMs,
        since: this.#window.since(now),
        lastExit: this.#lastExit,
      };
      this.#stopping = true;
      this.#options.logger.error('freqtrade does not come up: no more restarts', {
        restarts: this.#gaveUp.restarts,
        window_s: this.#gaveUp.windowMs / 1000,
        last_exit: this.#lastExit,
      });
      this.#options.onGaveUp?.(this.#gaveUp);
      return;
    }
    this.#restarts += 1;
    if (this.#childReachedLoop) this.#crashesWhileTrading += 1;
    this.#childReachedLoop = false;
    this.#consecutiveCrashes = ranMs >= STABLE_RUN_MS ? 1 : this.#consecutiveCrashes + 1;
    const delay = Math.min(this.#options.backoffMaxMs, BACKOFF_BASE_MS * 2 ** (this.#consecutiveCrashes - 1));
    this.#options.logger.error('freqtrade exited unexpectedly; restarting', {
      code,
      signal,
      restarts: this.#restarts,
      restart_in_ms: delay,
    });
    this.#restartTimer = setTimeout(() => {
      this.#restartTimer = undefined;
      this.start().catch((error: unknown) => {
        this.#options.logger.error('freqtrade restart failed', { error: String(error) });
        this.#onExit(null, null, 0);
      });
    }, delay);
  }

  /**
   * Stops for good: SIGTERM (Freqtrade shuts down cleanly), SIGKILL if it has not exited in time. Says
   * which it took, so a fail-closed report can tell the operator.
   */
  async stop(timeoutMs: number): Promise<'stopped' | 'killed' | 'still_running' | 'not_running'> {
    this.#stopping = true;
    if (this.#restartTimer !== undefined) clearTimeout(this.#restartTimer);
    const child = this.#child;
    if (child === undefined) return 'not_running';
    child.kill('SIGTERM');
    let timer: NodeJS.Timeout | undefined;
    const timedOut = await Promise.race([
      this.#exited.then(() => false),
      new Promise<boolean>((resolve) => {
        timer = setTimeout(() => resolve(true), timeoutMs);
      }),
    ]);
    if (timer !== undefined) clearTimeout(timer);
    if (!timedOut || this.#child !== child) return 'stopped';
    this.#options.logger.warn('freqtrade did not stop in time; killing it');
    child.kill('SIGKILL');
    let killTimer: NodeJS.Timeout | undefined;
    const gone = await Promise.race([
      this.#exited.then(() => true),
      new Promise<boolean>((resolve) => {
        killTimer = setTimeout(() => resolve(false), 1000);
      }),
    ]);
    if (killTimer !== undefined) clearTimeout(killTimer);
    return gone ? 'killed' : 'still_running';
  }
}

export interface OneShotResult {
  code: number | null;
  signal: NodeJS.Signals | null;
}

/** backtest / hyperopt / train: one Freqtrade command whose exit code decides completed or failed. */
export const runOneShot = (
  options: Pick<SupervisorOptions, 'command' | 'workDir' | 'env' | 'spawn' | 'logger'>,
  args: readonly string[],
  onSpawn?: (child: ChildProcess) => void,
): Promise<OneShotResult> => {
  const [command, ...prefix] = options.command.split(/\s+/).filter((part) => part !== '');
  if (command === undefined) return Promise.resolve({ code: 127, signal: null });
  const child = options.spawn(command, [...prefix, ...args], {
    env: { ...process.env, ...options.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  onSpawn?.(child);
  forwardLogs(child, options.logger);
  return new Promise((resolve) => {
    child.once('error', (error) => {
      options.logger.error('freqtrade could not be started', { error: error.message });
    });
    child.once('close', (code, signal) => resolve({ code, signal }));
  });
};
