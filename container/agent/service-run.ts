import type {
  EntriesHeld,
  FailClosedReport,
  MissingTradesReport,
  StartFailureReport,
  StopOutcome,
} from '../../shared/domain/agent-report';
import type { Heartbeat } from '../../shared/domain/heartbeat';
import { snapshotEveryMsFor } from '../../shared/domain/heartbeat';
import type { RiskSnapshot } from '../../shared/domain/risk';
import type { DesiredState, Session } from '../../shared/domain/session';
import type { SessionStore } from '../../shared/domain/session-store';
import type { Booted } from './bootstrap';
import { EXIT, FREQTRADE_DEFAULT_THROTTLE_S, LOOP_STALE_CYCLES, STARTUP_GRACE_MS } from './constants';
import { actionFor, shutdownCommandFor, targetOf } from './control';
import type { AgentOptions } from './env';
import { type BotControl, FreqtradeClient, type FreqtradeEndpoint } from './freqtrade/client';
import type { InitialState } from './freqtrade/config-writer';
import { FreqtradeSupervisor, type SpawnFn } from './freqtrade/supervisor';
import type { HealthVerdict } from './health-server';
import { type HeartbeatMode, type HeartbeatOutcome, HeartbeatReporter, historyEveryMsFor } from './heartbeat';
import type { HttpFetch } from './http';
import { describeOutcome, type StopCause } from './lifecycle';
import { describeError } from './logger';
import { MetricsCollector } from './metrics';
import { ProcessStats } from './process-stats';
import { RiskMonitor } from './risk-monitor';
import type { AgentRun, AgentRuntime, AgentStatus } from './runtime';
import type { CommandReport, ProcessStopResult, StopPorts } from './stop';
import { accountLabelOf, checkTakeover, expectedTradesOf } from './takeover-guard';

/** Reads of Freqtrade's closed trades a takeover asks, one per poll, before unanswered counts as missing. */
const TAKEOVER_HISTORY_READS = 3;

/** How the process stop ended, in the words of the fail-closed report. */
const FAIL_CLOSED_ACTIONS: Record<ProcessStopResult, FailClosedReport['action']> = {
  stopped: 'process_stopped',
  not_running: 'process_stopped',
  killed: 'process_killed',
  still_running: 'process_stop_failed',
  not_supervised: 'attach_mode_no_process',
};

export interface ServiceRunDeps {
  store: SessionStore;
  spawn: SpawnFn;
  freqtradeFetch?: HttpFetch;
  freqtradeEnv: Record<string, string>;
  workDir: string;
}

const sleep = (ms: number) => new Promise<void>((done) => setTimeout(done, ms));

const throttleOf = (config: Record<string, unknown>): number => {
  const internals = config.internals;
  if (typeof internals === 'object' && internals !== null && 'process_throttle_secs' in internals) {
    const value = internals.process_throttle_secs;
    if (typeof value === 'number' && value > 0) return value;
  }
  return FREQTRADE_DEFAULT_THROTTLE_S;
};

/**
 * dry-run / live: runs (or attaches to) Freqtrade, polls it, enforces risk locally, reports heartbeats
 * and reconciles Freqtrade to the operator's desired state. Every way it ends goes through runtime.stop.
 */
export const createServiceRun = (
  options: AgentOptions,
  runtime: AgentRuntime,
  booted: Booted,
  deps: ServiceRunDeps,
): AgentRun => {
  const { clock, logger, agentId } = runtime;
  const { store } = deps;
  const { session, loaded, claimedAt } = booted;

  let current: Session = session;
  let desired: DesiredState = session.desired_state;
  // A successor (deploy, restart, rollback) goes on from its predecessor's risk: the drawdown peak, the
  // losses acknowledged and a latched response, so a deploy never resets a drawdown or lifts a risk pause.
  const inheritedRisk = session.risk ?? booted.predecessor?.risk ?? null;
  const risk = new RiskMonitor(session.risk_limits, inheritedRisk, session.desired_state);
  const loopStaleAfterMs =
    (options.loopStaleAfterS ?? Math.max(30, LOOP_STALE_CYCLES * throttleOf(loaded.config))) * 1000;
  const collector = new MetricsCollector({
    clock,
    loopStaleAfterMs,
    // The predecessor's peak and loss acknowledgement; the operator's starting capital (drawdown baseline).
    previous: inheritedRisk?.snapshot ?? null,
    ...(session.risk_limits.starting_capital === undefined
      ? {}
      : { startingCapital: session.risk_limits.starting_capital }),
  });
  const stats = new ProcessStats();
  let lastStats = { cpuPercent: 0, memoryMb: 0 };
  let client: FreqtradeClient | undefined;
  let clientStartedAt = clock.now();
  let apiAnsweredSinceStart = false;
  /** A poll without failures has shown Freqtrade's open trades at least once. */
  let seenTrades = false;
  let supervisor: FreqtradeSupervisor | undefined;
  let lastSnapshot: RiskSnapshot | null = inheritedRisk?.snapshot ?? null;
  const stopping = () => runtime.phase() === 'stopping' || runtime.phase() === 'done';

  const heartbeats: HeartbeatReporter = new HeartbeatReporter({
    store,
    clock,
    logger,
    strategyId: options.strategyId,
    initialSeq: session.heartbeat_seq,
    build: (seq, at) => buildHeartbeat(seq, at),
    historyEveryMs: historyEveryMsFor(options.heartbeatIntervalS),
    snapshotEveryMs: snapshotEveryMsFor(options.heartbeatIntervalS),
  });
  const failClosed = () =>
    clock.now() - (heartbeats.lastSuccessAt ?? claimedAt) > options.heartbeatFailClosedS * 1000;
  // ---- Startup guard: a takeover must find the trades its predecessor reported open ----
  // A successor must find what its predecessor last reported open, as a replacement task must.
  const expectedTrades = expectedTradesOf(booted.predecessor ?? booted.before);
  let guard: 'pending' | 'clear' | 'missing' = expectedTrades.length > 0 ? 'pending' : 'clear';
  let missingTradesReport: MissingTradesReport | undefined;
  /** The operator saw `paused` after the report: a later `running` is a deliberate resume past it. */
  let pausedSinceMissing = false;
  const account = accountLabelOf(loaded.exchange, options.exchangeSecretName, booted.before.account_id);
  let unansweredHistoryReads = 0;
  const checkGuard = async () => {
    if (guard !== 'pending') return;
    let result = checkTakeover(expectedTrades, collector.openTrades, account, clock.now());
    if (!result.ok && client !== undefined) {
      // Not open: perhaps closed since the report. Unanswered, it is asked again at the next polls (entries
      // stay off meanwhile); only past TAKEOVER_HISTORY_READS unanswered reads do the trades count as missing.
      const history = await client.recentClosedTrades();
      if (history.ok) {
        const closed = history.value.trades.filter((trade) => !trade.is_open);
        result = checkTakeover(expectedTrades, collector.openTrades, account, clock.now(), closed);
      } else {
        unansweredHistoryReads += 1;
        if (unansweredHistoryReads < TAKEOVER_HISTORY_READS) {
          logger.warn('takeover: closed trades unanswered, asked again at the next poll', {
            attempt: unansweredHistoryReads,
            failure: history.failure.message,
          });
          return;
        }
      }
    }
    if (guard !== 'pending') return;
    if (result.ok) {
      guard = 'clear';
      logger.info(
        'takeover: every trade the previous agent reported is open (or closed since) in freqtrade',
        {
          trades: expectedTrades.length,
        },
      );
      return;
    }
    guard = 'missing';
    missingTradesReport = result.report;
    logger.error('takeover: trades the previous agent reported are not in freqtrade: entries stay paused', {
      missing_trade_ids: result.report.trade_ids,
      expected: result.report.expected,
      account,
    });
    void sendHeartbeat('missing trades');
  };
  /** The operator resumes past the report as past a risk latch: paused then running, or running stamped after it. */
  const observeGuard = (fresh: Session) => {
    if (guard !== 'missing' || missingTradesReport === undefined) return;
    if (fresh.desired_state === 'paused') {
      pausedSinceMissing = true;
      return;
    }
    const changedAt = fresh.desired_state_changed_at ?? null;
    const resumedAfter = changedAt !== null && Date.parse(changedAt) > Date.parse(missingTradesReport.at);
    if (fresh.desired_state === 'running' && (pausedSinceMissing || resumedAfter)) {
      guard = 'clear';
      logger.warn('operator resumed past the missing trades: entries back on', {
        missing_trade_ids: missingTradesReport.trade_ids,
      });
    }
  };
  const target = () => {
    const goal = targetOf({ desired, riskStep: risk.response?.step ?? null, failClosed: failClosed() });
    // Until Freqtrade shows the predecessor's trades (or the operator resumes past their loss): no entries.
    return guard !== 'clear' && goal === 'running' ? 'paused' : goal;
  };

  /** Set by the SIGTERM plan's last heartbeat: its pause is a handover, not a state to report as paused. */
  let draining = false;
  /**
   * A takeover's Freqtrade starts paused until /status shows the predecessor's trades: nobody's intent
   * either, so (like the SIGTERM handover) the status does not follow it until Freqtrade runs again, and a
   * takeover that finds its trades pages nothing. Missing trades end it: then the pause is the news.
   */
  let takeoverPause = guard === 'pending';
  /**
   * Entries paused because no heartbeat could be written for HEARTBEAT_FAIL_CLOSED_S (DynamoDB out of
   * reach): nobody's intent either. Reported until Freqtrade runs again, because the first heartbeats
   * back are written before the agent has resumed it; the outage itself pages as stale, if it lasts.
   */
  let failClosedPause = false;
  /** Why the agent itself holds entries back now (health.entries_held), updated as each heartbeat is built. */
  const entriesHeld = (freqtradeState: Heartbeat['health']['freqtrade_state']): EntriesHeld | null => {
    if (takeoverPause && (guard === 'missing' || freqtradeState === 'running' || desired !== 'running')) {
      takeoverPause = false;
    }
    // Only while the operator wants it trading and nothing else (a risk latch, the takeover guard) holds it.
    const otherwiseRunning =
      guard === 'clear' &&
      targetOf({ desired, riskStep: risk.response?.step ?? null, failClosed: false }) === 'running';
    if (!otherwiseRunning) failClosedPause = false;
    else if (failClosed()) failClosedPause = true;
    else if (freqtradeState === 'running') failClosedPause = false;
    if (draining) return 'draining';
    if (takeoverPause) return 'takeover_guard';
    return failClosedPause ? 'fail_closed' : null;
  };
  const buildHeartbeat = (seq: number, at: string): Heartbeat => {
    const freqtradeState =
      supervisor !== undefined &&
      !supervisor.running &&
      (stopping() || held() || supervisor.gaveUp !== undefined || failClosedReport !== undefined)
        ? 'stopped'
        : collector.freqtradeState;
    const heldBy = entriesHeld(freqtradeState);
    const loopAlive = collector.loopAlive;
    return {
      run_id: options.runId,
      agent_id: agentId,
      seq,
      at,
      metrics: collector.metrics(),
      health: {
        cpu_percent: lastStats.cpuPercent,
        memory_mb: lastStats.memoryMb,
        exchange_connected: collector.exchangeConnected,
        last_trade_at: collector.lastTradeAt(),
        freqtrade_state: freqtradeState,
        ...(loopAlive === undefined ? {} : { loop_alive: loopAlive }),
        last_process_at: collector.lastProcessAt,
        freqtrade_restarts: supervisor?.restarts ?? 0,
        freqtrade_crashes: supervisor?.crashesWhileTrading ?? 0,
        monitor_failures: collector.consecutiveFailures,
        entries_held: heldBy,
        // For a stream processor of the previous release, which reads only `draining`.
        ...(heldBy === null ? {} : { draining: true }),
        ...(failClosedReport === undefined ? {} : { fail_closed: failClosedReport }),
        ...(supervisor === undefined
          ? {}
          : { restarts_in_window: supervisor.restartsInWindow, last_exit: supervisor.lastExit }),
        ...(startFailureReport === undefined ? {} : { start_failure: startFailureReport }),
        ...(missingTradesReport === undefined || guard !== 'missing'
          ? {}
          : { missing_trades: missingTradesReport }),
      },
      risk: risk.state(lastSnapshot),
      open_trades: collector.openTrades,
    };
  };

  // ---- Talking to Freqtrade ----
  const send = async (action: BotControl | 'forceexit', why: string): Promise<CommandReport> => {
    if (client === undefined) return { ok: false, detail: 'freqtrade is not running' };
    const result = action === 'forceexit' ? await client.forceExitAll() : await client.control(action);
    if (result.ok) {
      logger.info(`freqtrade ${action}`, { why });
      return { ok: true, detail: 'sent' };
    }
    logger.warn(`freqtrade ${action} failed`, {
      why,
      failure: result.failure.message,
      kind: result.failure.kind,
    });
    return { ok: false, detail: `${action} failed: ${result.failure.message}` };
  };

  /** Whether Freqtrade's own state (the latest poll) shows the command done. */
  const confirmed = (action: BotControl | 'forceexit'): boolean => {
    const clean = collector.lastOutcome?.failures.length === 0;
    const state = collector.freqtradeState;
    switch (action) {
      case 'pause':
        // An older Freqtrade stops entries with /stopentry and stays "running": the accepted call is all there is.
        return state === 'paused' || state === 'stopped' || (client?.pausesByStopEntry ?? false);
      case 'stop':
        return state === 'stopped';
      case 'start':
        return state === 'running';
      case 'forceexit':
        return clean && collector.openTradeCount === 0;
    }
  };

  /** Sends a command, then polls (bounded) until Freqtrade's own state shows it: a 200 alone proves nothing. */
  const command = async (action: BotControl | 'forceexit', why: string): Promise<CommandReport> => {
    const sent = await send(action, why);
    if (!sent.ok) return sent;
    const boundMs =
      (action === 'forceexit' ? options.flattenTimeoutS : options.commandConfirmTimeoutS) * 1000;
    const everyMs = Math.max(20, Math.min(250, boundMs / 4));
    const deadline = clock.now() + boundMs;
    // Counted as well as timed, so an injected clock that stands still cannot make this wait forever.
    for (let attempt = 0; ; attempt += 1) {
      await pollOnce(false);
      if (confirmed(action)) return { ok: true, detail: 'confirmed' };
      if (clock.now() >= deadline || attempt * everyMs >= boundMs) {
        return {
          ok: false,
          detail: `${action} not confirmed within ${boundMs / 1000} s (freqtrade ${collector.freqtradeState}, ${collector.openTradeCount} open trades)`,
        };
      }
      await sleep(everyMs);
    }
  };

  /** What the agent did when Freqtrade did not honour a command (health.fail_closed). */
  let failClosedReport: FailClosedReport | undefined;
  /** Freqtrade did not come up: the supervisor stopped restarting it (health.start_failure). */
  let startFailureReport: StartFailureReport | undefined;
  let pendingFailClosed: Pick<FailClosedReport, 'command' | 'failure'> | undefined;
  const held = () => runtime.phase() === 'held';
  const processGone = () => held() && supervisor !== undefined && !supervisor.running;

  /** Fail-closed means closed: a restrictive command Freqtrade did not honour stops its process. */
  const failClosedStop = async (action: 'pause' | 'stop' | 'forceexit', failure: string) => {
    if (runtime.phase() !== 'running') return;
    logger.error('freqtrade did not honour a command: stopping its process (fail-closed)', {
      command: action,
      failure,
    });
    pendingFailClosed = { command: action, failure: failure.slice(0, 256) };
    await runtime.stop({ kind: 'fail_closed', command: action, failure }, `freqtrade ${action}: ${failure}`);
  };
  /** A restrictive command that must take effect: confirmed, or the process is stopped instead. */
  const enforce = async (action: 'pause' | 'stop' | 'forceexit', why: string): Promise<boolean> => {
    const report = await command(action, why);
    if (report.ok) return true;
    // A Freqtrade still booting has not answered yet: its config's initial_state holds the target. Once it
    // has answered, or the start-up grace is over without one answer (its loop may trade blind), a command
    // it does not obey stops it.
    const pastStartup = apiAnsweredSinceStart || clock.now() - clientStartedAt >= STARTUP_GRACE_MS;
    if (pastStartup) await failClosedStop(action, report.detail);
    return false;
  };

  let reconciling = false;
  let lastCommand: BotControl | null = null;
  /** Moves Freqtrade towards the state it must be in now; called after every poll and every change. */
  const reconcile = async (why: string) => {
    if (stopping() || runtime.phase() === 'held' || reconciling || client === undefined) return;
    reconciling = true;
    let confirmedAction: BotControl | 'forceexit' | null = null;
    try {
      const goal = target();
      const observed = collector.freqtradeState;
      let action = actionFor(observed, goal);
      // An older Freqtrade stops entries with /stopentry and stays "running": that is paused enough.
      if (action === 'pause' && observed === 'running' && client.pausesByStopEntry && lastCommand === 'pause')
        action = null;
      if (action === null) return;
      const ok = action === 'start' ? (await command(action, why)).ok : await enforce(action, why);
      if (ok) lastCommand = action;
      confirmedAction = ok ? action : null;
    } finally {
      reconciling = false;
    }
    // Report a confirmed pause or resume at once, so the API shows it within a control poll instead of at the
    // next heartbeat interval. Not awaited: the heartbeat's own reconcile finds nothing to do (no loop).
    if (confirmedAction !== null && !stopping()) void sendHeartbeat(`confirmed ${confirmedAction}`);
  };
  const initialState = (): InitialState => {
    const goal = target();
    return goal === 'stopped' ? 'stopped' : goal;
  };

  const stop = (cause: StopCause, why: string) => runtime.stop(cause, why);

  /** Every session the agent reads (heartbeat ALL_NEW or control poll) goes through here. */
  const onSession = async (fresh: Session, why: string) => {
    current = fresh;
    if (fresh.agent_id !== agentId) {
      const message = `session now held by ${fresh.agent_id ?? '(none)'}`;
      await stop({ kind: 'fenced', reason: 'superseded', message }, `fenced: ${message}`);
      return;
    }
    if (fresh.status === 'stopped' || fresh.status === 'failed' || fresh.status === 'completed') {
      const message = `session is ${fresh.status}`;
      await stop({ kind: 'fenced', reason: 'terminal', message }, `fenced: ${message}`);
      return;
    }
    risk.setLimits(fresh.risk_limits);
    observeGuard(fresh);
    const changed = fresh.desired_state !== desired;
    desired = fresh.desired_state;
    if (risk.observeDesired(desired, fresh.desired_state_changed_at ?? null)) {
      collector.acknowledgeLosses();
      logger.warn('operator resumed after a risk breach: latch cleared, losses so far acknowledged');
    }
    if (desired === 'stopped') {
      const handoff = fresh.handoff ?? null;
      // Superseded: the successor's claim waits for this session to be over, and its container for this one.
      if (handoff !== null && (fresh.superseded_by ?? null) === handoff.to_run_id) {
        await stop(
          {
            kind: 'handoff',
            mode: handoff.mode,
            waitFlatS: handoff.wait_flat_s,
            successor: handoff.to_run_id,
          },
          `handed off to ${handoff.to_run_id} (${handoff.kind}, ${handoff.mode})`,
        );
        return;
      }
      await stop({ kind: 'operator_stop', flatten: current.flatten_on_stop }, 'session stop requested');
      return;
    }
    if (changed) logger.info('desired state changed', { desired_state: desired, via: why });
    await reconcile(`desired_state ${desired} (${why})`);
  };

  const sendHeartbeat = async (
    reason: string,
    mode: HeartbeatMode = 'snapshot',
  ): Promise<HeartbeatOutcome> => {
    const outcome = await heartbeats.send(reason, mode);
    if (outcome.kind === 'ok' && outcome.session !== null && !stopping())
      await onSession(outcome.session, 'heartbeat');
    else if (outcome.kind === 'fenced' && !stopping())
      await stop(
        { kind: 'fenced', reason: outcome.reason, message: outcome.message },
        `fenced: ${outcome.message}`,
      );
    return outcome;
  };

  // ---- Polling Freqtrade and enforcing risk ----
  let polling: Promise<void> | undefined;
  const pollOnce = async (act: boolean): Promise<void> => {
    const inStartup = !apiAnsweredSinceStart && clock.now() - clientStartedAt < STARTUP_GRACE_MS;
    const outcome = await collector.poll(client, !inStartup);
    if (outcome.loopAlive === true) supervisor?.markLive();
    if (outcome.failures.length === 0) await checkGuard();
    if (outcome.failures.length === 0) {
      apiAnsweredSinceStart = true;
      seenTrades = true;
    } else
      logger.warn('freqtrade poll failed', {
        failures: outcome.failures,
        consecutive: collector.consecutiveFailures,
      });
    lastStats = await stats.sample(supervisor?.pid);
    const snapshot = collector.riskSnapshot();
    lastSnapshot = snapshot;
    if (!act) return;
    const decision = risk.evaluate(snapshot, clock.now());
    if (decision.newStep !== null) {
      logger.error('risk breach: taking ladder step', {
        step: decision.newStep,
        breaches: decision.assessment.breaches.map((breach) => breach.message),
      });
      // Act first, then report (DESIGN.md §3): the pause must not wait for DynamoDB.
      if (decision.newStep === 'pause') await enforce('pause', 'risk breach');
      else if (decision.newStep === 'flatten') {
        if (await enforce('pause', 'risk breach: flatten'))
          await enforce('forceexit', 'risk breach: flatten');
      } else {
        const outcome = await stop({ kind: 'risk_stop' }, 'risk breach: stop');
        if (collector.freqtradeState !== 'stopped')
          await failClosedStop('stop', outcome?.detail ?? 'stop not confirmed');
      }
      lastCommand = decision.newStep === 'stop' ? 'stop' : 'pause';
      if (decision.newStep !== 'stop') void sendHeartbeat(`risk ${decision.newStep}`);
    }
    await reconcile('risk poll');
  };
  const riskPoll = async () => {
    if (polling !== undefined) return polling;
    if (stopping()) return;
    // Held down after a fail-closed process stop: nothing to act on; an attached bot is still watched.
    if (held()) {
      if (supervisor === undefined) await pollOnce(false);
      return;
    }
    polling = pollOnce(true).finally(() => {
      polling = undefined;
    });
    await polling;
  };

  // ---- Loops ----
  let heartbeatBackoffMs = 0;
  const heartbeatLoop = () => {
    const intervalMs = options.heartbeatIntervalS * 1000;
    runtime.every(
      'heartbeat',
      () => (heartbeatBackoffMs > 0 ? Math.min(heartbeatBackoffMs, intervalMs) : intervalMs),
      async () => {
        const outcome = await sendHeartbeat('interval', 'cadence');
        // DynamoDB unreachable: retry sooner, doubling up to the interval, and keep trading under local risk control.
        heartbeatBackoffMs =
          outcome.kind === 'error' ? Math.min(intervalMs, Math.max(50, heartbeatBackoffMs * 2 || 250)) : 0;
        if (outcome.kind === 'error' && failClosed()) await reconcile('no heartbeat: fail-closed');
      },
    );
  };
  const controlLoop = () =>
    runtime.every(
      'control poll',
      () => options.controlPollIntervalS * 1000,
      async () => {
        if (stopping()) return;
        let fresh: Session | undefined;
        try {
          fresh = await store.get(options.runId);
        } catch (error) {
          logger.warn('control poll failed', describeError(error));
          return;
        }
        if (fresh === undefined) {
          const message = `session ${options.runId} is gone`;
          await stop({ kind: 'fenced', reason: 'not_found', message }, `fenced: ${message}`);
          return;
        }
        await onSession(fresh, 'control poll');
        // Beats never reach the stream processor: a snapshot is what brings a stale session back.
        if (fresh.status === 'stale' && !stopping()) await sendHeartbeat('stale: recovering');
      },
    );

  // ---- What the stop plans act on ----
  const ports: StopPorts = {
    now: () => clock.now(),
    get trades() {
      return client !== undefined && !processGone();
    },
    freqtradeState: () => collector.freqtradeState,
    entriesOffCommand: () => shutdownCommandFor({ observed: collector.freqtradeState, target: target() }),
    openTradeIds: () => {
      // Never seen Freqtrade's /status: what the predecessor last reported is the best knowledge there is.
      if (!seenTrades)
        return (booted.predecessor ?? booted.before).open_trades.map((trade) => trade.trade_id);
      if ((collector.lastOutcome?.failures.length ?? 1) > 0) return null;
      return collector.openTrades.map((trade) => trade.trade_id);
    },
    refresh: () => pollOnce(false),
    command: (action, why) => command(action, why),
    flatten: async (untilMs) => {
      const sent = await send('forceexit', 'session stopping: flatten_on_stop');
      // Refused outright: nothing will close, so there is nothing to wait for.
      while (sent.ok && clock.now() < untilMs) {
        await collector.poll(client, false);
        if (collector.lastOutcome?.failures.length === 0 && collector.openTradeCount === 0) return [];
        await sleep(Math.min(1000, options.riskPollIntervalS * 1000));
      }
      if (!sent.ok) await collector.poll(client, false);
      const ids = collector.openTrades.map((trade) => trade.trade_id);
      logger.error('positions still open after flatten_on_stop; stopping anyway', {
        open_trades: ids,
        ...(sent.ok ? {} : { failure: sent.detail }),
      });
      return collector.lastOutcome?.failures.length === 0 ? ids : null;
    },
    stopProcess: async (timeoutMs): Promise<ProcessStopResult> => {
      const result = supervisor === undefined ? 'not_supervised' : await supervisor.stop(timeoutMs);
      if (pendingFailClosed !== undefined) {
        failClosedReport = {
          ...pendingFailClosed,
          action: FAIL_CLOSED_ACTIONS[result],
          at: new Date(clock.now()).toISOString(),
        };
        pendingFailClosed = undefined;
        logger.error('fail-closed: freqtrade process', { ...failClosedReport });
      }
      return result;
    },
    killOneShot: () => {},
    heartbeat: async (kind) => {
      if (kind === 'shutdown') draining = true;
      await heartbeats.send(kind);
    },
    writeFinal: async (outcome: StopOutcome) => {
      // Only the operator stop plans end here with a status of their own; start failures are the runtime's.
      const result = await store
        .transition(options.runId, 'stopped', {
          from: ['stopping'],
          heldBy: agentId,
          patch: {
            stop_outcome: outcome,
            status_reason: `${current.status_reason ?? 'stopped'}: ${describeOutcome(outcome)}`.slice(
              0,
              1024,
            ),
          },
        })
        .catch((error: unknown) => ({ ok: false as const, message: describeError(error).error }));
      if (result.ok) logger.info('session stopped');
      else logger.warn('final status write failed', { detail: result.message });
    },
  };
  runtime.setStopPorts(ports);

  const connect = (endpoint: FreqtradeEndpoint) => {
    client = new FreqtradeClient(endpoint, {
      ...(deps.freqtradeFetch === undefined ? {} : { fetch: deps.freqtradeFetch }),
      timeoutMs: options.freqtradeTimeoutS * 1000,
    });
    clientStartedAt = clock.now();
    apiAnsweredSinceStart = false;
    lastCommand = null;
  };

  return {
    status: (): AgentStatus => ({
      agentId,
      phase: runtime.phase(),
      desiredState: desired,
      freqtradeState: collector.freqtradeState,
      riskStep: risk.response?.step ?? null,
      failClosed: failClosed(),
      heartbeatsSent: heartbeats.sent,
      restarts: supervisor?.restarts ?? 0,
      monitorFailures: collector.consecutiveFailures,
      freqtradeUrl: client?.url,
    }),
    health: (): HealthVerdict => {
      const reasons: string[] = [];
      // Held with its own Freqtrade stopped on purpose: the task is doing its job (entries off, reporting).
      // A failing health check would have ECS replace it, and the replacement would start Freqtrade again.
      const heldOnPurpose = held() && supervisor !== undefined;
      if (runtime.phase() !== 'running' && !heldOnPurpose) reasons.push(`agent is ${runtime.phase()}`);
      if (!heartbeats.lastOk) reasons.push('last heartbeat did not succeed');
      if (heldOnPurpose) {
        // nothing of Freqtrade to check: it is down by the agent's decision (health.fail_closed / start_failure)
      } else if (collector.loopAlive === false) reasons.push('freqtrade bot loop is stuck');
      else if (collector.lastOutcome === undefined || collector.lastOutcome.failures.length > 0) {
        reasons.push('freqtrade is not answering');
      }
      return {
        healthy: reasons.length === 0,
        reasons,
        details: {
          run_id: options.runId,
          freqtrade_state: collector.freqtradeState,
          risk: risk.response?.step ?? null,
          fail_closed: failClosed(),
          held: held(),
        },
      };
    },
    start: async () => {
      if (options.attach !== undefined) {
        connect({ ...options.attach });
        logger.info('attached to a running freqtrade', { url: options.attach.url });
      } else {
        supervisor = new FreqtradeSupervisor({
          command: options.freqtradeCmd,
          workDir: deps.workDir,
          ...(options.tradeDbUrl === undefined ? {} : { tradeDbUrl: options.tradeDbUrl }),
          config: loaded.config,
          env: deps.freqtradeEnv,
          spawn: deps.spawn,
          logger,
          clock,
          backoffMaxMs: options.restartBackoffMaxS * 1000,
          maxRestarts: options.maxRestarts,
          restartWindowMs: options.restartWindowS * 1000,
          onGaveUp: (failure) => {
            startFailureReport = {
              restarts: failure.restarts,
              window_s: failure.windowMs / 1000,
              since: new Date(failure.since).toISOString(),
              last_exit: failure.lastExit.slice(0, 128),
              action: 'restarts_stopped',
            };
            void stop(
              { kind: 'restarts_exhausted', restarts: failure.restarts, lastExit: failure.lastExit },
              `freqtrade does not come up: ${failure.restarts} restarts in ${failure.windowMs / 1000} s, last ${failure.lastExit}`,
            );
          },
          initialState,
          onStarted: (endpoint) => {
            connect(endpoint);
            // Poll soon after a (re)start, so a latched pause is re-applied without waiting for the interval.
            void riskPoll();
          },
        });
        const started = supervisor;
        runtime.onCleanup(async () => {
          await started.stop(options.stopTimeoutS * 1000);
        });
        try {
          await supervisor.start();
        } catch (error) {
          const message = `freqtrade could not be started: ${describeError(error).error}`;
          await stop({ kind: 'start_failed', code: EXIT.fault, message, markFailed: true }, message);
          return;
        }
      }
      runtime.enter('running');
      runtime.every('risk poll', () => options.riskPollIntervalS * 1000, riskPoll);
      heartbeatLoop();
      controlLoop();
      void riskPoll().then(() => sendHeartbeat('started'));
    },
  };
};
