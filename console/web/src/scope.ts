/**
 * The kill switch on the page: the fleet's and every account's trading state (GET /fleet/state) as a red
 * banner with its manual Resume while not `active`, and a "Halt…" control for the fleet while it is.
 * Fleet rows carry no account (FleetStrategySchema), so the page can count the sessions an account halt
 * would touch for no account: halting an account stays with the CLI (`tradai halt --account`); an
 * account already halted is shown here and can be resumed.
 */
import { html } from 'htm/preact';
import { createContext } from 'preact';
import { useMemo, useState } from 'preact/hooks';
import type * as z from 'zod';
import {
  type FleetStateSchema,
  type HaltBody,
  ScopeChangeResultSchema,
  type TradingScopeViewSchema,
} from '../../../functions/api/trading-scope/schema';
import type { Api } from './api';
import { type Permission, permissionFor, type Session } from './auth';
import type { FleetRow } from './fleet';

export type FleetState = z.output<typeof FleetStateSchema>;
type TradingScopeView = z.output<typeof TradingScopeViewSchema>;
type ScopeChangeResult = z.output<typeof ScopeChangeResultSchema>;

const messageOf = (error: unknown) => (error instanceof Error ? error.message : String(error));

const scopeName = (scope: TradingScopeView) =>
  scope.scope === 'fleet' ? 'the fleet' : `account ${scope.account_id}`;
const scopePath = (scope: TradingScopeView) =>
  scope.scope === 'fleet' ? '/fleet' : `/accounts/${encodeURIComponent(scope.account_id ?? '')}`;

/** The scopes to show a banner for: the fleet first, then each account not `active`. */
export const restrictedScopes = (state: FleetState): TradingScopeView[] =>
  [state.fleet, ...state.accounts].filter((scope) => scope.state !== 'active');

/**
 * Why a session's Resume is refused while the fleet is not active, as the API's 409 says it (scopeRefusalOf),
 * or undefined. Only the fleet's: a row names no account, so an account's hold is left to the server.
 */
export const fleetHoldOf = (state: FleetState | undefined): string | undefined =>
  state === undefined || state.fleet.state === 'active'
    ? undefined
    : `the fleet is ${state.fleet.state} (by ${state.fleet.changed_by} at ${state.fleet.changed_at}: ${state.fleet.reason}); nothing starts or resumes in it until it is resumed`;

/** The fleet's hold, for the command buttons deep in the table (rows skip re-rendering otherwise). */
export const FleetHold = createContext<string | undefined>(undefined);

/** What a halt or resume did, in words: the agents that did not confirm are named, never counted as done. */
export const changeText = (verb: string, result: ScopeChangeResult): string => {
  const { sessions } = result;
  const parts = [
    `${verb} of ${scopeName(result)} recorded${result.changed ? '' : ' (it already was so)'}: ${sessions.acted.length} session(s) acted on, ${
      // A resume waits for no agent: they pick it up within a control poll.
      result.state === 'active'
        ? 'the agents resume within a control poll'
        : `${sessions.confirmed.length} confirmed`
    }`,
  ];
  if (sessions.unconfirmed.length > 0)
    parts.push(
      `${sessions.unconfirmed.length} agent(s) did not confirm within ${result.confirm_timeout_s} s: ${sessions.unconfirmed
        .map(
          (item) => `${item.strategy_id} (${item.status}, last heartbeat ${item.last_heartbeat ?? 'never'})`,
        )
        .join(', ')}`,
    );
  // A resume cannot make these trade: their agent stopped Freqtrade itself and never restarts it in that task.
  if (sessions.held.length > 0)
    parts.push(
      `${sessions.held.length} kept paused because their agent is held (it stopped Freqtrade itself and will not trade again in this task): ${sessions.held
        .map((item) => `${item.strategy_id} (${item.run_id}, ${item.held_by})`)
        .join(', ')}; check their positions on the exchange, then stop each and start it again`,
    );
  if (sessions.failed.length > 0)
    parts.push(
      `${sessions.failed.length} not written: ${sessions.failed.map((item) => `${item.strategy_id}: ${item.error}`).join(', ')}`,
    );
  return parts.join('; ');
};

/**
 * Resuming a scope holding a live session needs the live permission. Fleet rows name no account, so for
 * an account the page assumes it may hold one whenever any live session runs (the server decides).
 */
const resumePermission = (session: Session, rows: FleetRow[]): Permission =>
  permissionFor(
    session.principal,
    'scope_resume',
    rows.some((row) => row.active && row.trading_mode === 'live') ? 'live' : 'dry-run',
  );

const ScopeBanner = ({
  api,
  session,
  scope,
  rows,
  onDone,
}: {
  api: Api;
  session: Session;
  scope: TradingScopeView;
  rows: FleetRow[];
  onDone: (message: string) => void;
}) => {
  const [reason, setReason] = useState('');
  const [busy, setBusy] = useState(false);
  const [failure, setFailure] = useState<string>();
  const idempotencyKey = useMemo(() => crypto.randomUUID(), [scope.generation]);
  const permission = resumePermission(session, rows);
  const submit = async (event: Event) => {
    event.preventDefault();
    setBusy(true);
    setFailure(undefined);
    try {
      const result = await api.post(
        `${scopePath(scope)}/resume`,
        { reason: reason.trim() },
        idempotencyKey,
        ScopeChangeResultSchema,
      );
      onDone(changeText('Resume', result));
    } catch (error) {
      setFailure(messageOf(error));
    } finally {
      setBusy(false);
    }
  };
  return html`<form class="scope-banner" role="alert" data-scope=${scope.scope === 'fleet' ? 'fleet' : scope.account_id}
    data-state=${scope.state} onSubmit=${submit}>
    <strong>${scopeName(scope)} is ${scope.state}</strong>
    <span>${`by ${scope.changed_by} at ${new Date(scope.changed_at).toLocaleString()}: “${scope.reason}”. ${
      scope.state === 'halted'
        ? 'Positions are closed and its sessions stopped.'
        : 'No new entries; exits and stop-losses continue.'
    } Nothing starts or resumes in it until it is resumed.`}</span>
    <input name="resume-reason" placeholder="reason to resume" maxlength="1024" value=${reason}
      onInput=${(event: Event) => setReason((event.target as HTMLInputElement).value)} />
    <button type="submit" name="resume-scope" disabled=${busy || !permission.allowed || reason.trim() === ''}
      title=${permission.allowed ? `Resume ${scopeName(scope)}` : permission.reason}
      data-disabled-reason=${permission.allowed ? '' : permission.reason}>Resume</button>
    ${permission.allowed ? null : html`<span class="small disabled-reason">${permission.reason}</span>`}
    ${failure === undefined ? null : html`<span class="failure">${failure}</span>`}
  </form>`;
};

const HaltDialog = ({
  api,
  rows,
  onDone,
}: {
  api: Api;
  rows: FleetRow[];
  onDone: (message: string | undefined) => void;
}) => {
  const [mode, setMode] = useState<HaltBody['mode']>('reducing');
  const [reason, setReason] = useState('');
  const [busy, setBusy] = useState(false);
  const [failure, setFailure] = useState<string>();
  const idempotencyKey = useMemo(() => crypto.randomUUID(), []);
  const active = rows.filter((row) => row.active);
  const live = active.filter((row) => row.trading_mode === 'live').length;
  const submit = async (event: Event) => {
    event.preventDefault();
    setBusy(true);
    setFailure(undefined);
    try {
      const result = await api.post(
        '/fleet/halt',
        { mode, reason: reason.trim() } satisfies HaltBody,
        idempotencyKey,
        ScopeChangeResultSchema,
      );
      onDone(changeText(`Halt (${mode})`, result));
    } catch (error) {
      setFailure(messageOf(error));
      setBusy(false);
    }
  };
  const choice = (value: HaltBody['mode'], text: string) =>
    html`<label class="inline"><input type="radio" name="mode" value=${value} checked=${mode === value}
      onChange=${() => setMode(value)} /> ${text}</label>`;
  return html`<div class="backdrop">
    <form class="dialog" role="dialog" aria-modal="true" aria-labelledby="halt-title" onSubmit=${submit}>
      <h2 id="halt-title">Halt the fleet?</h2>
      <p>This touches <strong>${live} live session${live === 1 ? '' : 's'} (${active.length} in total)</strong>: every
        session of the fleet. Account halts are not offered here (the fleet view names no account): use
        <code>tradai halt --account</code>.</p>
      ${choice('reducing', 'reducing: no new entries; exits and stop-losses continue (Freqtrade paused)')}
      ${choice('halted', 'halted: every open position is closed at market, then every session stopped')}
      ${mode === 'halted' ? html`<p><strong class="loss">Positions will be closed and every session stopped.</strong></p>` : null}
      <label>Reason (required, kept in the audit trail and the page)
        <textarea name="reason" required maxlength="1024" value=${reason}
          onInput=${(event: Event) => setReason((event.target as HTMLTextAreaElement).value)}></textarea>
      </label>
      ${failure === undefined ? null : html`<p class="failure" role="alert">${failure}</p>`}
      ${busy ? html`<p class="muted">waiting for the agents to confirm…</p>` : null}
      <div class="buttons">
        <button type="button" onClick=${() => onDone(undefined)} disabled=${busy}>Cancel</button>
        <button type="submit" class="command-stop" name="confirm-halt" disabled=${busy || reason.trim() === ''}>
          Halt the fleet (${mode})
        </button>
      </div>
    </form>
  </div>`;
};

/** The banners while a scope is not active; the fleet's "Halt…" control while it is. */
export const ScopeState = ({
  api,
  session,
  state,
  rows,
  onDone,
}: {
  api: Api;
  session: Session;
  state: FleetState | undefined;
  rows: FleetRow[];
  onDone: (message: string) => void;
}) => {
  const [halting, setHalting] = useState(false);
  if (state === undefined) return null;
  const halt = permissionFor(session.principal, 'halt', 'live');
  return html`${restrictedScopes(state).map(
    (scope) =>
      html`<${ScopeBanner} key=${`${scope.scope}-${scope.account_id}-${scope.generation}`} api=${api}
        session=${session} scope=${scope} rows=${rows} onDone=${onDone} />`,
  )}${
    state.fleet.state === 'active'
      ? html`<button type="button" class="halt-open command-stop" disabled=${!halt.allowed}
          title=${halt.allowed ? 'Halt the fleet' : halt.reason} data-disabled-reason=${halt.allowed ? '' : halt.reason}
          onClick=${() => setHalting(true)}>Halt…</button>`
      : null
  }${
    halting
      ? html`<${HaltDialog} api=${api} rows=${rows} onDone=${(message: string | undefined) => {
          setHalting(false);
          if (message !== undefined) onDone(message);
        }} />`
      : null
  }`;
};
