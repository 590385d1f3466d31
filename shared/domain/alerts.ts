import type { Alert, AlertSeverity } from './ports';
import { type Breach, highLossIncidentOf } from './risk';
import type { Session, SessionStatus } from './session';
import { heartbeatAgeSeconds } from './staleness';
import { type AgentReportKind, isBreached } from './stream';

/**
 * Pure mapping of what happened to a session onto the alert a person on call reads. Every body says
 * the same things in the same order: strategy, run, what changed, why, heartbeat, PnL, what the control
 * plane did, what to do now. Nothing here ever contains credentials: sessions hold none.
 */

export type AlertKind =
  | 'status.launching'
  | 'status.running'
  | 'status.resumed'
  | 'status.recovered'
  | 'status.paused'
  | 'status.stale'
  | 'status.stopping'
  | 'status.stopped'
  | 'status.failed'
  | 'status.completed'
  | 'status.pending'
  | 'risk.breach'
  | 'risk.high_loss'
  | 'container.restarting'
  | 'store.corrupt_item'
  | 'freqtrade.start_failure'
  | 'freqtrade.restarted'
  | 'takeover.missing_trades'
  | 'agent.fail_closed'
  | 'handoff.rolled_back'
  | 'handoff.failed';

/** SNS subjects: at most 100 characters, printable ASCII, no line breaks. */
export const SUBJECT_MAX = 100;

export const subjectOf = (text: string): string => {
  const plain = text
    .replace(/[^\x20-\x7E]/g, ' ')
    .replace(/\s+/g, ' ')
    .trim();
  return plain.length <= SUBJECT_MAX ? plain : `${plain.slice(0, SUBJECT_MAX - 3)}...`;
};

const fmtNumber = (value: number): string => (Math.round(value * 100) / 100).toFixed(2);

const fmtAge = (seconds: number | undefined): string => {
  if (seconds === undefined) return 'none received yet';
  const whole = Math.round(seconds);
  if (whole < 600) return `${whole} s ago`;
  if (whole < 7200) return `${Math.round(whole / 60)} min ago`;
  return `${Math.round(whole / 3600)} h ago`;
};

const pnlLine = (session: Session): string => {
  if (session.metrics === null) return 'no figures reported yet';
  const currency = session.metrics.stake_currency ? ` ${session.metrics.stake_currency}` : '';
  const open = session.metrics.open_trade_count ?? session.open_trades.length;
  return `today ${fmtNumber(session.metrics.pnl_today)}${currency}, total ${fmtNumber(session.metrics.pnl_total)}${currency}; ${open} open trade(s)`;
};

const containerLine = (session: Session): string => {
  const ref = session.container;
  if (ref === null) return 'none recorded';
  return `${ref.platform} ${ref.launch_type} ${ref.service_arn ?? ref.task_arn ?? '(starting)'} in ${ref.cluster}`;
};

const body = (
  session: Session,
  nowMs: number,
  lines: { what: string; reason?: string | null; done: readonly string[]; todo: readonly string[] },
): string => {
  const heartbeat =
    session.last_heartbeat === null
      ? 'none received yet'
      : `last at ${session.last_heartbeat} (${fmtAge(heartbeatAgeSeconds(session, nowMs))})`;
  const parts = [
    `Strategy:   ${session.strategy_id} (${session.strategy_name}, ${session.trading_mode})`,
    `Run:        ${session.run_id}`,
    `What:       ${lines.what}`,
    `Reason:     ${lines.reason ?? session.status_reason ?? 'none given'}`,
    `Heartbeat:  ${heartbeat}`,
    `PnL:        ${pnlLine(session)}`,
    `Operator:   desired state ${session.desired_state}`,
    `Container:  ${containerLine(session)}`,
    `Done:       ${lines.done.length > 0 ? lines.done.join('; ') : 'nothing automatic'}`,
    `To do:      ${lines.todo.length > 0 ? lines.todo.join(' ') : 'nothing; for information'}`,
    `Trace:      ${session.trace_id}`,
  ];
  return parts.join('\n');
};

interface TransitionCopy {
  severity: AlertSeverity;
  kind: AlertKind;
  headline: string;
  todo: string[];
}

const stopHint = (session: Session) =>
  `To stop it: POST /strategies/${session.strategy_id}/stop (add flatten to close positions).`;

/**
 * A failed session pages by what it may have left on the exchange. Only a live run whose agent claimed
 * it can have placed orders (the agent claims before Freqtrade starts); a dry-run or one-shot run never
 * places real orders, and a live run no agent ever claimed (refused start, account busy, no container)
 * traded nothing. Those must not send anyone to the exchange account.
 */
const failedCopy = (session: Session): TransitionCopy => {
  const fixIt = 'Read the reason and the container logs, fix the cause and start a new session.';
  // A deploy's or restart's successor: the handoff's own page (rolled back, or failed) is the one CRITICAL.
  if (session.handoff && session.handoff.kind !== 'rollback') {
    return {
      severity: 'WARNING',
      kind: 'status.failed',
      headline: `FAILED (${session.handoff.kind} of a new version)`,
      todo: ['The handoff pages on its own whether the previous version was started again.', fixIt],
    };
  }
  if (session.trading_mode === 'live' && session.agent_id !== null) {
    return {
      severity: 'CRITICAL',
      kind: 'status.failed',
      headline: 'FAILED',
      todo: [
        'Positions are NOT closed automatically: check the exchange account now and close or hedge what this run left open.',
        `Then: ${fixIt}`,
      ],
    };
  }
  if (session.trading_mode === 'live') {
    return {
      severity: 'WARNING',
      kind: 'status.failed',
      headline: 'FAILED before trading',
      todo: ['No agent ever ran this live session, so it placed no orders.', fixIt],
    };
  }
  const traded = session.started_at !== null || session.last_heartbeat !== null;
  return {
    severity: traded ? 'WARNING' : 'INFO',
    kind: 'status.failed',
    headline: traded ? 'FAILED' : 'FAILED before trading',
    todo: [`A ${session.trading_mode} session places no real orders.`, fixIt],
  };
};

/** `#3 BTC/USDT long 0.5 @ 100` for trades the snapshot knows, `#3` for the others. */
export const namedTrades = (session: Session, tradeIds: readonly number[]): string =>
  tradeIds
    .map((id) => {
      const trade = session.open_trades.find((candidate) => candidate.trade_id === id);
      return trade === undefined
        ? `#${id}`
        : `#${id} ${trade.pair} ${trade.is_short ? 'short' : 'long'} ${trade.amount} @ ${trade.open_rate}`;
    })
    .join(', ');

/**
 * A stop pages by what it left on the exchange (the agent's `stop_outcome`, or, when the agent never
 * confirmed the stop, the open trades of its last heartbeat): positions left open page WARNING, a flatten
 * asked for and not done CRITICAL, and the page names the trades. A dry-run's trades are paper: named, INFO.
 */
const stoppedCopy = (session: Session): TransitionCopy => {
  const outcome = session.stop_outcome ?? null;
  // Handed off: what is still open is the successor's to manage, in the same trade store; nothing is unmanaged.
  if (outcome?.plan === 'handoff' && (session.superseded_by ?? null) !== null) {
    const carried = outcome.open_trade_ids.length;
    return {
      severity: 'INFO',
      kind: 'status.stopped',
      headline: `handed off to ${session.superseded_by}`,
      todo: [
        carried > 0
          ? `${carried} open position(s) carried to run ${session.superseded_by}, which manages their exits: ${namedTrades(session, outcome.open_trade_ids)}.`
          : `No open positions were carried; run ${session.superseded_by} trades from here.`,
      ],
    };
  }
  const confirmed = outcome !== null;
  const snapshotIds = session.open_trades.map((trade) => trade.trade_id);
  const atRisk = confirmed
    ? outcome.positions === 'left_open' || outcome.positions === 'flatten_failed'
    : snapshotIds.length > 0;
  // The agent names what it saw open; when it could not read them, the last snapshot is the best we know.
  const openIds = confirmed && outcome.open_trade_ids.length > 0 ? outcome.open_trade_ids : snapshotIds;
  if (!atRisk) {
    return {
      severity: 'INFO',
      kind: 'status.stopped',
      headline: confirmed ? 'stopped, no open positions' : 'stopped (not confirmed by the agent)',
      todo: confirmed
        ? [`The agent reports no open positions (${outcome.positions}).`]
        : ['The agent did not confirm the stop; its last heartbeat reported no open positions.'],
    };
  }
  const live = session.trading_mode === 'live';
  const flattenFailed = confirmed ? outcome.positions === 'flatten_failed' : session.flatten_on_stop;
  const severity: AlertSeverity = !live ? 'INFO' : flattenFailed ? 'CRITICAL' : 'WARNING';
  const trades =
    openIds.length > 0
      ? namedTrades(session, openIds)
      : 'unknown (the agent could not read them: check the account)';
  const count = openIds.length > 0 ? String(openIds.length) : 'unknown';
  const where = live ? 'on the exchange' : 'in the paper account (dry-run)';
  return {
    severity,
    kind: 'status.stopped',
    headline: flattenFailed
      ? `stopped, FLATTEN FAILED: ${count} position(s) still open`
      : `stopped with ${count} open position(s)`,
    todo: [
      `${confirmed ? 'Still open' : 'Open at the last heartbeat (the stop was not confirmed by the agent)'} ${where}, with nobody managing their exits: ${trades}.`,
      live
        ? 'Close or hedge them on the exchange now, or start a session of this strategy to manage them.'
        : 'Nothing to do on the exchange.',
    ],
  };
};

/** What a transition means to the person on call. Entering stale or failed pages; the rest informs. */
const copyOf = (from: SessionStatus | null, session: Session): TransitionCopy => {
  const to = session.status;
  switch (to) {
    case 'pending':
      return { severity: 'INFO', kind: 'status.pending', headline: 'session created', todo: [] };
    case 'launching':
      return {
        severity: 'INFO',
        kind: 'status.launching',
        headline: 'launching',
        todo: ['Nothing: you will be told when it trades or if the launch fails.'],
      };
    case 'running':
      if (from === 'stale') {
        return {
          severity: 'WARNING',
          kind: 'status.recovered',
          headline: 'recovered: heartbeats are back',
          todo: [
            'Resolve the stale incident. Check the container logs for why heartbeats stopped, and that positions on the exchange match the open trades above.',
          ],
        };
      }
      if (from === 'paused') {
        return { severity: 'INFO', kind: 'status.resumed', headline: 'resumed trading', todo: [] };
      }
      return { severity: 'INFO', kind: 'status.running', headline: 'trading', todo: [] };
    case 'paused':
      if (from === 'stale') {
        return {
          severity: 'WARNING',
          kind: 'status.recovered',
          headline: 'recovered (paused): heartbeats are back',
          todo: ['Resolve the stale incident. The session stays paused until an operator resumes it.'],
        };
      }
      return {
        severity: 'INFO',
        kind: 'status.paused',
        headline: 'paused: no new entries',
        todo: [
          `Open positions stay open while paused. Resume with POST /strategies/${session.strategy_id}/resume when ready.`,
        ],
      };
    case 'stale':
      return {
        severity: 'CRITICAL',
        kind: 'status.stale',
        headline: 'HEARTBEAT LOST',
        todo: [
          'The bot may be trading unsupervised, or not at all. Check the container logs and the exchange account for open positions now.',
          `If it does not recover within minutes, stop it. ${stopHint(session)}`,
        ],
      };
    case 'stopping':
      return {
        severity: 'INFO',
        kind: 'status.stopping',
        headline: 'stopping',
        todo: ['Nothing: the stop is forced after the grace period if the agent does not confirm it.'],
      };
    case 'stopped':
      return stoppedCopy(session);
    case 'failed':
      return failedCopy(session);
    case 'completed':
      return { severity: 'INFO', kind: 'status.completed', headline: 'completed', todo: [] };
  }
};

const modeTag = (session: Session) => `${session.strategy_id} ${session.trading_mode}`;

/**
 * A move to paused whose cause already paged: the agent itself held entries back for an incident it
 * reported (trades missing at takeover, Freqtrade never up, a fail-closed stop) while the operator still
 * wants it running, or a risk breach paused it (the breach's CRITICAL page says the session is paused).
 * That incident has its own page, so the status change does not page a second time. An operator pause
 * of a session with no open breach still pages.
 */
export const pausePagedByItsCause = (from: SessionStatus | null, session: Session): boolean =>
  session.status === 'paused' &&
  from === 'running' &&
  ((session.desired_state === 'running' &&
    Boolean(
      session.health?.missing_trades || session.health?.start_failure || session.health?.fail_closed,
    )) ||
    isBreached(session));

/**
 * The high-loss incident whose page would cover this running -> paused: the sweep's CRITICAL, which names
 * the pause it made. Keyed by the day and resume the pause was written in; the caller asks the dedup
 * ledger whether that page went out, so an operator's pause (no such page) still pages for itself.
 */
export const highLossIncidentPausing = (from: SessionStatus | null, session: Session): string | null => {
  const pausedAt = session.desired_state_changed_at;
  if (from !== 'running' || session.status !== 'paused' || session.desired_state !== 'paused' || !pausedAt)
    return null;
  return highLossIncidentOf(session.run_id, Date.parse(pausedAt), session.risk?.resumed ?? null);
};

/** One alert per status transition; `done` lists what the control plane did about it. */
export const transitionAlert = (
  from: SessionStatus | null,
  session: Session,
  nowMs: number,
  done: readonly string[] = [],
): Alert => {
  const copy = copyOf(from, session);
  return {
    severity: copy.severity,
    subject: subjectOf(
      `[${copy.severity}] ${modeTag(session)}: ${copy.headline} (${from ?? 'new'} -> ${session.status})`,
    ),
    message: body(session, nowMs, {
      what: `${copy.headline}: status ${from ?? '(new)'} -> ${session.status} at ${session.status_changed_at}`,
      done,
      todo: copy.todo,
    }),
    strategy_id: session.strategy_id,
    run_id: session.run_id,
    kind: copy.kind,
    dedup_id: `${session.run_id}:v${session.version}:${copy.kind}`,
  };
};

/** One CRITICAL alert per breach incident (the caller checks the previous image was not breached). */
export const breachAlert = (
  session: Session,
  breaches: readonly Breach[],
  nowMs: number,
  done: readonly string[],
): Alert => {
  const rules = breaches.map((breach) => breach.rule).join(', ');
  return {
    severity: 'CRITICAL',
    subject: subjectOf(`[CRITICAL] ${modeTag(session)}: risk limit breached (${rules})`),
    message: body(session, nowMs, {
      what: `risk limit breached: ${breaches.map((breach) => breach.message).join('; ')}`,
      reason: `${breaches.length} limit(s) breached in the heartbeat of ${session.last_heartbeat ?? 'unknown time'}`,
      done,
      todo: [
        'Positions stay open while paused: check them on the exchange and decide whether to close them.',
        `Resume only after review: POST /strategies/${session.strategy_id}/resume. ${stopHint(session)}`,
      ],
    }),
    strategy_id: session.strategy_id,
    run_id: session.run_id,
    kind: 'risk.breach',
    dedup_id: `${session.run_id}:v${session.version}:risk.breach`,
  };
};

/** The platform-wide daily-loss floor (seed §8 high-loss alarm) tripped and the sweep paused the session. */
export const highLossAlert = (
  session: Session,
  floor: number,
  nowMs: number,
  done: readonly string[],
): Alert => {
  const day = new Date(nowMs).toISOString().slice(0, 10);
  return {
    severity: 'CRITICAL',
    subject: subjectOf(`[CRITICAL] ${modeTag(session)}: daily loss below -${floor}, auto-paused`),
    message: body(session, nowMs, {
      what: `today's PnL ${fmtNumber(session.metrics?.pnl_today ?? 0)} is below the platform floor of -${floor}`,
      reason: 'high-loss auto-pause (health sweep)',
      done,
      todo: [
        'Positions stay open while paused: check them on the exchange now.',
        `Resume only after review: POST /strategies/${session.strategy_id}/resume. ${stopHint(session)}`,
      ],
    }),
    strategy_id: session.strategy_id,
    run_id: session.run_id,
    kind: 'risk.high_loss',
    dedup_id: `${session.run_id}:${day}:risk.high_loss`,
  };
};

/** A service's task stopped unexpectedly; ECS starts a replacement. Warns now; staleness pages if it never returns. */
export const restartAlert = (
  session: Session,
  taskId: string,
  cause: string,
  nowMs: number,
  done: readonly string[],
): Alert => ({
  severity: 'WARNING',
  subject: subjectOf(`[WARNING] ${modeTag(session)}: container stopped, ECS restarting it`),
  message: body(session, nowMs, {
    what: `the container task ${taskId} stopped unexpectedly; ECS is starting a replacement`,
    reason: cause,
    done,
    todo: [
      'Check the container logs for the cause. If the replacement does not report within the stale threshold, you will be paged again.',
    ],
  }),
  strategy_id: session.strategy_id,
  run_id: session.run_id,
  kind: 'container.restarting',
  dedup_id: `${session.run_id}:task:${taskId}:container.restarting`,
});

/** How many failed fields a corrupt-item page lists; the rest is in the sweep's log. */
const CORRUPT_ISSUES_SHOWN = 12;

/**
 * An item in the status index that fails the session schema: the sweep cannot supervise it (no stale
 * check, no forced stop, no launch timeout), so a person must repair it. Paged once per item per UTC day.
 */
export const corruptItemAlert = (
  item: { key: string; strategy_id: string | null; issues: readonly string[] },
  status: string,
  nowMs: number,
): Alert => {
  const day = new Date(nowMs).toISOString().slice(0, 10);
  const shown = item.issues.slice(0, CORRUPT_ISSUES_SHOWN);
  const more = item.issues.length - shown.length;
  return {
    severity: 'CRITICAL',
    subject: subjectOf(
      `[CRITICAL] ${item.strategy_id ?? 'unknown strategy'}: stored session ${item.key} is corrupt, not supervised`,
    ),
    message: [
      `Strategy:   ${item.strategy_id ?? 'unknown'}`,
      `Run:        ${item.key}`,
      `What:       the session item (status ${status}) does not match the session schema; the health sweep skips it`,
      `Reason:     ${shown.join('; ')}${more > 0 ? `; and ${more} more` : ''}`,
      'Done:       the rest of the fleet was swept; this item is neither marked stale nor stopped nor timed out',
      `To do:      If this run may still trade, check its container and the exchange account now. Then repair the item in the sessions table (or stop the run's container and mark it failed). You are paged again each day until it parses.`,
    ].join('\n'),
    strategy_id: item.strategy_id ?? 'unknown',
    run_id: item.key,
    kind: 'store.corrupt_item',
    dedup_id: `${item.key}:${day}:store.corrupt_item`,
  };
};

/** Freqtrade crashes within the agent's window from which a restart page is CRITICAL, not WARNING. */
export const RESTARTS_CRITICAL_AT = 3;

const FAIL_CLOSED_DONE: Record<string, { done: string; todo: string }> = {
  process_stopped: {
    done: 'the agent stopped the Freqtrade process (SIGTERM) and holds it down: no new entries, no exits either',
    todo: 'Open positions are unmanaged while Freqtrade is down: check them on the exchange now.',
  },
  process_killed: {
    done: 'the agent stopped the Freqtrade process (SIGKILL after SIGTERM was not enough) and holds it down',
    todo: 'Open positions are unmanaged while Freqtrade is down: check them on the exchange now.',
  },
  process_stop_failed: {
    done: 'the agent could NOT stop the Freqtrade process: it may still be trading',
    todo: 'Stop the container now (POST /strategies/{id}/stop, or stop the ECS task), then check the exchange account.',
  },
  attach_mode_no_process: {
    done: 'the agent does not own the Freqtrade process (attach mode) and could not stop it',
    todo: 'Stop that Freqtrade bot by hand now, then check the exchange account.',
  },
};

/**
 * One page per incident the agent reports in its heartbeat (see agentReportsOf): Freqtrade that never
 * comes up, a Freqtrade crash, trades a replacement task could not find, a command Freqtrade did not
 * honour. Undefined when the session no longer carries the report.
 */
export const agentReportAlert = (
  report: AgentReportKind,
  session: Session,
  nowMs: number,
  done: readonly string[] = [],
): Alert | undefined => {
  const health = session.health;
  if (health === null) return undefined;
  const tag = modeTag(session);
  const alertOf = (
    severity: AlertSeverity,
    kind: AlertKind,
    headline: string,
    lines: { what: string; reason: string; done: readonly string[]; todo: readonly string[] },
    incident: string,
  ): Alert => ({
    severity,
    subject: subjectOf(`[${severity}] ${tag}: ${headline}`),
    message: body(session, nowMs, lines),
    strategy_id: session.strategy_id,
    run_id: session.run_id,
    kind,
    dedup_id: `${session.run_id}:${incident}:${kind}`.slice(0, 256),
  });
  const open =
    session.open_trades.length === 0
      ? 'no open trades in the last snapshot'
      : `open trades: ${namedTrades(
          session,
          session.open_trades.map((trade) => trade.trade_id),
        )}`;
  switch (report) {
    case 'start_failure': {
      const failure = health.start_failure;
      if (!failure) return undefined;
      return alertOf(
        'CRITICAL',
        'freqtrade.start_failure',
        'Freqtrade never came up, restarts stopped',
        {
          what: `Freqtrade did not reach a live trading loop: ${failure.restarts} restarts in ${Math.round(failure.window_s)} s since ${failure.since} (last exit ${failure.last_exit})`,
          reason: 'start-up failure breach',
          done: [...done, 'the agent stopped restarting Freqtrade; entries are off'],
          todo: [
            `Nothing trades for this session now; ${open}.`,
            'Read the container logs for why Freqtrade exits (config, exchange, database), fix it and start a new session.',
          ],
        },
        `start:${failure.since}`,
      );
    }
    case 'missing_trades': {
      const missing = health.missing_trades;
      if (!missing) return undefined;
      const ids = missing.trade_ids.map((id) => `#${id}`).join(', ');
      return alertOf(
        'CRITICAL',
        'takeover.missing_trades',
        `trades missing at takeover (${missing.trade_ids.length})`,
        {
          what: `the replacement task's Freqtrade does not show ${ids}, which the previous task reported open (expected ${missing.expected}, found ${missing.found})`,
          reason: 'the trade store did not survive the task, or the trades were closed outside Freqtrade',
          done: [...done, 'entries paused by the agent'],
          todo: [
            `Check account ${missing.account} now for these positions: ${namedTrades(session, missing.trade_ids)}. Nobody manages their exits.`,
            `Close or hedge them on the exchange, then resume only when Freqtrade's trades match the account: POST /strategies/${session.strategy_id}/resume.`,
          ],
        },
        `missing:${session.agent_id ?? 'none'}`,
      );
    }
    case 'fail_closed': {
      const failed = health.fail_closed;
      if (!failed) return undefined;
      const what = FAIL_CLOSED_DONE[failed.action] ?? {
        done: `the agent did: ${failed.action}`,
        todo: 'Check the exchange account now.',
      };
      return alertOf(
        'CRITICAL',
        'agent.fail_closed',
        `Freqtrade did not honour /${failed.command}: fail-closed`,
        {
          what: `Freqtrade did not honour /${failed.command} (${failed.failure}); ${what.done}`,
          reason: 'fail-closed: a restrictive command must take effect',
          done: [...done, what.done],
          todo: [what.todo.replace('{id}', session.strategy_id), `Last snapshot: ${open}.`],
        },
        `failclosed:${session.agent_id ?? 'none'}:${failed.command}`,
      );
    }
    case 'freqtrade_restart': {
      const total = health.freqtrade_restarts ?? 0;
      const inWindow = health.restarts_in_window ?? total;
      const repeated = inWindow >= RESTARTS_CRITICAL_AT;
      return alertOf(
        repeated ? 'CRITICAL' : 'WARNING',
        'freqtrade.restarted',
        repeated ? `Freqtrade crashing repeatedly (${inWindow} restarts)` : 'Freqtrade crashed, restarted',
        {
          what: `Freqtrade exited${health.last_exit ? ` (${health.last_exit})` : ''} and the agent restarted it: restart ${total} of this task, ${inWindow} in the current window`,
          reason: 'Freqtrade process exit',
          done: [...done, 'the agent restarted Freqtrade'],
          todo: repeated
            ? [
                'It keeps crashing: read the container logs now; the agent stops restarting it if it never comes up.',
                `Check the open positions on the exchange (${open}).`,
              ]
            : [`Read the container logs for the cause; ${open}.`],
        },
        `restart:${total}`,
      );
    }
  }
};

/**
 * How a handoff ended when its successor did not come up: rolled back to the previous version (CRITICAL:
 * the deploy did not happen, the old version trades again) or failed with no rollback. One page per
 * handoff; the failed successor's own status page stays below CRITICAL (failedCopy) so this is the one.
 */
export const handoffAlert = (session: Session, nowMs: number): Alert | undefined => {
  const handoff = session.handoff ?? null;
  if (handoff === null || (handoff.phase !== 'rolled_back' && handoff.phase !== 'failed')) return undefined;
  const rolledBack = handoff.phase === 'rolled_back';
  const kind: AlertKind = rolledBack ? 'handoff.rolled_back' : 'handoff.failed';
  const stuck = handoff.stuck_run_id ?? null;
  if (!rolledBack && stuck !== null)
    return {
      severity: 'CRITICAL',
      subject: subjectOf(
        `[CRITICAL] ${modeTag(session)}: ${handoff.kind.toUpperCase()} FAILED, run ${stuck} did not stop`,
      ),
      message: body(session, nowMs, {
        what: `${handoff.kind} of ${session.strategy_id} from ${stuck} to ${session.run_id} (${handoff.mode}): run ${stuck} is still running after its forced stop: it may still place orders`,
        done: [
          `its container was asked to stop (forced); the new version ${session.run_id} was not started next to it`,
          `the strategy lock and account leases stay with ${stuck}`,
        ],
        todo: [
          `Stop run ${stuck}'s container by hand (its ECS service or task) and make sure its Freqtrade is gone, then check the exchange account's open orders and positions.`,
          'Deploy again once it is gone.',
        ],
      }),
      strategy_id: session.strategy_id,
      run_id: session.run_id,
      kind,
      dedup_id: `${session.run_id}:${kind}`,
    };
  const headline = rolledBack
    ? `${handoff.kind.toUpperCase()} FAILED, rolled back to run ${session.superseded_by ?? '(starting)'}`
    : `${handoff.kind.toUpperCase()} FAILED, no rollback`;
  return {
    severity: 'CRITICAL',
    subject: subjectOf(`[CRITICAL] ${modeTag(session)}: ${headline}`),
    message: body(session, nowMs, {
      what: `${handoff.kind} of ${session.strategy_id} from ${handoff.from_run_id} to ${session.run_id} (${handoff.mode}): the new version did not come up`,
      done: rolledBack
        ? [
            `the previous version is started again as run ${session.superseded_by ?? '(starting)'}, on the same trade store (its open trades carried)`,
          ]
        : ['nothing was started in its place'],
      todo: rolledBack
        ? [
            `Read the reason and run ${session.run_id}'s container logs; fix the version before deploying it again. Watch run ${session.superseded_by ?? ''} come up.`,
          ]
        : [
            'The strategy has no running session now: check the exchange account for the positions the previous run left open, then start it again.',
          ],
    }),
    strategy_id: session.strategy_id,
    run_id: session.run_id,
    kind,
    dedup_id: `${session.run_id}:${kind}`,
  };
};
