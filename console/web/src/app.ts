import { Component, html } from 'htm/preact';
import { useCallback, useContext, useEffect, useMemo, useRef, useState } from 'preact/hooks';
import type * as z from 'zod';
import { CommandAcceptedSchema } from '../../../functions/api/control-strategy/schema';
import {
  AlertsPageSchema,
  AuditPageSchema,
  FleetViewSchema,
} from '../../../functions/api/read-strategies/schema';
import { StartAcceptedSchema } from '../../../functions/api/start-strategy/schema';
import { FleetStateSchema } from '../../../functions/api/trading-scope/schema';
import type { AuditAction } from '../../../shared/domain/audit';
import type { TradingMode } from '../../../shared/domain/session';
import { SCOPES } from '../../../shared/http/constants';
// The read views have no schema on the API's side (ReadViewSchema is open): the CLI's reply schemas are
// the console's, one definition for both clients.
import { HistoryPageSchema, StrategyReplySchema, TradesReplySchema } from '../../cli/replies';
import { type Api, ApiError, createApi } from './api';
import {
  canRead,
  cognitoLogin,
  cognitoLogoutUrl,
  completeCognitoLogin,
  forgetToken,
  keepToken,
  type LoginConfig,
  localLogin,
  type Permission,
  permissionFor,
  type Session,
  sessionOf,
  storedSession,
} from './auth';
import type { HistoryPoint } from './chart';
import {
  age,
  drawdownUse,
  type Fleet,
  type FleetRow,
  type FleetView,
  heartbeatAgeNow,
  heartbeatHealth,
  money,
} from './fleet';
import { FleetHold, type FleetState, fleetHoldOf, ScopeState } from './scope';

/** How often the fleet is read; with ETag an unchanged fleet costs a 304 and no rendering. */
export const FLEET_POLL_MS = 2_000;
const DETAIL_POLL_MS = 3_000;

const nowS = () => Date.now() / 1000;
const messageOf = (error: unknown) => (error instanceof Error ? error.message : String(error));

type Command = Extract<AuditAction, 'pause' | 'resume' | 'stop'>;

const COMMAND_LABEL: Readonly<Record<Command, string>> = { pause: 'Pause', resume: 'Resume', stop: 'Stop' };

/** Whether a command makes sense for the row's state at all, before asking whether the token may run it. */
const stateAllows = (row: FleetRow, command: Command): Permission => {
  if (!row.active) return { allowed: false, reason: `${row.strategy_id} is ${row.status}` };
  if (command === 'pause' && row.desired_state !== 'running')
    return { allowed: false, reason: `${row.strategy_id} is already asked to be ${row.desired_state}` };
  if (command === 'resume' && row.desired_state !== 'paused')
    return { allowed: false, reason: `${row.strategy_id} is not paused` };
  if (command === 'stop' && row.desired_state === 'stopped')
    return { allowed: false, reason: `${row.strategy_id} is already stopping` };
  return { allowed: true };
};

const commandPermission = (
  session: Session,
  row: FleetRow,
  command: Command,
  fleetHold: string | undefined,
): Permission => {
  const byToken = permissionFor(session.principal, command, row.trading_mode);
  if (!byToken.allowed) return byToken;
  return command === 'resume' && fleetHold !== undefined
    ? { allowed: false, reason: fleetHold }
    : stateAllows(row, command);
};

interface PendingCommand {
  row: FleetRow;
  command: Command;
}

const CommandButtons = ({
  session,
  row,
  onCommand,
}: {
  session: Session;
  row: FleetRow;
  onCommand: (pending: PendingCommand) => void;
}) => {
  const fleetHold = useContext(FleetHold);
  return html`${(['pause', 'resume', 'stop'] as const).map((command) => {
    const permission = commandPermission(session, row, command, fleetHold);
    const reason = permission.allowed ? '' : permission.reason;
    return html`<button
      type="button"
      class=${`command command-${command}`}
      data-command=${command}
      disabled=${!permission.allowed}
      title=${reason || `${COMMAND_LABEL[command]} ${row.strategy_id}`}
      data-disabled-reason=${reason}
      onClick=${(event: Event) => {
        event.stopPropagation();
        onCommand({ row, command });
      }}
    >
      ${COMMAND_LABEL[command]}
    </button>`;
  })}`;
};

const DrawdownBar = ({ row }: { row: FleetRow }) => {
  const use = drawdownUse(row);
  if (use === null) return html`<span class="muted">—</span>`;
  const level = use >= 1 ? 'breach' : use >= 0.75 ? 'near' : 'ok';
  return html`<span
    class=${`drawdown drawdown-${level}`}
    title=${`drawdown ${row.drawdown_pct?.toFixed(1)} % of a ${row.max_drawdown_pct} % limit`}
  >
    <span class="drawdown-fill" style=${`width:${Math.min(100, use * 100).toFixed(0)}%`}></span>
    <span class="drawdown-text">${row.drawdown_pct?.toFixed(1)} / ${row.max_drawdown_pct} %</span>
  </span>`;
};

const FleetTotalsView = ({ view }: { view: FleetView }) => {
  const { totals } = view;
  return html`<section class="totals" aria-label="fleet totals">
    <div class="total"><span class="label">strategies</span><span class="value" data-total="strategies">${totals.strategies}</span></div>
    ${Object.entries(totals.by_status)
      .filter(([, count]) => count > 0)
      .map(
        ([status, count]) =>
          html`<div class=${`total status-${status}`}><span class="label">${status}</span><span class="value" data-total=${status}>${count}</span></div>`,
      )}
    ${totals.money.map(
      (total) =>
        html`<div class="total"><span class="label">${total.trading_mode}${total.stake_currency ? ` · ${total.stake_currency}` : ''} · ${total.strategies} active</span><span class="value">equity ${total.equity.toFixed(2)}</span><span class=${`value small ${total.pnl_today < 0 ? 'loss' : 'gain'}`}>today ${money(total.pnl_today)} · total ${money(total.pnl_total)}</span></div>`,
    )}
    <div class=${`total${totals.open_alerts.CRITICAL > 0 ? ' alerting' : ''}`}><span class="label">open warnings / criticals</span><span class="value" data-total="open-alerts">${totals.open_alerts.WARNING} / ${totals.open_alerts.CRITICAL}</span></div>
    ${view.truncated ? html`<div class="total failure">more strategies than one read returns: not all are shown</div>` : null}
  </section>`;
};

/** One row; a row whose data and age have not changed is not rendered again (200 rows, a tick a second). */
class FleetRowView extends Component<{
  row: FleetRow;
  ageS: number | null;
  session: Session;
  selected: boolean;
  onSelect: (strategyId: string) => void;
  onCommand: (pending: PendingCommand) => void;
}> {
  override shouldComponentUpdate(next: this['props']) {
    const { props } = this;
    return (
      next.row !== props.row ||
      next.session !== props.session ||
      next.selected !== props.selected ||
      age(next.ageS) !== age(props.ageS) ||
      heartbeatHealth(next.row, next.ageS) !== heartbeatHealth(props.row, props.ageS)
    );
  }
  override render() {
    const { row, ageS, session, selected, onSelect, onCommand } = this.props;
    const health = heartbeatHealth(row, ageS);
    return html`<tr
      data-strategy=${row.strategy_id}
      data-status=${row.status}
      data-health=${health}
      class=${`row health-${health}${selected ? ' selected' : ''}`}
      onClick=${() => onSelect(row.strategy_id)}
    >
      <td><a href=${`#/strategies/${encodeURIComponent(row.strategy_id)}`}>${row.strategy_id}</a>
        <div class="muted small">${row.strategy_name}${row.strategy_version ? ` v${row.strategy_version}` : ''}</div></td>
      <td class=${`mode mode-${row.trading_mode}`}>${row.trading_mode}</td>
      <td><span class=${`status status-${row.status}`} data-field="status" title=${row.status_reason ?? ''}>${row.status}</span>${
        row.desired_state !== 'running' && row.active
          ? html`<div class="muted small">desired ${row.desired_state}</div>`
          : null
      }${row.risk_state === 'breached' ? html`<div class="risk-breached small">breached: ${row.risk_breaches.join(', ')}</div>` : null}${
        row.alert_open && row.last_alert !== null
          ? html`<div class=${`small alert-open severity-${row.last_alert.severity}`} title=${row.last_alert.subject}>${row.last_alert.severity}: ${row.last_alert.kind}</div>`
          : null
      }</td>
      <td><span class=${`heartbeat heartbeat-${health}`} data-field="heartbeat" title=${`stale after ${row.stale_after_s} s`}>${age(ageS)}</span></td>
      <td><${DrawdownBar} row=${row} /></td>
      <td class=${`num ${(row.pnl_today ?? 0) < 0 ? 'loss' : 'gain'}`}>${money(row.pnl_today)}</td>
      <td class=${`num ${(row.pnl_total ?? 0) < 0 ? 'loss' : 'gain'}`}>${money(row.pnl_total, row.stake_currency)}</td>
      <td class="num">${row.open_trade_count ?? '—'}</td>
      <td class="controls"><${CommandButtons} session=${session} row=${row} onCommand=${onCommand} /></td>
    </tr>`;
  }
}

const FleetTable = ({
  fleet,
  nowMs,
  session,
  selected,
  onSelect,
  onCommand,
}: {
  fleet: Fleet;
  nowMs: number;
  session: Session;
  selected: string | undefined;
  onSelect: (strategyId: string) => void;
  onCommand: (pending: PendingCommand) => void;
}) => html`<table class="fleet" aria-label="strategies">
  <thead>
    <tr>
      <th>strategy</th><th>mode</th><th>status</th><th>heartbeat</th><th>drawdown</th>
      <th class="num">PnL today</th><th class="num">PnL total</th><th class="num">open</th><th>controls</th>
    </tr>
  </thead>
  <tbody>
    ${fleet.view.strategies.map(
      (row) =>
        html`<${FleetRowView} key=${row.strategy_id} row=${row} ageS=${heartbeatAgeNow(row, fleet, nowMs)}
          session=${session} selected=${row.strategy_id === selected} onSelect=${onSelect} onCommand=${onCommand} />`,
    )}
  </tbody>
</table>`;

const ConfirmDialog = ({
  api,
  pending,
  onDone,
}: {
  api: Api;
  pending: PendingCommand;
  onDone: (message: string | undefined) => void;
}) => {
  const [reason, setReason] = useState('');
  // Real money: the operator types the strategy's id, as `tradai` asks on a terminal, so a slip cannot confirm.
  const [typedId, setTypedId] = useState('');
  const [flatten, setFlatten] = useState(false);
  const [busy, setBusy] = useState(false);
  const [failure, setFailure] = useState<string>();
  // One key per confirmed command: a retry after a lost answer is applied once, never twice.
  const idempotencyKey = useMemo(() => crypto.randomUUID(), []);
  const { row, command } = pending;
  const submit = async (event: Event) => {
    event.preventDefault();
    setBusy(true);
    setFailure(undefined);
    try {
      await api.post(
        `/strategies/${encodeURIComponent(row.strategy_id)}/${command}`,
        { reason: reason.trim(), ...(command === 'stop' ? { flatten } : {}) },
        idempotencyKey,
        CommandAcceptedSchema,
      );
      onDone(
        `${COMMAND_LABEL[command]} of ${row.strategy_id} recorded: the agent applies it within a control poll`,
      );
    } catch (error) {
      setFailure(messageOf(error));
      setBusy(false);
    }
  };
  return html`<div class="backdrop">
    <form class="dialog" role="dialog" aria-modal="true" aria-labelledby="confirm-title" onSubmit=${submit}>
      <h2 id="confirm-title">${COMMAND_LABEL[command]} ${row.strategy_id}?</h2>
      <p>
        ${row.strategy_name} · <strong class=${`mode mode-${row.trading_mode}`}>${row.trading_mode}</strong> · run ${row.run_id}
        ${row.trading_mode === 'live' ? html`<br /><strong class="loss">This session trades real money.</strong>` : null}
      </p>
      <label>Reason (required, kept in the audit trail)
        <textarea name="reason" required maxlength="1024" value=${reason}
          onInput=${(event: Event) => setReason((event.target as HTMLTextAreaElement).value)}></textarea>
      </label>
      ${
        command === 'stop'
          ? html`<label class="inline"><input type="checkbox" name="flatten" checked=${flatten}
              onChange=${(event: Event) => setFlatten((event.target as HTMLInputElement).checked)} />
              Flatten: close open positions at market before stopping (${row.open_trade_count ?? 'unknown'} open)</label>`
          : null
      }
      ${
        row.trading_mode === 'live'
          ? html`<label>Type ${html`<code>${row.strategy_id}</code>`} to confirm
              <input name="confirm-id" autocomplete="off" value=${typedId}
                onInput=${(event: Event) => setTypedId((event.target as HTMLInputElement).value)} /></label>`
          : null
      }
      ${failure === undefined ? null : html`<p class="failure" role="alert">${failure}</p>`}
      <div class="buttons">
        <button type="button" onClick=${() => onDone(undefined)} disabled=${busy}>Cancel</button>
        <button type="submit" class=${`command-${command}`} name="confirm"
          disabled=${busy || reason.trim() === '' || (row.trading_mode === 'live' && typedId !== row.strategy_id)}>
          ${COMMAND_LABEL[command]} ${row.strategy_id}
        </button>
      </div>
    </form>
  </div>`;
};

const START_MODES: readonly TradingMode[] = ['dry-run', 'live'];

const StartForm = ({
  api,
  session,
  onDone,
}: {
  api: Api;
  session: Session;
  onDone: (message: string) => void;
}) => {
  const [open, setOpen] = useState(false);
  const [form, setForm] = useState({
    strategyId: 'demo-momentum',
    strategy: 'MomentumStrategy',
    mode: 'dry-run',
    reason: '',
  });
  const [busy, setBusy] = useState(false);
  const [failure, setFailure] = useState<string>();
  const idempotencyKey = useRef(crypto.randomUUID());
  const permission = permissionFor(session.principal, 'start', form.mode as TradingMode);
  const field = (name: keyof typeof form) => (event: Event) =>
    setForm({ ...form, [name]: (event.target as HTMLInputElement).value });
  if (!open) {
    const anyStart = permissionFor(session.principal, 'start', 'dry-run');
    return html`<button type="button" class="start-open" disabled=${!anyStart.allowed}
      title=${anyStart.allowed ? 'Start a strategy' : anyStart.reason}
      data-disabled-reason=${anyStart.allowed ? '' : anyStart.reason}
      onClick=${() => setOpen(true)}>Start a strategy…</button>${
        anyStart.allowed ? null : html`<span class="muted small disabled-reason">${anyStart.reason}</span>`
      }`;
  }
  const submit = async (event: Event) => {
    event.preventDefault();
    setBusy(true);
    setFailure(undefined);
    try {
      const accepted = await api.post(
        `/strategies/${encodeURIComponent(form.strategyId.trim())}/start`,
        { strategy: form.strategy.trim(), mode: form.mode, reason: form.reason.trim() },
        idempotencyKey.current,
        StartAcceptedSchema,
      );
      idempotencyKey.current = crypto.randomUUID();
      setOpen(false);
      onDone(`Start of ${form.strategyId} accepted (run ${accepted.run_id}): pending → launching → running`);
    } catch (error) {
      setFailure(messageOf(error));
    } finally {
      setBusy(false);
    }
  };
  return html`<form class="start" aria-label="start a strategy" onSubmit=${submit}>
    <label>strategy id <input name="strategyId" required value=${form.strategyId} onInput=${field('strategyId')} /></label>
    <label>registry name <input name="strategy" required value=${form.strategy} onInput=${field('strategy')} /></label>
    <label>mode <select name="mode" value=${form.mode} onChange=${field('mode')}>
      ${START_MODES.map((mode) => html`<option value=${mode}>${mode}</option>`)}
    </select></label>
    <label>reason <input name="reason" required maxlength="1024" value=${form.reason} onInput=${field('reason')} /></label>
    <button type="submit" name="start" disabled=${busy || !permission.allowed || form.reason.trim() === ''}
      title=${permission.allowed ? '' : permission.reason}>Start</button>
    <button type="button" onClick=${() => setOpen(false)}>Cancel</button>
    ${permission.allowed ? null : html`<p class="muted small disabled-reason">${permission.reason}</p>`}
    ${failure === undefined ? null : html`<p class="failure" role="alert">${failure}</p>`}
  </form>`;
};

type AuditItem = z.output<typeof AuditPageSchema>['items'][number];
interface Detail {
  session: z.output<typeof StrategyReplySchema>['session'];
  history: HistoryPoint[];
  trades: z.output<typeof TradesReplySchema>['open_trades'];
  alerts: z.output<typeof AlertsPageSchema>['items'];
  audit: AuditItem[];
}

/** uPlot is most of the page's weight: loaded when a detail view first needs it, not for the fleet. */
const useEquityChart = () => {
  const [chart, setChart] = useState<typeof import('./chart').EquityChart>();
  useEffect(() => {
    void import('./chart').then((module) => setChart(() => module.EquityChart));
  }, []);
  return chart;
};

const stateText = (state: AuditItem['state_before']) =>
  state === null ? '—' : `${state.status} (desired ${state.desired_state})`;

const DetailView = ({
  api,
  session,
  row,
  onCommand,
  onClose,
}: {
  api: Api;
  session: Session;
  row: FleetRow;
  onCommand: (pending: PendingCommand) => void;
  onClose: () => void;
}) => {
  const [detail, setDetail] = useState<Detail>();
  const [failure, setFailure] = useState<string>();
  const EquityChart = useEquityChart();
  const id = encodeURIComponent(row.strategy_id);
  useEffect(() => {
    let stopped = false;
    const load = async () => {
      try {
        const [strategy, history, trades, alerts, audit] = await Promise.all([
          api.get(`/strategies/${id}`, StrategyReplySchema),
          api.get(`/strategies/${id}/pnl/history?limit=1000`, HistoryPageSchema),
          api.get(`/strategies/${id}/trades`, TradesReplySchema),
          api.get(`/strategies/${id}/alerts?limit=50`, AlertsPageSchema),
          api.get(`/strategies/${id}/audit?limit=50`, AuditPageSchema),
        ]);
        if (stopped) return;
        setDetail({
          session: strategy.session,
          history: history.items,
          trades: trades.open_trades,
          alerts: alerts.items,
          audit: audit.items,
        });
        setFailure(undefined);
      } catch (error) {
        if (!stopped) setFailure(messageOf(error));
      }
    };
    void load();
    const timer = setInterval(load, DETAIL_POLL_MS);
    return () => {
      stopped = true;
      clearInterval(timer);
    };
  }, [id, row.run_id]);
  const fleetHold = useContext(FleetHold);
  const permissions = (['pause', 'resume', 'stop'] as const)
    .map((command) => ({ command, permission: commandPermission(session, row, command, fleetHold) }))
    .filter((entry) => !entry.permission.allowed);
  return html`<section class="detail" aria-label=${`strategy ${row.strategy_id}`} data-strategy=${row.strategy_id}>
    <header>
      <h2>${row.strategy_id} <span class=${`status status-${row.status}`} data-field="status">${row.status}</span></h2>
      <button type="button" class="close" onClick=${onClose} aria-label="close">×</button>
    </header>
    <p class="muted">${row.strategy_name} · ${row.trading_mode} · run ${row.run_id}${
      detail?.session.status_reason ? ` · ${detail.session.status_reason}` : ''
    }</p>
    <div class="controls"><${CommandButtons} session=${session} row=${row} onCommand=${onCommand} /></div>
    <ul class="disabled-reasons">
      ${permissions.map(
        ({ command, permission }) =>
          html`<li data-command=${command}>${COMMAND_LABEL[command]}: ${permission.allowed ? '' : permission.reason}</li>`,
      )}
    </ul>
    ${failure === undefined ? null : html`<p class="failure" role="alert">${failure}</p>`}
    ${
      detail === undefined
        ? html`<p class="muted">loading…</p>`
        : html`
      <h3>Equity and PnL</h3>
      ${
        detail.history.length === 0
          ? html`<p class="muted">no heartbeat history yet</p>`
          : EquityChart === undefined
            ? html`<p class="muted">loading the chart…</p>`
            : html`<${EquityChart} points=${detail.history} />`
      }
      <h3>Open trades (${detail.trades.length})</h3>
      ${
        detail.trades.length === 0
          ? html`<p class="muted">none</p>`
          : html`<table class="trades"><thead><tr><th>id</th><th>pair</th><th>side</th><th class="num">amount</th><th class="num">open</th><th class="num">now</th><th class="num">profit</th><th>since</th></tr></thead><tbody>
          ${detail.trades.map(
            (trade) =>
              html`<tr key=${trade.trade_id}><td>${trade.trade_id}</td><td>${trade.pair}</td><td>${trade.is_short ? 'short' : 'long'}</td><td class="num">${trade.amount}</td><td class="num">${trade.open_rate}</td><td class="num">${trade.current_rate ?? '—'}</td><td class=${`num ${trade.profit_abs < 0 ? 'loss' : 'gain'}`}>${money(trade.profit_abs)} (${(trade.profit_ratio * 100).toFixed(2)} %)</td><td>${new Date(trade.open_date).toLocaleString()}</td></tr>`,
          )}</tbody></table>`
      }
      <h3>Alerts</h3>
      <ol class="timeline alerts" aria-label="alerts">
        ${detail.alerts.length === 0 ? html`<li class="muted">none</li>` : null}
        ${detail.alerts.map(
          (alert) =>
            html`<li key=${alert.dedup_id} class=${`severity-${alert.severity}`} data-kind=${alert.kind}>
              <time>${new Date(alert.at).toLocaleString()}</time> <strong>${alert.severity}</strong> ${alert.subject}
              <div class="small muted">${alert.body}</div></li>`,
        )}
      </ol>
      <h3>Audit trail</h3>
      <ol class="timeline audit" aria-label="audit trail">
        ${detail.audit.length === 0 ? html`<li class="muted">none</li>` : null}
        ${detail.audit.map(
          (entry) =>
            html`<li class=${`outcome-${entry.outcome}`} data-action=${entry.action}>
              <time>${new Date(entry.at).toLocaleString()}</time> <strong>${entry.actor}</strong> ${entry.action}: ${entry.outcome}
              ${entry.reason ? html` — “${entry.reason}”` : null}
              <div class="small muted">${stateText(entry.state_before)} → ${stateText(entry.state_after)}${entry.detail ? ` · ${entry.detail}` : ''}</div></li>`,
        )}
      </ol>`
    }
  </section>`;
};

const LOCAL_SCOPES = [SCOPES.read, SCOPES.write, SCOPES.live] as const;

const LocalLogin = ({ onToken }: { onToken: (token: string) => void }) => {
  const [subject, setSubject] = useState('local-operator');
  const [scopes, setScopes] = useState<string[]>([SCOPES.read, SCOPES.write]);
  const [live, setLive] = useState(false);
  const [failure, setFailure] = useState<string>();
  const toggle = (scope: string) =>
    setScopes(scopes.includes(scope) ? scopes.filter((item) => item !== scope) : [...scopes, scope]);
  const submit = async (event: Event) => {
    event.preventDefault();
    try {
      onToken(await localLogin({ subject, scopes, groups: live ? ['tradai-live'] : [] }));
    } catch (error) {
      setFailure(messageOf(error));
    }
  };
  return html`<form class="login" aria-label="local login" onSubmit=${submit}>
    <h2>Local login</h2>
    <p class="muted">The local cloud's issuer signs a token for what you choose here. Local only: never deployed.</p>
    <label>subject <input name="subject" required value=${subject} onInput=${(event: Event) => setSubject((event.target as HTMLInputElement).value)} /></label>
    <fieldset><legend>scopes</legend>
      ${LOCAL_SCOPES.map(
        (scope) =>
          html`<label class="inline"><input type="checkbox" name=${`scope-${scope}`} checked=${scopes.includes(scope)} onChange=${() => toggle(scope)} /> ${scope}</label>`,
      )}
      <label class="inline"><input type="checkbox" name="group-live" checked=${live} onChange=${() => setLive(!live)} /> member of tradai-live (live starts and resumes)</label>
    </fieldset>
    ${failure === undefined ? null : html`<p class="failure" role="alert">${failure}</p>`}
    <button type="submit" name="login">Log in</button>
  </form>`;
};

const Login = ({
  config,
  onToken,
  notice,
}: {
  config: LoginConfig;
  onToken: (token: string) => void;
  notice?: string;
}) =>
  html`<main class="login-page">
    <h1>TradAI console</h1>
    ${notice === undefined ? null : html`<p class="failure" role="alert">${notice}</p>`}
    ${
      config.kind === 'local'
        ? html`<${LocalLogin} onToken=${onToken} />`
        : html`<button type="button" name="login" onClick=${() => void cognitoLogin(config)}>Log in with the operator pool</button>`
    }
  </main>`;

const selectedOfHash = (): string | undefined => {
  const match = location.hash.match(/^#\/strategies\/(.+)$/);
  return match?.[1] === undefined ? undefined : decodeURIComponent(match[1]);
};

export const App = ({ config, pollMs }: { config: LoginConfig; pollMs: number }) => {
  const [session, setSession] = useState<Session | undefined>(() => storedSession(nowS()));
  const [notice, setNotice] = useState<string>();
  const [fleet, setFleet] = useState<Fleet>();
  const [scopes, setScopes] = useState<FleetState>();
  /** Why the last poll's reads failed, and whether the fleet's was among them (the rows shown are older). */
  const [pollFailure, setPollFailure] = useState<{ message: string; fleetOld: boolean }>();
  const [selected, setSelected] = useState(selectedOfHash);
  const [pending, setPending] = useState<PendingCommand>();
  const [flash, setFlash] = useState<string>();
  // Heartbeats age between reads (an unchanged fleet is a bodiless 304): the rows are re-aged every second.
  const [nowMs, setNowMs] = useState(Date.now);
  useEffect(() => {
    const timer = setInterval(() => setNowMs(Date.now()), 1_000);
    return () => clearInterval(timer);
  }, []);
  const sessionRef = useRef(session);
  sessionRef.current = session;

  const logout = useCallback((message?: string) => {
    forgetToken();
    setSession(undefined);
    setFleet(undefined);
    setScopes(undefined);
    setNotice(message);
  }, []);
  const api = useMemo(
    () =>
      createApi(
        () => sessionRef.current?.token,
        (message) => logout(message),
      ),
    [logout],
  );
  const login = (token: string) => {
    const next = sessionOf(token, nowS());
    if ('refused' in next) return setNotice(next.refused);
    keepToken(token);
    setNotice(undefined);
    setSession(next);
  };

  useEffect(() => {
    if (config.kind !== 'cognito') return;
    completeCognitoLogin(config).then(
      (token) => token !== undefined && login(token),
      (error: unknown) => setNotice(messageOf(error)),
    );
  }, []);

  useEffect(() => {
    const onHash = () => setSelected(selectedOfHash());
    addEventListener('hashchange', onHash);
    return () => removeEventListener('hashchange', onHash);
  }, []);

  useEffect(() => {
    if (session === undefined) return;
    if (!canRead(session.principal).allowed) return;
    let stopped = false;
    const etag: { value: string | undefined } = { value: undefined };
    const poll = async () => {
      if (session.expiresAt <= nowS()) return logout('The token has expired: log in again');
      // GET /fleet/state is one Query and sends no ETag: read in full each time, beside the fleet. Each read
      // stands alone: a refused one is named in the banner and never keeps the other from being shown.
      const [fleetRead, stateRead] = await Promise.allSettled([
        api.getIfChanged('/fleet', FleetViewSchema, etag.value),
        api.get('/fleet/state', FleetStateSchema),
      ]);
      if (stopped) return;
      if (stateRead.status === 'fulfilled') {
        const state = stateRead.value;
        setScopes((held) => (JSON.stringify(held) === JSON.stringify(state) ? held : state));
      }
      if (fleetRead.status === 'fulfilled' && fleetRead.value !== undefined) {
        etag.value = fleetRead.value.etag;
        setFleet({ view: fleetRead.value.body, receivedAtMs: Date.now() });
      }
      const failures = [fleetRead, stateRead]
        .flatMap((read) => (read.status === 'rejected' ? [read.reason] : []))
        // A 401 has logged the operator out already, with its reason.
        .filter((error) => !(error instanceof ApiError && error.status === 401))
        .map(messageOf);
      // Both reads fail alike when the control plane is unreachable: said once.
      setPollFailure(
        failures.length === 0
          ? undefined
          : { message: [...new Set(failures)].join('; '), fleetOld: fleetRead.status === 'rejected' },
      );
    };
    void poll();
    const timer = setInterval(poll, pollMs);
    return () => {
      stopped = true;
      clearInterval(timer);
    };
  }, [session]);

  if (session === undefined) return html`<${Login} config=${config} onToken=${login} notice=${notice} />`;
  const readable = canRead(session.principal);
  const selectedRow = fleet?.view.strategies.find((row) => row.strategy_id === selected);
  const select = (strategyId: string) => {
    location.hash = `#/strategies/${encodeURIComponent(strategyId)}`;
  };
  return html`<${FleetHold.Provider} value=${fleetHoldOf(scopes)}><div class="app">
    <header class="top">
      <h1>TradAI console</h1>
      <span class="who" data-subject=${session.principal.subject}>
        ${session.principal.subject} · ${[...session.principal.scopes].join(', ') || 'no scopes'}${
          session.principal.groups.size > 0 ? ` · ${[...session.principal.groups].join(', ')}` : ''
        }
      </span>
      <button type="button" name="logout" onClick=${() => {
        logout();
        if (config.kind === 'cognito') location.assign(cognitoLogoutUrl(config));
      }}>Log out</button>
    </header>
    <${ScopeState} api=${api} session=${session} state=${scopes} rows=${fleet?.view.strategies ?? []} onDone=${setFlash} />
    ${readable.allowed ? null : html`<p class="failure" role="alert">${readable.reason}</p>`}
    ${
      pollFailure === undefined
        ? null
        : html`<p class="failure" role="alert" data-poll-failure>${pollFailure.message}${
            // The rows keep ageing on the page's clock meanwhile: a fleet no longer read turns red, never looks fresh.
            fleet === undefined || !pollFailure.fleetOld
              ? ''
              : ` (the fleet below is as of ${new Date(fleet.receivedAtMs).toLocaleTimeString()}; still polling)`
          }</p>`
    }
    ${flash === undefined ? null : html`<p class="flash" role="status">${flash}</p>`}
    <${StartForm} api=${api} session=${session} onDone=${setFlash} />
    ${
      fleet === undefined
        ? html`<p class="muted">loading the fleet…</p>`
        : html`<${FleetTotalsView} view=${fleet.view} />
          <div class="panes">
            <${FleetTable} fleet=${fleet} nowMs=${nowMs} session=${session} selected=${selected} onSelect=${select} onCommand=${setPending} />
            ${
              selectedRow === undefined
                ? null
                : html`<${DetailView} key=${selectedRow.strategy_id} api=${api} session=${session} row=${selectedRow}
                    onCommand=${setPending} onClose=${() => {
                      location.hash = '';
                    }} />`
            }
          </div>`
    }
    ${
      pending === undefined
        ? null
        : html`<${ConfirmDialog} api=${api} pending=${pending} onDone=${(message: string | undefined) => {
            setPending(undefined);
            if (message !== undefined) setFlash(message);
          }} />`
    }
  </div></${FleetHold.Provider}>`;
};
