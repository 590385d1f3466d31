import {
  BatchWriteCommand,
  DeleteCommand,
  type DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  QueryCommand,
  type QueryCommandInput,
  TransactWriteCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import * as z from 'zod';
import { type Clock, systemClock } from '../../domain/clock';
import { InvalidInputError, issuesOf, parseInput, parseStored } from '../../domain/errors';
import { FLEET_ROW } from '../../domain/fleet';
import { HandoffSchema } from '../../domain/handoff';
import {
  AgentClaimSchema,
  AgentIdSchema,
  BeatSchema,
  beatKeyOf,
  type Heartbeat,
  HeartbeatSchema,
  type HistoryEntry,
  HistoryEntrySchema,
  type LivenessBeat,
  runIdOfBeatKey,
} from '../../domain/heartbeat';
import {
  ACTIVE_STATUSES,
  AccountIdSchema,
  buildSession,
  type DesiredState,
  DesiredStateSchema,
  isServiceMode,
  NewSessionSchema,
  RunIdSchema,
  type Session,
  SessionSchema,
  type SessionStatus,
  SessionStatusSchema,
  StrategyIdSchema,
  TERMINAL_STATUSES,
} from '../../domain/session';
import {
  type AccountLease,
  AccountLeaseSchema,
  type BeatResult,
  type ClaimResult,
  type CorruptItem,
  type CreateSessionResult,
  type CreateSuccessorResult,
  type HeartbeatResult,
  type HistoryQuery,
  LOCK_SCOPE,
  leaseKeyOf,
  lockKeyOf,
  MAX_LEASED_PAIRS,
  MAX_LEASED_PAIRS_ON_HANDOFF,
  type Page,
  type PageRequest,
  type PassLockResult,
  type ReleaseLockResult,
  type SessionPatch,
  SessionPatchSchema,
  type SessionStore,
  type StrategyLock,
  StrategyLockSchema,
  type SuccessorRequest,
  type TransitionOptions,
  type TransitionResult,
  type UpdateResult,
} from '../../domain/session-store';
import {
  HEARTBEAT_SHARDS,
  heartbeatBucketOf,
  heartbeatShardOf,
  type SilentSessionFinder,
} from '../../domain/sweep';
import {
  FLEET,
  FLEET_SCOPE_KEY,
  neverChangedScope,
  type ScopeChange,
  type ScopeChangeResult,
  type ScopedResumeResult,
  ScopeKeySchema,
  type ScopeRef,
  scopeKeyOf,
  scopePredecessorsOf,
  scopeRefusalOf,
  TRADING_SCOPE_PARTITION,
  type TradingScope,
  TradingScopeSchema,
  type TradingScopeStore,
  TradingStateSchema,
} from '../../domain/trading-scope';
import { predecessorsOf } from '../../domain/transitions';
import { batchGetByRunId } from './batch-get';
import { beatOf, readBeats } from './beats';
import { decodeCursor, encodeCursor } from './cursor';
import { demoteFleetRow } from './fleet-read';

/**
 * Sessions by status, oldest first. INCLUDE of attributes set once at creation (STATUS_INDEX_ATTRIBUTES),
 * so a heartbeat, which changes none of its keys or attributes, never writes it.
 */
export const STATUS_INDEX = 'status-created_at-lean-index';
/**
 * What the status index projects besides its keys and run_id: what its readers filter on (listByStatus on
 * item_type, the backtest evidence reader on workflow_type and strategy_name). The INCLUDE list in
 * serverless.yml, held equal to this by a test, as is its distance from every attribute a heartbeat writes.
 */
export const STATUS_INDEX_ATTRIBUTES = ['item_type', 'workflow_type', 'strategy_name'] as const;
export const STRATEGY_LOCK_INDEX = 'strategy-lock-index';
export const HEARTBEAT_INDEX = 'heartbeat-index';

export interface DynamoSessionStoreOptions {
  sessionsTable: string;
  metricsTable: string;
  clock?: Clock;
  /** PnL history is kept this long, then DynamoDB's TTL removes it. */
  historyTtlDays?: number;
}

const PageRequestSchema = z.strictObject({
  limit: z.number().int().min(1).max(1000).optional(),
  cursor: z.string().max(4096).optional(),
});
const HistoryQuerySchema = PageRequestSchema.extend({
  from: z.iso.datetime({ offset: false }).optional(),
  to: z.iso.datetime({ offset: false }).optional(),
});
const BATCH_WRITE_MAX = 25;

/**
 * "Some scope holds this session" (`:zero` bound to 0). The attribute_exists guard is AWS's meaning of
 * size() on a missing attribute (false) spelled out: moto 5.2.5 fails the whole request on it instead.
 */
const HOLDS_ANY = '(attribute_exists(scope_holds) AND size(scope_holds) > :zero)';

const SuccessorRequestSchema = z.strictObject({
  lockHolder: RunIdSchema,
  superseded: z
    .array(
      z.strictObject({
        run_id: RunIdSchema,
        statuses: z.array(SessionStatusSchema).min(1),
        supersededBy: RunIdSchema.nullable(),
      }),
    )
    .min(1)
    .max(2),
  desiredState: z.enum(['running', 'paused']).optional(),
  handoff: HandoffSchema,
});
const ScopeChangeSchema = z.strictObject({
  scope: z.discriminatedUnion('kind', [
    z.strictObject({ kind: z.literal('fleet') }),
    z.strictObject({ kind: z.literal('account'), account_id: AccountIdSchema }),
  ]),
  to: TradingStateSchema,
  expectedGeneration: z.number().int().nonnegative(),
  actor: z.string().min(1).max(256),
  reason: z.string().min(1).max(1024),
});

type WireItem = Parameters<typeof unmarshall>[0];

const isConditionFailure = (error: unknown): error is Error & { Item?: WireItem } =>
  error instanceof Error && error.name === 'ConditionalCheckFailedException';

const isTransactionCancelled = (
  error: unknown,
): error is Error & { CancellationReasons?: { Code?: string; Item?: WireItem }[] } =>
  error instanceof Error && error.name === 'TransactionCanceledException';

/**
 * The item a refused write saw (ReturnValuesOnConditionCheckFailure ALL_OLD), so the refusal can say why
 * without a second read. The document client leaves errors' items in wire form. `undefined` when there is
 * no item, or when an engine ignores ALL_OLD: callers read it then, which only a missing item costs on AWS.
 */
const oldItemOf = (item: WireItem | undefined): Record<string, unknown> | undefined =>
  item === undefined ? undefined : unmarshall(item);

/**
 * Builds a `SET` clause that aliases every attribute name (DynamoDB reserves hundreds of words, `status`
 * and `metrics` among them), plus the version bump every write makes. `undefined` fields are left alone,
 * `null` stores null.
 */
const setClause = (fields: Record<string, unknown>, extra: string[] = []) => {
  const names: Record<string, string> = { '#version': 'version' };
  const values: Record<string, unknown> = { ':one': 1 };
  const sets = [...extra, '#version = #version + :one'];
  for (const [field, value] of Object.entries(fields)) {
    if (value === undefined) continue;
    names[`#s_${field}`] = field;
    values[`:s_${field}`] = value;
    sets.push(`#s_${field} = :s_${field}`);
  }
  return { expression: `SET ${sets.join(', ')}`, names, values };
};

/** A transition that carries the operator's intent (to stopping) stamps when it changed. */
const intentChange = (patch: SessionPatch, now: string) =>
  patch.desired_state === undefined ? {} : { desired_state_changed_at: now };

/** A lease a claim may take: free (never taken, or released to null) or already held by the claiming run. */
const LEASE_FREE_OR_OURS =
  'attribute_not_exists(holder_run_id) OR attribute_type(holder_run_id, :nullType) OR holder_run_id = :run';

const accountBusy = (accountId: string, pair: string, holderRunId: string, runId: string) => ({
  ok: false as const,
  reason: 'account_busy' as const,
  holderRunId,
  accountId,
  pair,
  message: `exchange account ${accountId} already trades ${pair} in live run ${holderRunId}: run ${runId} must not trade it too`,
});

const inList = (prefix: string, statuses: readonly SessionStatus[]) => {
  const values: Record<string, SessionStatus> = {};
  statuses.forEach((status, index) => {
    values[`:${prefix}${index}`] = status;
  });
  return { expression: `#status IN (${Object.keys(values).join(', ')})`, values };
};

/** Why the fenced heartbeat condition refused a write, from the item as it is now. */
const whyHeartbeatRefused = (heartbeat: Heartbeat, current: Session | undefined): HeartbeatResult => {
  if (current === undefined)
    return { ok: false, reason: 'not_found', message: `no session ${heartbeat.run_id}` };
  if (TERMINAL_STATUSES.includes(current.status)) {
    return {
      ok: false,
      reason: 'terminal',
      status: current.status,
      message: `session ${heartbeat.run_id} is ${current.status}: stop trading`,
    };
  }
  if (current.agent_id !== heartbeat.agent_id) {
    return {
      ok: false,
      reason: 'superseded',
      status: current.status,
      message: `session ${heartbeat.run_id} is now held by agent ${current.agent_id ?? '(none)'}: stop trading`,
    };
  }
  return {
    ok: false,
    reason: 'out_of_order',
    status: current.status,
    message: `heartbeat ${heartbeat.seq} is not newer than ${current.heartbeat_seq}`,
  };
};

/** Why the fenced beat condition refused a write, from the beat as it is now. */
const whyBeatRefused = (
  runId: string,
  agentId: string,
  seq: number,
  current: LivenessBeat | undefined,
): BeatResult => {
  if (current === undefined)
    return { ok: false, reason: 'not_found', message: `no beat of ${runId}: not claimed, or over` };
  if (current.agent_id !== agentId)
    return {
      ok: false,
      reason: 'superseded',
      message: `session ${runId} is now held by agent ${current.agent_id}: stop trading`,
    };
  return {
    ok: false,
    reason: 'out_of_order',
    ...(current.heartbeat_seq === undefined ? {} : { currentSeq: current.heartbeat_seq }),
    message: `beat ${seq} is not newer than ${current.heartbeat_seq ?? 'none'}`,
  };
};

const corruptItemOf = (item: Record<string, unknown>, error: z.ZodError): CorruptItem => ({
  key: typeof item.run_id === 'string' ? item.run_id.slice(0, 256) : '(no key)',
  strategy_id: typeof item.strategy_id === 'string' ? item.strategy_id.slice(0, 64) : null,
  issues: issuesOf(error).map((issue) => `${issue.field}: ${issue.message}`),
});

export class DynamoSessionStore implements SilentSessionFinder, SessionStore, TradingScopeStore {
  readonly #doc: DynamoDBDocumentClient;
  readonly #sessionsTable: string;
  readonly #metricsTable: string;
  readonly #clock: Clock;
  readonly #historyTtlS: number;

  constructor(doc: DynamoDBDocumentClient, options: DynamoSessionStoreOptions) {
    this.#doc = doc;
    this.#sessionsTable = options.sessionsTable;
    this.#metricsTable = options.metricsTable;
    this.#clock = options.clock ?? systemClock;
    this.#historyTtlS = (options.historyTtlDays ?? 90) * 86_400;
  }

  async createSession(raw: unknown): Promise<CreateSessionResult> {
    const input = parseInput(NewSessionSchema, raw, 'new session');
    const session = buildSession(input, this.#clock.now());
    // The strategy's last run, whose fleet row the new session takes over, and its last alert, which the new
    // lock keeps for GET /fleet (read first: the lock is replaced). An alert recorded between this read and
    // the write is lost from the lock only (not from the history): it is of the run that ended.
    const previousLock = await this.getLock(input.strategy_id).catch(() => undefined);
    const previousRunId = previousLock?.last_run_id;
    const lock: StrategyLock = {
      ...(previousLock?.last_alert === undefined ? {} : { last_alert: previousLock.last_alert }),
      item_type: 'strategy_lock',
      lock_scope: LOCK_SCOPE,
      run_id: lockKeyOf(input.strategy_id),
      strategy_id: input.strategy_id,
      active_run_id: session.run_id,
      last_run_id: session.run_id,
      locked_at: session.created_at,
      released_at: null,
    };
    try {
      await this.#sendRetryingConflicts(
        new TransactWriteCommand({
          TransactItems: [
            {
              Put: {
                TableName: this.#sessionsTable,
                Item: lock,
                // Released locks keep their history (last_run_id) with active_run_id set to null.
                ConditionExpression:
                  'attribute_not_exists(active_run_id) OR attribute_type(active_run_id, :nullType)',
                ExpressionAttributeValues: { ':nullType': 'NULL' },
                ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
              },
            },
            {
              Put: {
                TableName: this.#sessionsTable,
                // The new session is its strategy's fleet row (fleet-index) from its first write.
                Item: { ...session, fleet_row: FLEET_ROW },
                ConditionExpression: 'attribute_not_exists(run_id)',
              },
            },
            // In the same transaction as the lock: a halt that commits first refuses this start, one that
            // commits after it finds this session in its fan-out. One-shot runs place no orders.
            ...(isServiceMode(input.trading_mode) ? [this.#scopeActiveCheck(FLEET)] : []),
          ],
        }),
      );
      // The start is made; a failed demotion only leaves a row the fleet read skips (see the function).
      if (previousRunId !== undefined && previousRunId !== session.run_id)
        await demoteFleetRow(this.#doc, this.#sessionsTable, previousRunId).catch(() => undefined);
      return { ok: true, session };
    } catch (error) {
      if (!isTransactionCancelled(error)) throw error;
      const [lockReason, sessionReason, scopeReason] = error.CancellationReasons ?? [];
      if (scopeReason?.Code === 'ConditionalCheckFailed') {
        return this.#scopeNotActive(FLEET);
      }
      if (lockReason?.Code === 'ConditionalCheckFailed') {
        const current = await this.#lockAsItWas(lockReason.Item, input.strategy_id);
        const activeRunId = current?.active_run_id ?? 'unknown';
        return {
          ok: false,
          reason: 'strategy_busy',
          activeRunId,
          message: `strategy ${input.strategy_id} already has an active session ${activeRunId}`,
        };
      }
      if (sessionReason?.Code === 'ConditionalCheckFailed') {
        return { ok: false, reason: 'duplicate_run_id', message: `run ${input.run_id} already exists` };
      }
      throw error;
    }
  }

  async createSuccessor(raw: unknown, rawRequest: SuccessorRequest): Promise<CreateSuccessorResult> {
    const input = parseInput(NewSessionSchema, raw, 'new session');
    const request = parseInput(SuccessorRequestSchema, rawRequest, 'successor request');
    const from = (request.superseded[0] as { run_id: string }).run_id;
    const handoff = { ...request.handoff, to_run_id: input.run_id, from_run_id: from };
    const session: Session = {
      ...buildSession(input, this.#clock.now()),
      supersedes: (request.superseded[0] as { run_id: string }).run_id,
      handoff,
      ...(request.desiredState === undefined ? {} : { desired_state: request.desiredState }),
    };
    const now = session.created_at;
    const supersede = request.superseded.map((run) => {
      const statuses = inList('s', run.statuses);
      const expected =
        run.supersededBy === null
          ? '(attribute_not_exists(superseded_by) OR attribute_type(superseded_by, :nullType))'
          : 'superseded_by = :expected';
      return {
        Update: {
          TableName: this.#sessionsTable,
          Key: { run_id: run.run_id },
          UpdateExpression: 'SET superseded_by = :successor, updated_at = :now, #version = #version + :one',
          ConditionExpression: `item_type = :session AND ${statuses.expression} AND ${expected}`,
          ExpressionAttributeNames: { '#status': 'status', '#version': 'version' },
          ExpressionAttributeValues: {
            ...statuses.values,
            ':session': 'session',
            ':successor': input.run_id,
            ':now': now,
            ':one': 1,
            ...(run.supersededBy === null ? { ':nullType': 'NULL' } : { ':expected': run.supersededBy }),
          },
        },
      };
    });
    try {
      await this.#doc.send(
        new TransactWriteCommand({
          TransactItems: [
            {
              Put: {
                TableName: this.#sessionsTable,
                // The successor is its strategy's fleet row (fleet-index) from its first write, as a start.
                Item: { ...session, fleet_row: FLEET_ROW },
                ConditionExpression: 'attribute_not_exists(run_id)',
              },
            },
            ...supersede,
            {
              ConditionCheck: {
                TableName: this.#sessionsTable,
                Key: { run_id: lockKeyOf(input.strategy_id) },
                ConditionExpression: 'active_run_id = :holder',
                ExpressionAttributeValues: { ':holder': request.lockHolder },
              },
            },
            // A halted or reducing fleet starts no new version, as it starts no session.
            this.#scopeActiveCheck(FLEET),
          ],
        }),
      );
      // The predecessor's row stays until the strategy's next start: the fleet read shows the row of the run
      // the lock names, which is the predecessor until the launch passes the lock to this one.
      return { ok: true, session };
    } catch (error) {
      if (!isTransactionCancelled(error)) throw error;
      const reasons = error.CancellationReasons ?? [];
      const failedAt = reasons.findIndex((reason) => reason?.Code === 'ConditionalCheckFailed');
      if (failedAt === 0)
        return { ok: false, reason: 'duplicate_run_id', message: `run ${input.run_id} already exists` };
      if (failedAt > 0 && failedAt <= supersede.length) {
        const run = request.superseded[failedAt - 1] as (typeof request.superseded)[number];
        const current = await this.get(run.run_id);
        return {
          ok: false,
          reason: 'handoff_refused',
          message:
            current === undefined
              ? `session ${run.run_id} does not exist`
              : (current.superseded_by ?? null) !== run.supersededBy
                ? `session ${run.run_id} is already being handed off to ${current.superseded_by ?? '(none)'}`
                : `session ${run.run_id} is ${current.status}; the handoff starts only from ${run.statuses.join(' or ')}`,
        };
      }
      if (failedAt === supersede.length + 2) {
        const scope = await this.getTradingScope(FLEET);
        return { ok: false, reason: 'handoff_refused', message: scopeRefusalOf(scope).message };
      }
      if (failedAt === supersede.length + 1) {
        const lock = await this.getLock(input.strategy_id);
        return {
          ok: false,
          reason: 'handoff_refused',
          message: `the lock of ${input.strategy_id} is held by ${lock?.active_run_id ?? 'nobody'}, not ${request.lockHolder}`,
        };
      }
      throw error;
    }
  }

  async claimSession(raw: unknown): Promise<ClaimResult> {
    const claim = parseInput(AgentClaimSchema, raw, 'agent claim');
    const now = new Date(this.#clock.now()).toISOString();
    // Only live money takes leases; the mode never changes after creation, so reading it first is safe.
    const accountId = claim.account_id;
    const before = await this.get(claim.run_id);
    const leasing = accountId !== undefined && before?.trading_mode === 'live' ? accountId : undefined;
    const set = setClause({
      agent_id: claim.agent_id,
      strategy_version: claim.strategy_version,
      exchange: claim.exchange,
      pairs: claim.pairs,
      ...(leasing === undefined ? {} : { account_id: leasing }),
      updated_at: now,
    });
    const predecessorRunId = before?.supersedes ?? null;
    if (predecessorRunId !== null && before !== undefined && !TERMINAL_STATUSES.includes(before.status))
      return this.#claimAsSuccessor(claim, before, predecessorRunId, leasing, set, now);
    if (leasing !== undefined) {
      // A lease whose holder is over and whose lock is free was orphaned (e.g. a replacement task claimed
      // fewer pairs, so the release missed one): it is freed and the claim tried again, once per pair.
      for (let attempt = 0; ; attempt += 1) {
        const result = await this.#claimWithLeases(claim, leasing, set, now);
        if (result.ok || result.reason !== 'account_busy' || attempt >= claim.pairs.length) return result;
        if (!(await this.#freeOrphanedLease(result.accountId, result.pair, result.holderRunId, now)))
          return result;
      }
    }
    try {
      await this.#sendRetryingConflicts(
        new TransactWriteCommand({
          TransactItems: [
            this.#claimUpdate(claim.run_id, set, { returnOld: true }),
            this.#beatClaim(claim.run_id, claim.agent_id, now),
          ],
        }),
      );
    } catch (error) {
      if (!isTransactionCancelled(error)) throw error;
      const [sessionReason] = error.CancellationReasons ?? [];
      if (sessionReason?.Code !== 'ConditionalCheckFailed') throw error;
      return this.#whyClaimRefused(
        claim.run_id,
        await this.#sessionAsItWas(sessionReason.Item, claim.run_id),
      );
    }
    return this.#claimedSession(claim.run_id);
  }

  /**
   * A claim's beat write, in the claim's transaction, so the last claim wins on both items: the beat names
   * the claiming agent (an older agent's beats are refused from then on), drops the older agent's seq (the
   * claimer's first beat is newer whatever it is), and enters the heartbeat index at the first claim's time,
   * so a claimer that never beats is found silent. A replacement's claim leaves hb_at at the last beat: the
   * silence it ends is still found on time.
   */
  #beatClaim(runId: string, agentId: string, now: string) {
    return {
      Update: {
        TableName: this.#sessionsTable,
        Key: { run_id: beatKeyOf(runId) },
        UpdateExpression:
          'SET item_type = :beat, agent_id = :agent, hb_shard = if_not_exists(hb_shard, :shard), hb_at = if_not_exists(hb_at, :at) REMOVE heartbeat_seq',
        ExpressionAttributeValues: {
          ':beat': 'beat',
          ':agent': agentId,
          ':shard': heartbeatShardOf(runId),
          ':at': heartbeatBucketOf(now),
        },
      },
    };
  }

  #whyClaimRefused(runId: string, current: Session | undefined): ClaimResult {
    if (current === undefined) return { ok: false, reason: 'not_found', message: `no session ${runId}` };
    return {
      ok: false,
      reason: 'terminal',
      status: current.status,
      message: `session ${runId} is ${current.status}`,
    };
  }

  /**
   * The runs a successor takes over from: its predecessor and, when that one never traded (a failed
   * successor that a rollback replaces), the predecessor's own predecessor, which still holds the leases.
   */
  async #handoffChainOf(predecessorRunId: string): Promise<Session[]> {
    const predecessor = await this.get(predecessorRunId);
    if (predecessor === undefined) return [];
    const grand = predecessor.supersedes ?? null;
    if (grand === null) return [predecessor];
    const before = await this.get(grand);
    return before === undefined ? [predecessor] : [predecessor, before];
  }

  /**
   * One ConditionCheck per run of the chain: over, and superseded by `successor` (an older run: by it or by
   * the run after it, which a rollback replaces).
   */
  #overAndSupersededChecks(chain: readonly Session[], successor: string) {
    const over = inList('o', TERMINAL_STATUSES);
    return chain.map((run, index) => ({
      ConditionCheck: {
        TableName: this.#sessionsTable,
        Key: { run_id: run.run_id },
        ConditionExpression: `item_type = :session AND ${over.expression} AND (superseded_by = :successor OR superseded_by = :next)`,
        ExpressionAttributeNames: { '#status': 'status' },
        ExpressionAttributeValues: {
          ...over.values,
          ':session': 'session',
          ':successor': successor,
          ':next': index === 0 ? successor : (chain[0] as Session).run_id,
        },
      },
    }));
  }

  async passLock(strategyIdRaw: string, fromRaw: string, toRaw: string): Promise<PassLockResult> {
    const strategyId = parseInput(StrategyIdSchema, strategyIdRaw, 'strategy_id');
    const from = parseInput(RunIdSchema, fromRaw, 'from run_id');
    const to = parseInput(RunIdSchema, toRaw, 'to run_id');
    const chain = await this.#handoffChainOf(from);
    if (chain.length === 0) return { ok: false, reason: 'handoff_not_ready', message: `no session ${from}` };
    const holders = [to, ...chain.map((run) => run.run_id)];
    const holderValues = Object.fromEntries(holders.map((run, index) => [`:h${index}`, run]));
    const now = new Date(this.#clock.now()).toISOString();
    try {
      await this.#doc.send(
        new TransactWriteCommand({
          TransactItems: [
            ...this.#overAndSupersededChecks(chain, to),
            {
              Update: {
                TableName: this.#sessionsTable,
                Key: { run_id: lockKeyOf(strategyId) },
                UpdateExpression: 'SET active_run_id = :to, last_run_id = :to, locked_at = :now',
                ConditionExpression: `active_run_id IN (${Object.keys(holderValues).join(', ')})`,
                ExpressionAttributeValues: { ...holderValues, ':to': to, ':now': now },
              },
            },
          ],
        }),
      );
      return { ok: true };
    } catch (error) {
      if (!isTransactionCancelled(error)) throw error;
      const lock = await this.getLock(strategyId);
      const states = (await this.#handoffChainOf(from)).map(
        (run) => `${run.run_id} ${run.status}, superseded by ${run.superseded_by ?? 'nobody'}`,
      );
      return {
        ok: false,
        reason: 'handoff_not_ready',
        message: `the lock of ${strategyId} (held by ${lock?.active_run_id ?? 'nobody'}) does not pass to ${to}: ${states.join('; ')}`,
      };
    }
  }

  /**
   * A successor's claim, one transaction: the session claimed, the runs it takes over from checked over
   * (their agents write the final status only after Freqtrade stopped), the strategy lock checked to be
   * its own (passed by the launch workflow once the predecessor's container was gone) and, live, each
   * pair's lease taken from its previous holder or free. At no instant has the account two holders, or,
   * during the handoff, none another run could take.
   */
  async #claimAsSuccessor(
    claim: z.output<typeof AgentClaimSchema>,
    session: Session,
    predecessorRunId: string,
    accountId: string | undefined,
    set: ReturnType<typeof setClause>,
    now: string,
  ): Promise<ClaimResult> {
    const pairs = accountId === undefined ? [] : [...new Set(claim.pairs)];
    if (pairs.length > MAX_LEASED_PAIRS_ON_HANDOFF) {
      throw new InvalidInputError('agent claim', [
        {
          field: 'pairs',
          message: `a live successor leases at most ${MAX_LEASED_PAIRS_ON_HANDOFF} pairs (got ${pairs.length})`,
        },
      ]);
    }
    const chain = await this.#handoffChainOf(predecessorRunId);
    if (chain.length === 0)
      return { ok: false, reason: 'handoff_not_ready', message: `no session ${predecessorRunId}` };
    const holderValues = Object.fromEntries(chain.map((run, index) => [`:p${index}`, run.run_id]));
    const fromHolders = Object.keys(holderValues)
      .map((name) => `holder_run_id = ${name}`)
      .join(' OR ');
    const checks = this.#overAndSupersededChecks(chain, claim.run_id);
    // A successor is a new writer on its account: it needs the account active, as a first live claim does.
    const scopeCheck =
      accountId === undefined ? [] : [this.#scopeActiveCheck({ kind: 'account', account_id: accountId })];
    try {
      await this.#sendRetryingConflicts(
        new TransactWriteCommand({
          TransactItems: [
            this.#claimUpdate(claim.run_id, set),
            ...checks,
            {
              ConditionCheck: {
                TableName: this.#sessionsTable,
                Key: { run_id: lockKeyOf(session.strategy_id) },
                ConditionExpression: 'active_run_id = :run',
                ExpressionAttributeValues: { ':run': claim.run_id },
              },
            },
            ...pairs.map((pair) => ({
              Put: {
                ...this.#leasePut(accountId as string, pair, claim.run_id, session.strategy_id, now),
                // Free, already ours (a replacement task), or held by a run this one takes over from.
                ConditionExpression: `${LEASE_FREE_OR_OURS} OR ${fromHolders}`,
                ExpressionAttributeValues: { ':nullType': 'NULL', ':run': claim.run_id, ...holderValues },
              },
            })),
            ...scopeCheck,
            this.#beatClaim(claim.run_id, claim.agent_id, now),
          ],
        }),
      );
    } catch (error) {
      if (!isTransactionCancelled(error)) throw error;
      const reasons = error.CancellationReasons ?? [];
      const failed = (index: number) => reasons[index]?.Code === 'ConditionalCheckFailed';
      if (failed(0)) return this.#whyClaimRefused(claim.run_id, await this.get(claim.run_id));
      const notOver = checks.findIndex((_check, index) => failed(1 + index));
      if (notOver !== -1) {
        const run = await this.get((chain[notOver] as Session).run_id);
        return {
          ok: false,
          reason: 'handoff_not_ready',
          message: `run ${claim.run_id} takes over from ${run?.run_id ?? predecessorRunId}, which is ${run?.status ?? 'missing'} (superseded by ${run?.superseded_by ?? 'nobody'}): not trading next to it`,
        };
      }
      if (failed(1 + checks.length)) {
        const lock = await this.getLock(session.strategy_id);
        return {
          ok: false,
          reason: 'handoff_not_ready',
          message: `the lock of ${session.strategy_id} is held by ${lock?.active_run_id ?? 'nobody'}, not ${claim.run_id}: the handoff has not passed it yet`,
        };
      }
      if (scopeCheck.length > 0 && failed(2 + checks.length + pairs.length)) {
        return this.#scopeNotActive({ kind: 'account', account_id: accountId as string });
      }
      const busy = reasons
        .slice(2 + checks.length, 2 + checks.length + pairs.length)
        .findIndex((reason) => reason?.Code === 'ConditionalCheckFailed');
      if (busy === -1 || accountId === undefined) throw error;
      const pair = pairs[busy] as string;
      const holderRunId = (await this.getAccountLease(accountId, pair))?.holder_run_id ?? 'unknown';
      return accountBusy(accountId, pair, holderRunId, claim.run_id);
    }
    // Leases the runs taken over from held and this run did not take (fewer pairs, a rotated key): freed now
    // that those runs are over; a lease another run took since is left alone.
    for (const run of chain) {
      if (!run.account_id) continue;
      const taken = new Set(accountId === run.account_id ? pairs : []);
      for (const pair of new Set(run.pairs))
        if (!taken.has(pair)) await this.#releaseLease(run.account_id, pair, run.run_id, now);
    }
    return this.#claimedSession(claim.run_id);
  }

  /** A claim's session write: only a session that is not over yet may be claimed. */
  #claimUpdate(runId: string, set: ReturnType<typeof setClause>, { returnOld = false } = {}) {
    const terminal = inList('t', TERMINAL_STATUSES);
    return {
      Update: {
        TableName: this.#sessionsTable,
        Key: { run_id: runId },
        UpdateExpression: set.expression,
        ConditionExpression: `item_type = :session AND NOT (${terminal.expression})`,
        ExpressionAttributeNames: { '#status': 'status', ...set.names },
        ExpressionAttributeValues: { ...set.values, ...terminal.values, ':session': 'session' },
        ...(returnOld ? { ReturnValuesOnConditionCheckFailure: 'ALL_OLD' as const } : {}),
      },
    };
  }

  /** The lease row a claim writes for one pair; the caller says from whom it may take it. */
  #leasePut(accountId: string, pair: string, runId: string, strategyId: string | null, now: string) {
    return {
      TableName: this.#sessionsTable,
      Item: {
        item_type: 'account_lease',
        run_id: leaseKeyOf(accountId, pair),
        account_id: accountId,
        pair,
        holder_run_id: runId,
        holder_strategy_id: strategyId,
        last_run_id: runId,
        leased_at: now,
        released_at: null,
      } satisfies AccountLease,
    };
  }

  async #claimedSession(runId: string): Promise<ClaimResult> {
    const claimed = await this.get(runId);
    if (claimed === undefined) return { ok: false, reason: 'not_found', message: `no session ${runId}` };
    return { ok: true, session: claimed };
  }

  async #scopeNotActive(ref: ScopeRef) {
    const scope = await this.getTradingScope(ref);
    return {
      ok: false as const,
      reason: 'scope_not_active' as const,
      scope,
      message: scopeRefusalOf(scope).message,
    };
  }

  /** The claim and one lease per pair, all or nothing: a second writer on a pair of the account is refused. */
  async #claimWithLeases(
    claim: z.output<typeof AgentClaimSchema>,
    accountId: string,
    set: ReturnType<typeof setClause>,
    now: string,
  ): Promise<ClaimResult> {
    const pairs = [...new Set(claim.pairs)];
    if (pairs.length > MAX_LEASED_PAIRS) {
      throw new InvalidInputError('agent claim', [
        {
          field: 'pairs',
          message: `a live session leases at most ${MAX_LEASED_PAIRS} pairs (got ${pairs.length})`,
        },
      ]);
    }
    const session = await this.get(claim.run_id);
    // A session that never traded must not begin in an account that is not active; a replacement task of
    // one already trading claims as before (the scope's fan-out already paused or stopped it).
    const isNew = session === undefined || session.status === 'pending' || session.status === 'launching';
    const scopeCheck = isNew ? [this.#scopeActiveCheck({ kind: 'account', account_id: accountId })] : [];
    try {
      await this.#sendRetryingConflicts(
        new TransactWriteCommand({
          TransactItems: [
            this.#claimUpdate(claim.run_id, set, { returnOld: true }),
            ...pairs.map((pair) => ({
              Put: {
                ...this.#leasePut(accountId, pair, claim.run_id, session?.strategy_id ?? null, now),
                // Free (never taken, or released to null) or already ours (a replacement task of this run).
                ConditionExpression: LEASE_FREE_OR_OURS,
                ExpressionAttributeValues: { ':nullType': 'NULL', ':run': claim.run_id },
                ReturnValuesOnConditionCheckFailure: 'ALL_OLD' as const,
              },
            })),
            ...scopeCheck,
            this.#beatClaim(claim.run_id, claim.agent_id, now),
          ],
        }),
      );
    } catch (error) {
      if (!isTransactionCancelled(error)) throw error;
      const [sessionReason, ...rest] = error.CancellationReasons ?? [];
      const leaseReasons = rest.slice(0, pairs.length);
      if (sessionReason?.Code === 'ConditionalCheckFailed')
        return this.#whyClaimRefused(
          claim.run_id,
          await this.#sessionAsItWas(sessionReason.Item, claim.run_id),
        );
      if (scopeCheck.length > 0 && rest[pairs.length]?.Code === 'ConditionalCheckFailed') {
        return this.#scopeNotActive({ kind: 'account', account_id: accountId });
      }
      const busy = leaseReasons.findIndex((reason) => reason?.Code === 'ConditionalCheckFailed');
      if (busy === -1) throw error;
      const pair = pairs[busy] as string;
      const old = oldItemOf(leaseReasons[busy]?.Item);
      const lease =
        old === undefined
          ? await this.getAccountLease(accountId, pair)
          : parseStored(AccountLeaseSchema, old, 'account lease');
      const holderRunId = lease?.holder_run_id ?? 'unknown';
      return accountBusy(accountId, pair, holderRunId, claim.run_id);
    }
    return this.#claimedSession(claim.run_id);
  }

  async recordHeartbeat(raw: unknown): Promise<HeartbeatResult> {
    const heartbeat: Heartbeat = parseInput(HeartbeatSchema, raw, 'heartbeat');
    const terminal = inList('t', TERMINAL_STATUSES);
    const outcome = await this.#updateSession(heartbeat.run_id, {
      set: setClause({
        last_heartbeat: heartbeat.at,
        heartbeat_seq: heartbeat.seq,
        metrics: heartbeat.metrics,
        health: heartbeat.health,
        risk: heartbeat.risk,
        open_trades: heartbeat.open_trades,
        updated_at: new Date(this.#clock.now()).toISOString(),
      }),
      condition: `NOT (${terminal.expression}) AND agent_id = :agent AND #s_heartbeat_seq < :s_heartbeat_seq`,
      values: { ...terminal.values, ':agent': heartbeat.agent_id },
    });
    if (outcome.ok)
      return { ok: true, desiredState: outcome.session.desired_state, session: outcome.session };
    return whyHeartbeatRefused(heartbeat, outcome.current);
  }

  async recordBeat(raw: unknown): Promise<BeatResult> {
    const beat = parseInput(BeatSchema, raw, 'beat');
    const key = beatKeyOf(beat.run_id);
    try {
      await this.#doc.send(
        new UpdateCommand({
          TableName: this.#sessionsTable,
          Key: { run_id: key },
          // The heartbeat index's key moves only when the beat enters a new step (hb_shard came with the claim).
          UpdateExpression: 'SET last_heartbeat = :at, heartbeat_seq = :seq, hb_at = :hbAt',
          ConditionExpression:
            'item_type = :beat AND agent_id = :agent AND (attribute_not_exists(heartbeat_seq) OR heartbeat_seq < :seq)',
          ExpressionAttributeValues: {
            ':beat': 'beat',
            ':agent': beat.agent_id,
            ':at': beat.at,
            ':seq': beat.seq,
            ':hbAt': heartbeatBucketOf(beat.at),
          },
          ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
        }),
      );
      return { ok: true };
    } catch (error) {
      if (!isConditionFailure(error)) throw error;
      const old = oldItemOf(error.Item);
      const current = old === undefined ? (await this.beatsOf([beat.run_id])).get(beat.run_id) : beatOf(old);
      return whyBeatRefused(beat.run_id, beat.agent_id, beat.seq, current);
    }
  }

  async beatsOf(runIdsRaw: readonly string[]): Promise<Map<string, LivenessBeat>> {
    const runIds = runIdsRaw.map((runId) => parseInput(RunIdSchema, runId, 'run_id'));
    return readBeats(this.#doc, {
      table: this.#sessionsTable,
      runIds,
      consistent: true,
      what: 'beats',
    });
  }

  async forgetBeat(runIdRaw: string): Promise<void> {
    const runId = parseInput(RunIdSchema, runIdRaw, 'run_id');
    await this.#doc
      .send(
        new DeleteCommand({
          TableName: this.#sessionsTable,
          Key: { run_id: beatKeyOf(runId) },
          ConditionExpression: 'item_type = :beat',
          ExpressionAttributeValues: { ':beat': 'beat' },
        }),
      )
      .catch((error: unknown) => {
        // Already gone: nothing to forget.
        if (!isConditionFailure(error)) throw error;
      });
  }

  async transition(
    runIdRaw: string,
    toRaw: SessionStatus,
    options: TransitionOptions = {},
  ): Promise<TransitionResult> {
    const runId = parseInput(RunIdSchema, runIdRaw, 'run_id');
    const to = parseInput(SessionStatusSchema, toRaw, 'status');
    const patch = parseInput(SessionPatchSchema, options.patch ?? {}, 'session patch');
    const heldBy =
      options.heldBy === undefined ? undefined : parseInput(AgentIdSchema, options.heldBy, 'heldBy');
    const allowed = predecessorsOf(to).filter(
      (status) => options.from === undefined || options.from.includes(status),
    );
    if (allowed.length === 0) {
      throw new InvalidInputError('transition', [
        { field: 'status', message: `nothing may move to ${to} from there` },
      ]);
    }
    const from = inList('f', allowed);
    const now = new Date(this.#clock.now()).toISOString();
    const set = setClause(
      { ...patch, ...intentChange(patch, now), status_changed_at: now, updated_at: now },
      ['#previous_status = #status', '#status = :to'],
    );
    const outcome = await this.#updateSession(runId, {
      // Right-hand sides read the item as it was, so previous_status records where we came from.
      set,
      condition: `${from.expression}${heldBy === undefined ? '' : ' AND agent_id = :heldBy'}`,
      names: { '#previous_status': 'previous_status' },
      values: { ...from.values, ':to': to, ...(heldBy === undefined ? {} : { ':heldBy': heldBy }) },
    });
    if (outcome.ok) {
      return {
        ok: true,
        session: outcome.session,
        previous: outcome.session.previous_status ?? outcome.session.status,
      };
    }
    const { current } = outcome;
    if (current === undefined) return { ok: false, reason: 'not_found', message: `no session ${runId}` };
    const heldElsewhere = heldBy !== undefined && current.agent_id !== heldBy;
    return {
      ok: false,
      reason: 'not_allowed',
      current: current.status,
      message: heldElsewhere
        ? `session ${runId} is held by agent ${current.agent_id ?? '(none)'}, not ${heldBy}`
        : `session ${runId} is ${current.status}; it cannot move to ${to}`,
    };
  }

  async update(
    runIdRaw: string,
    rawPatch: SessionPatch,
    whenStatus: readonly SessionStatus[],
  ): Promise<UpdateResult> {
    const runId = parseInput(RunIdSchema, runIdRaw, 'run_id');
    const patch = parseInput(SessionPatchSchema, rawPatch, 'session patch');
    if (patch.desired_state !== undefined) {
      // One way to change intent: setDesiredState (or a transition that carries it, like stopping).
      throw new InvalidInputError('session patch', [
        { field: 'desired_state', message: 'is changed with setDesiredState, not update' },
      ]);
    }
    const statuses = parseInput(z.array(SessionStatusSchema).min(1), whenStatus, 'status condition');
    const when = inList('w', statuses);
    const now = new Date(this.#clock.now()).toISOString();
    const outcome = await this.#updateSession(runId, {
      set: setClause({ ...patch, updated_at: now }),
      condition: when.expression,
      values: when.values,
    });
    if (outcome.ok) return outcome;
    const { current } = outcome;
    if (current === undefined) return { ok: false, reason: 'not_found', message: `no session ${runId}` };
    return {
      ok: false,
      reason: 'not_allowed',
      current: current.status,
      message: `session ${runId} is ${current.status}`,
    };
  }

  /**
   * One conditional UpdateItem on a session (never on a lock or another record type), returning the item
   * as written, or, when the condition refused it, the item as it is now so the caller can say why.
   */
  async #updateSession(
    runId: string,
    update: {
      set: ReturnType<typeof setClause>;
      condition: string;
      names?: Record<string, string>;
      values?: Record<string, unknown>;
    },
  ): Promise<{ ok: true; session: Session } | { ok: false; current: Session | undefined }> {
    try {
      const result = await this.#doc.send(
        new UpdateCommand({
          TableName: this.#sessionsTable,
          Key: { run_id: runId },
          UpdateExpression: update.set.expression,
          ConditionExpression: `item_type = :session AND ${update.condition}`,
          ExpressionAttributeNames: { '#status': 'status', ...update.set.names, ...update.names },
          ExpressionAttributeValues: { ...update.set.values, ...update.values, ':session': 'session' },
          ReturnValues: 'ALL_NEW',
          ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
        }),
      );
      return { ok: true, session: this.#parseSession(result.Attributes) };
    } catch (error) {
      if (!isConditionFailure(error)) throw error;
      return { ok: false, current: await this.#sessionAsItWas(error.Item, runId) };
    }
  }

  /** The session a refused write saw; read only when the refusal carried no item (see oldItemOf). */
  async #sessionAsItWas(item: WireItem | undefined, runId: string): Promise<Session | undefined> {
    const old = oldItemOf(item);
    if (old === undefined) return this.get(runId);
    // The key names another kind of record (the condition's item_type check refused it): no session.
    return old.item_type === 'session' ? this.#parseSession(old) : undefined;
  }

  async #lockAsItWas(item: WireItem | undefined, strategyId: string): Promise<StrategyLock | undefined> {
    const old = oldItemOf(item);
    return old === undefined
      ? this.getLock(strategyId)
      : parseStored(StrategyLockSchema, old, 'strategy lock');
  }

  async setDesiredState(
    runId: string,
    desiredRaw: DesiredState,
    reason: string | null = null,
  ): Promise<UpdateResult> {
    const desired = parseInput(DesiredStateSchema, desiredRaw, 'desired_state');
    if (desired === 'stopped') {
      const result = await this.transition(runId, 'stopping', {
        patch: { desired_state: 'stopped', status_reason: reason },
      });
      return result.ok ? { ok: true, session: result.session } : result;
    }
    const id = parseInput(RunIdSchema, runId, 'run_id');
    const open: readonly SessionStatus[] = ACTIVE_STATUSES.filter((status) => status !== 'stopping');
    const when = inList('w', open);
    const now = new Date(this.#clock.now()).toISOString();
    // Only a real change of intent is written (and stamped): re-asking for the current state is a no-op,
    // so desired_state_changed_at always means "the operator changed their mind at".
    // An operator's (or a breach's) intent takes the pause over from any scope holding it: that scope's
    // resume must then leave it alone.
    const set = setClause({
      desired_state: desired,
      desired_state_changed_at: now,
      updated_at: now,
      scope_cause: null,
    });
    const outcome = await this.#updateSession(id, {
      set: { ...set, expression: `${set.expression} REMOVE scope_holds` },
      condition: `${when.expression} AND (#s_desired_state <> :s_desired_state OR ${HOLDS_ANY})`,
      values: { ...when.values, ':zero': 0 },
    });
    if (outcome.ok) return outcome;
    const { current } = outcome;
    if (current === undefined) return { ok: false, reason: 'not_found', message: `no session ${id}` };
    if (open.includes(current.status) && current.desired_state === desired)
      return { ok: true, session: current };
    return {
      ok: false,
      reason: 'not_allowed',
      current: current.status,
      message: `session ${id} is ${current.status}`,
    };
  }

  async get(runIdRaw: string): Promise<Session | undefined> {
    const runId = parseInput(RunIdSchema, runIdRaw, 'run_id');
    const result = await this.#doc.send(
      new GetCommand({ TableName: this.#sessionsTable, Key: { run_id: runId }, ConsistentRead: true }),
    );
    return result.Item === undefined ? undefined : this.#parseSession(result.Item);
  }

  async getLock(strategyIdRaw: string): Promise<StrategyLock | undefined> {
    const strategyId = parseInput(StrategyIdSchema, strategyIdRaw, 'strategy_id');
    const result = await this.#doc.send(
      new GetCommand({
        TableName: this.#sessionsTable,
        Key: { run_id: lockKeyOf(strategyId) },
        ConsistentRead: true,
      }),
    );
    return result.Item === undefined
      ? undefined
      : parseStored(StrategyLockSchema, result.Item, 'strategy lock');
  }

  async currentSessionOf(strategyId: string): Promise<Session | undefined> {
    const lock = await this.getLock(strategyId);
    if (lock === undefined) return undefined;
    return this.get(lock.active_run_id ?? lock.last_run_id);
  }

  /**
   * One page of the status index (its keys and the filters' attributes), then the whole items by key
   * with consistent BatchGetItem: the index is eventually consistent and projects nothing a heartbeat
   * writes, so the session as it is now comes from the table. A session that has left the status since the
   * index saw it is left out (it is listed under its new status); the page keeps the index's order.
   */
  async listByStatus(statusRaw: SessionStatus, page: PageRequest = {}): Promise<Page<Session>> {
    const status = parseInput(SessionStatusSchema, statusRaw, 'status');
    const request = parseInput(PageRequestSchema, page, 'page');
    const result = await this.#doc.send(
      new QueryCommand({
        TableName: this.#sessionsTable,
        IndexName: STATUS_INDEX,
        KeyConditionExpression: '#status = :status',
        // The table is shared with other TradAI workflow records (seed §6); only sessions are ours.
        FilterExpression: 'item_type = :session',
        ExpressionAttributeNames: { '#status': 'status' },
        ExpressionAttributeValues: { ':status': status, ':session': 'session' },
        Limit: request.limit ?? 100,
        ExclusiveStartKey: decodeCursor(request.cursor),
      }),
    );
    const cursor = encodeCursor(result.LastEvaluatedKey);
    const runIds = (result.Items ?? []).flatMap((key) =>
      typeof key.run_id === 'string' ? [key.run_id] : [],
    );
    const byRunId = await batchGetByRunId(this.#doc, {
      table: this.#sessionsTable,
      runIds,
      consistent: true,
      what: `sessions ${status}`,
    });
    const items: Session[] = [];
    const corrupt: CorruptItem[] = [];
    for (const runId of runIds) {
      const item = byRunId.get(runId);
      if (item === undefined || item.status !== status) continue;
      const parsed = SessionSchema.safeParse(item);
      if (parsed.success) items.push(parsed.data);
      else corrupt.push(corruptItemOf(item, parsed.error));
    }
    return {
      items,
      ...(cursor === undefined ? {} : { cursor }),
      ...(corrupt.length === 0 ? {} : { corrupt }),
    };
  }

  /** Every item a query matches, all pages, uncapped (the sweep must see every silent session). */
  async #queryEveryPage(
    input: Omit<QueryCommandInput, 'ExclusiveStartKey'>,
  ): Promise<Record<string, unknown>[]> {
    const items: Record<string, unknown>[] = [];
    let start: Record<string, unknown> | undefined;
    do {
      const result = await this.#doc.send(new QueryCommand({ ...input, ExclusiveStartKey: start }));
      items.push(...(result.Items ?? []));
      start = result.LastEvaluatedKey;
    } while (start !== undefined);
    return items;
  }

  async listSilentSince(cutoffRaw: string): Promise<string[]> {
    const cutoff = parseInput(z.iso.datetime({ offset: false }), cutoffRaw, 'cutoff');
    const shards = Array.from({ length: HEARTBEAT_SHARDS }, (_, shard) => String(shard));
    const perShard = await Promise.all(
      shards.map(async (shard) => {
        const items = await this.#queryEveryPage({
          TableName: this.#sessionsTable,
          IndexName: HEARTBEAT_INDEX,
          KeyConditionExpression: 'hb_shard = :shard AND hb_at < :cutoff',
          ExpressionAttributeValues: { ':shard': shard, ':cutoff': cutoff },
        });
        // The index holds beats: each names its run by key.
        return items.flatMap((item) => {
          const runId = typeof item.run_id === 'string' ? runIdOfBeatKey(item.run_id) : undefined;
          return runId === undefined ? [] : [runId];
        });
      }),
    );
    return perShard.flat();
  }

  async listStrategies(page: PageRequest = {}): Promise<Page<StrategyLock>> {
    const request = parseInput(PageRequestSchema, page, 'page');
    const result = await this.#doc.send(
      new QueryCommand({
        TableName: this.#sessionsTable,
        IndexName: STRATEGY_LOCK_INDEX,
        KeyConditionExpression: 'lock_scope = :scope',
        ExpressionAttributeValues: { ':scope': LOCK_SCOPE },
        Limit: request.limit ?? 100,
        ExclusiveStartKey: decodeCursor(request.cursor),
      }),
    );
    const cursor = encodeCursor(result.LastEvaluatedKey);
    const items = (result.Items ?? []).map((item) => parseStored(StrategyLockSchema, item, 'strategy lock'));
    return cursor === undefined ? { items } : { items, cursor };
  }

  async releaseLock(strategyIdRaw: string, runIdRaw: string): Promise<ReleaseLockResult> {
    const strategyId = parseInput(StrategyIdSchema, strategyIdRaw, 'strategy_id');
    const runId = parseInput(RunIdSchema, runIdRaw, 'run_id');
    const now = new Date(this.#clock.now()).toISOString();
    // Leases first: a crash in between leaves the lock held, so the retried release frees both.
    const session = await this.get(runId);
    // A handoff's successor that ended before its handoff did: its launch's compensation decides whether a
    // rollback takes lock and leases over (or frees them); a teardown arriving first must not free them.
    const undecided = ['requested', 'retiring', 'predecessor_gone'];
    if (
      session?.handoff &&
      session.handoff.kind !== 'rollback' &&
      undecided.includes(session.handoff.phase) &&
      (session.superseded_by ?? null) === null &&
      TERMINAL_STATUSES.includes(session.status)
    )
      return {
        ok: false,
        reason: 'handing_off',
        successorRunId: null,
        message: `run ${runId} ended during its handoff: its launch workflow decides on a rollback first`,
      };
    const successorRunId = session?.superseded_by ?? null;
    if (successorRunId !== null) {
      const successor = await this.get(successorRunId);
      if (successor !== undefined && !TERMINAL_STATUSES.includes(successor.status))
        return {
          ok: false,
          reason: 'handing_off',
          successorRunId,
          message: `run ${runId} is handed off to ${successorRunId}: its lock and leases pass in that run's claim`,
        };
    }
    if (session?.account_id) {
      for (const pair of new Set(session.pairs))
        await this.#releaseLease(session.account_id, pair, runId, now);
    }
    try {
      await this.#doc.send(
        new UpdateCommand({
          TableName: this.#sessionsTable,
          Key: { run_id: lockKeyOf(strategyId) },
          UpdateExpression: 'SET active_run_id = :null, released_at = :now',
          ConditionExpression: 'active_run_id = :run',
          ExpressionAttributeValues: {
            ':null': null,
            ':now': now,
            ':run': runId,
          },
          ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
        }),
      );
      return { ok: true };
    } catch (error) {
      if (!isConditionFailure(error)) throw error;
      const lock = await this.#lockAsItWas(error.Item, strategyId);
      const activeRunId = lock?.active_run_id ?? null;
      return {
        ok: false,
        reason: 'not_held',
        activeRunId,
        message: `run ${runId} does not hold the lock of ${strategyId} (held by ${activeRunId ?? 'nobody'})`,
      };
    }
  }

  /**
   * Frees a lease whose holder can no longer trade: its session is gone, or it is over and its strategy
   * lock no longer names it (the lock is freed only once its container is gone). True when freed.
   */
  async #freeOrphanedLease(
    accountId: string,
    pair: string,
    holderRunId: string,
    now: string,
  ): Promise<boolean> {
    const holder = RunIdSchema.safeParse(holderRunId).success ? await this.get(holderRunId) : undefined;
    if (holder !== undefined) {
      if (!TERMINAL_STATUSES.includes(holder.status)) return false;
      if ((await this.getLock(holder.strategy_id))?.active_run_id === holderRunId) return false;
    }
    await this.#releaseLease(accountId, pair, holderRunId, now);
    return true;
  }

  /** Only the holder frees a lease; a lease another run took since is left alone. */
  async #releaseLease(accountId: string, pair: string, runId: string, now: string): Promise<void> {
    try {
      await this.#doc.send(
        new UpdateCommand({
          TableName: this.#sessionsTable,
          Key: { run_id: leaseKeyOf(accountId, pair) },
          UpdateExpression: 'SET holder_run_id = :null, holder_strategy_id = :null, released_at = :now',
          ConditionExpression: 'item_type = :lease AND holder_run_id = :run',
          ExpressionAttributeValues: { ':null': null, ':now': now, ':run': runId, ':lease': 'account_lease' },
        }),
      );
    } catch (error) {
      if (!isConditionFailure(error)) throw error;
    }
  }

  async getAccountLease(accountIdRaw: string, pairRaw: string): Promise<AccountLease | undefined> {
    const accountId = parseInput(AccountIdSchema, accountIdRaw, 'account_id');
    const pair = parseInput(z.string().min(1).max(64), pairRaw, 'pair');
    const result = await this.#doc.send(
      new GetCommand({
        TableName: this.#sessionsTable,
        Key: { run_id: leaseKeyOf(accountId, pair) },
        ConsistentRead: true,
      }),
    );
    return result.Item === undefined
      ? undefined
      : parseStored(AccountLeaseSchema, result.Item, 'account lease');
  }

  async appendHistory(raw: readonly HistoryEntry[]): Promise<void> {
    const entries = parseInput(z.array(HistoryEntrySchema).max(1000), raw, 'history entries');
    for (let start = 0; start < entries.length; start += BATCH_WRITE_MAX) {
      let requests = entries.slice(start, start + BATCH_WRITE_MAX).map((entry) => ({
        PutRequest: {
          Item: { ...entry, ttl: Math.floor(Date.parse(entry.recorded_at) / 1000) + this.#historyTtlS },
        },
      }));
      // DynamoDB may hand back part of a batch under load; keep what it did not take, never drop it.
      for (let attempt = 0; requests.length > 0; attempt += 1) {
        if (attempt > 0)
          await new Promise((resolve) => setTimeout(resolve, Math.min(1000, 25 * 2 ** attempt)));
        if (attempt > 8) throw new Error(`history write for ${requests.length} entries did not complete`);
        const result = await this.#doc.send(
          new BatchWriteCommand({ RequestItems: { [this.#metricsTable]: requests } }),
        );
        requests = (result.UnprocessedItems?.[this.#metricsTable] ?? []) as typeof requests;
      }
    }
  }

  async readHistory(runIdRaw: string, query: HistoryQuery = {}): Promise<Page<HistoryEntry>> {
    const runId = parseInput(RunIdSchema, runIdRaw, 'run_id');
    const request = parseInput(HistoryQuerySchema, query, 'history query');
    const result = await this.#doc.send(
      new QueryCommand({
        TableName: this.#metricsTable,
        KeyConditionExpression: 'run_id = :run AND recorded_at BETWEEN :from AND :to',
        ExpressionAttributeValues: {
          ':run': runId,
          ':from': request.from ?? '0000',
          ':to': request.to ?? '9999',
        },
        Limit: request.limit ?? 500,
        ExclusiveStartKey: decodeCursor(request.cursor),
      }),
    );
    const cursor = encodeCursor(result.LastEvaluatedKey);
    const items = (result.Items ?? []).map((item) => parseStored(HistoryEntrySchema, item, 'history entry'));
    return cursor === undefined ? { items } : { items, cursor };
  }

  /**
   * Every start's transaction checks the one fleet scope item, so concurrent starts can conflict on it
   * (TransactionConflict: nothing written); such a cancellation is retried, bounded, with jitter.
   */
  async #sendRetryingConflicts(command: TransactWriteCommand): Promise<void> {
    for (let attempt = 0; ; attempt += 1) {
      try {
        await this.#doc.send(command);
        return;
      } catch (error) {
        const reasons = isTransactionCancelled(error) ? (error.CancellationReasons ?? []) : [];
        const conflictOnly =
          reasons.some((reason) => reason?.Code === 'TransactionConflict') &&
          !reasons.some((reason) => reason?.Code === 'ConditionalCheckFailed');
        if (!conflictOnly || attempt >= 10) throw error;
        await new Promise((resolve) => setTimeout(resolve, Math.random() * 10 * 2 ** Math.min(attempt, 5)));
      }
    }
  }

  /** A transaction item that holds only while the scope is active (or was never changed). */
  #scopeActiveCheck(scope: ScopeRef) {
    return {
      ConditionCheck: {
        TableName: this.#sessionsTable,
        Key: { run_id: scopeKeyOf(scope) },
        ConditionExpression: 'attribute_not_exists(run_id) OR #state = :active',
        ExpressionAttributeNames: { '#state': 'state' },
        ExpressionAttributeValues: { ':active': 'active' },
      },
    };
  }

  async getTradingScope(scope: ScopeRef): Promise<TradingScope> {
    const key = parseInput(ScopeKeySchema, scopeKeyOf(scope), 'scope');
    const result = await this.#doc.send(
      new GetCommand({ TableName: this.#sessionsTable, Key: { run_id: key }, ConsistentRead: true }),
    );
    return result.Item === undefined
      ? neverChangedScope(scope)
      : parseStored(TradingScopeSchema, result.Item, 'trading scope');
  }

  async listTradingScopes(): Promise<TradingScope[]> {
    const items = await this.#queryEveryPage({
      TableName: this.#sessionsTable,
      IndexName: STRATEGY_LOCK_INDEX,
      KeyConditionExpression: 'lock_scope = :scope',
      ExpressionAttributeValues: { ':scope': TRADING_SCOPE_PARTITION },
    });
    const scopes = items.map((item) => parseStored(TradingScopeSchema, item, 'trading scope'));
    // The fleet first, then accounts by id: a stable order for GET /fleet/state.
    return scopes.sort((a, b) =>
      a.run_id === FLEET_SCOPE_KEY ? -1 : b.run_id === FLEET_SCOPE_KEY ? 1 : a.run_id.localeCompare(b.run_id),
    );
  }

  async changeTradingScope(raw: ScopeChange): Promise<ScopeChangeResult> {
    const change = parseInput(ScopeChangeSchema, raw, 'scope change');
    const scope: ScopeRef =
      change.scope.kind === 'fleet' ? FLEET : { kind: 'account', account_id: change.scope.account_id };
    const previous = await this.getTradingScope(scope);
    const from = scopePredecessorsOf(change.to);
    const next: TradingScope = {
      ...neverChangedScope(scope),
      state: change.to,
      generation: change.expectedGeneration + 1,
      previous_state: previous.state,
      changed_by: change.actor,
      reason: change.reason,
      changed_at: new Date(this.#clock.now()).toISOString(),
    };
    const states: Record<string, string> = {};
    from.forEach((state, index) => {
      states[`:from${index}`] = state;
    });
    const allowedFrom = `#state IN (${Object.keys(states).join(', ')})`;
    // Generation 0 is the never-written scope, which is active.
    if (change.expectedGeneration === 0 && !from.includes('active')) {
      throw new InvalidInputError('scope change', [
        { field: 'to', message: `a scope never changed is active; it cannot move to ${change.to}` },
      ]);
    }
    const condition =
      change.expectedGeneration === 0
        ? 'attribute_not_exists(run_id)'
        : `#generation = :expected AND ${allowedFrom}`;
    try {
      await this.#doc.send(
        new PutCommand({
          TableName: this.#sessionsTable,
          Item: next,
          ConditionExpression: condition,
          ...(change.expectedGeneration === 0
            ? {}
            : {
                ExpressionAttributeNames: { '#state': 'state', '#generation': 'generation' },
                ExpressionAttributeValues: { ...states, ':expected': change.expectedGeneration },
              }),
        }),
      );
      return { ok: true, scope: next, previous };
    } catch (error) {
      if (!isConditionFailure(error)) throw error;
      const current = await this.getTradingScope(scope);
      return {
        ok: false,
        reason: 'conflict',
        current,
        message: `the ${current.run_id} is now ${current.state} at generation ${current.generation} (by ${current.changed_by}: ${current.reason}); it was read at generation ${change.expectedGeneration}`,
      };
    }
  }

  async holdForScope(runIdRaw: string, scopeKeyRaw: string): Promise<UpdateResult> {
    const runId = parseInput(RunIdSchema, runIdRaw, 'run_id');
    const scopeKey = parseInput(ScopeKeySchema, scopeKeyRaw, 'scope');
    const open = inList(
      'w',
      ACTIVE_STATUSES.filter((status) => status !== 'stopping'),
    );
    const now = new Date(this.#clock.now()).toISOString();
    const values = { ...open.values, ':key': scopeKey, ':keyList': [scopeKey] };
    // Running: pause it and become its first hold.
    const paused = setClause(
      { desired_state: 'paused', desired_state_changed_at: now, updated_at: now, scope_cause: scopeKey },
      ['scope_holds = list_append(if_not_exists(scope_holds, :empty), :keyList)'],
    );
    const first = await this.#updateSession(runId, {
      set: paused,
      condition: `${open.expression} AND desired_state = :running AND NOT contains(scope_holds, :key)`,
      values: { ...values, ':running': 'running', ':empty': [] },
    });
    if (first.ok) return first;
    // Already paused by another scope: join its holds, so it resumes only once every holding scope has.
    const joined = await this.#updateSession(runId, {
      set: setClause({ updated_at: now }, ['scope_holds = list_append(scope_holds, :keyList)']),
      condition: `${open.expression} AND desired_state = :paused AND ${HOLDS_ANY} AND NOT contains(scope_holds, :key)`,
      values: { ...values, ':paused': 'paused', ':zero': 0 },
    });
    if (joined.ok) return joined;
    const current = joined.current;
    if (current === undefined) return { ok: false, reason: 'not_found', message: `no session ${runId}` };
    if ((current.scope_holds ?? []).includes(scopeKey)) return { ok: true, session: current };
    return {
      ok: false,
      reason: 'not_allowed',
      current: current.status,
      message: `session ${runId} is ${current.status} with desired state ${current.desired_state}`,
    };
  }

  async stopForScope(runId: string, scopeKeyRaw: string, reason: string): Promise<UpdateResult> {
    const scopeKey = parseInput(ScopeKeySchema, scopeKeyRaw, 'scope');
    const result = await this.transition(runId, 'stopping', {
      patch: {
        desired_state: 'stopped',
        flatten_on_stop: true,
        status_reason: reason,
        scope_cause: scopeKey,
      },
    });
    return result.ok ? { ok: true, session: result.session } : result;
  }

  async releaseScopeHold(runIdRaw: string, scopeKeyRaw: string, resume: boolean): Promise<UpdateResult> {
    const runId = parseInput(RunIdSchema, runIdRaw, 'run_id');
    const scopeKey = parseInput(ScopeKeySchema, scopeKeyRaw, 'scope');
    const open = inList(
      'w',
      ACTIVE_STATUSES.filter((status) => status !== 'stopping'),
    );
    const now = new Date(this.#clock.now()).toISOString();
    if (resume) {
      const set = setClause({
        desired_state: 'running',
        desired_state_changed_at: now,
        updated_at: now,
        scope_cause: scopeKey,
      });
      const resumed = await this.#updateSession(runId, {
        set: { ...set, expression: `${set.expression} REMOVE scope_holds` },
        condition: `${open.expression} AND desired_state = :paused AND attribute_exists(scope_holds) AND size(scope_holds) = :one AND contains(scope_holds, :key)`,
        values: { ...open.values, ':paused': 'paused', ':one': 1, ':key': scopeKey },
      });
      if (resumed.ok) return resumed;
    }
    // Only the hold goes: the list index read is checked in the write, so a concurrent change refuses it.
    for (let attempt = 0; attempt < 3; attempt += 1) {
      const current = await this.get(runId);
      if (current === undefined) return { ok: false, reason: 'not_found', message: `no session ${runId}` };
      const index = (current.scope_holds ?? []).indexOf(scopeKey);
      if (index === -1) return { ok: true, session: current };
      const set = setClause({ updated_at: now });
      const removed = await this.#updateSession(runId, {
        set: { ...set, expression: `${set.expression} REMOVE scope_holds[${index}]` },
        condition: `attribute_exists(#status) AND scope_holds[${index}] = :key`,
        values: { ':key': scopeKey },
      });
      if (removed.ok) return removed;
    }
    return { ok: false, reason: 'not_allowed', message: `session ${runId}: its scope holds kept changing` };
  }

  async resumeIfScopesActive(
    runIdRaw: string,
    // As setDesiredState: a resume's reason goes to the audit record, not to the status reason.
    _reason: string | null,
    scopes: readonly ScopeRef[],
  ): Promise<ScopedResumeResult> {
    const runId = parseInput(RunIdSchema, runIdRaw, 'run_id');
    const open = inList(
      'w',
      ACTIVE_STATUSES.filter((status) => status !== 'stopping'),
    );
    const now = new Date(this.#clock.now()).toISOString();
    const set = setClause({
      desired_state: 'running',
      desired_state_changed_at: now,
      updated_at: now,
      scope_cause: null,
    });
    try {
      await this.#doc.send(
        new TransactWriteCommand({
          TransactItems: [
            {
              Update: {
                TableName: this.#sessionsTable,
                Key: { run_id: runId },
                // The operator's resume owns the intent from now on: no scope's hold is left on it.
                UpdateExpression: `${set.expression} REMOVE scope_holds`,
                ConditionExpression: `item_type = :session AND ${open.expression} AND (#s_desired_state <> :s_desired_state OR ${HOLDS_ANY})`,
                ExpressionAttributeNames: { '#status': 'status', ...set.names },
                ExpressionAttributeValues: {
                  ...set.values,
                  ...open.values,
                  ':session': 'session',
                  ':zero': 0,
                },
              },
            },
            ...scopes.map((scope) => this.#scopeActiveCheck(scope)),
          ],
        }),
      );
    } catch (error) {
      if (!isTransactionCancelled(error)) throw error;
      const [sessionReason, ...scopeReasons] = error.CancellationReasons ?? [];
      const refusedBy = scopeReasons.findIndex((item) => item?.Code === 'ConditionalCheckFailed');
      if (refusedBy !== -1) {
        return this.#scopeNotActive(scopes[refusedBy] as ScopeRef);
      }
      if (sessionReason?.Code !== 'ConditionalCheckFailed') throw error;
      const current = await this.get(runId);
      if (current === undefined) return { ok: false, reason: 'not_found', message: `no session ${runId}` };
      if (ACTIVE_STATUSES.includes(current.status) && current.status !== 'stopping')
        return { ok: true, session: current };
      return {
        ok: false,
        reason: 'not_allowed',
        current: current.status,
        message: `session ${runId} is ${current.status}`,
      };
    }
    const resumed = await this.get(runId);
    if (resumed === undefined) return { ok: false, reason: 'not_found', message: `no session ${runId}` };
    return { ok: true, session: resumed };
  }

  #parseSession(item: unknown): Session {
    return parseStored(SessionSchema, item, 'session');
  }
}
