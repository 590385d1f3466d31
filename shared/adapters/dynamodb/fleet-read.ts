import {
  type DynamoDBDocumentClient,
  QueryCommand,
  type QueryCommandInput,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import { parseStored } from '../../domain/errors';
import {
  FLEET_ROW,
  type FleetRead,
  type FleetReader,
  type FleetSession,
  FleetSessionSchema,
  type LatestAlert,
} from '../../domain/fleet';
import { withLiveness } from '../../domain/heartbeat';
import { LOCK_SCOPE, type StrategyLock, StrategyLockSchema } from '../../domain/session-store';
import { batchGetByRunId } from './batch-get';
import { readBeats } from './beats';

/** Sparse GSI of the sessions table: PK `fleet_row` (only on each strategy's current session), SK strategy_id. */
export const FLEET_INDEX = 'fleet-index';
const STRATEGY_LOCK_INDEX = 'strategy-lock-index';

/**
 * What the fleet index projects besides its keys and the table's (run_id, fleet_row, strategy_id): the
 * INCLUDE list in serverless.yml, held equal to this by a test.
 */
export const FLEET_PROJECTED_ATTRIBUTES = Object.keys(FleetSessionSchema.shape).filter(
  (name) => name !== 'run_id' && name !== 'strategy_id',
);

/** 10,000 strategies at most per read, as GET /strategies; pages are DynamoDB's 1 MB each. */
const MAX_PAGES = 20;

const queryAll = async (
  doc: DynamoDBDocumentClient,
  input: QueryCommandInput,
): Promise<{ items: Record<string, unknown>[]; truncated: boolean }> => {
  const items: Record<string, unknown>[] = [];
  let start: Record<string, unknown> | undefined;
  let pages = 0;
  do {
    const page = await doc.send(new QueryCommand({ ...input, ExclusiveStartKey: start }));
    items.push(...(page.Items ?? []));
    start = page.LastEvaluatedKey;
    pages += 1;
  } while (start !== undefined && pages < MAX_PAGES);
  return { items, truncated: start !== undefined };
};

/**
 * The fleet in two Queries, run at once, then the active rows' beats (one BatchGetItem per 100): the fleet index (each strategy's current session, small items)
 * and the strategy-lock index (which run is current, the source of truth, and the strategy's last alert). A strategy whose current run has
 * no row (written before the index existed, or a row not yet demoted after a race) is read by key, with
 * the same projection: correct always, and as cheap as the index once every current session carries it.
 */
export class DynamoFleetReader implements FleetReader {
  readonly #doc: DynamoDBDocumentClient;
  readonly #table: string;

  constructor(doc: DynamoDBDocumentClient, options: { sessionsTable: string }) {
    this.#doc = doc;
    this.#table = options.sessionsTable;
  }

  async readFleet(): Promise<FleetRead> {
    const [rows, locks] = await Promise.all([
      queryAll(this.#doc, {
        TableName: this.#table,
        IndexName: FLEET_INDEX,
        KeyConditionExpression: 'fleet_row = :row',
        ExpressionAttributeValues: { ':row': FLEET_ROW },
      }),
      queryAll(this.#doc, {
        TableName: this.#table,
        IndexName: STRATEGY_LOCK_INDEX,
        KeyConditionExpression: 'lock_scope = :scope',
        ExpressionAttributeValues: { ':scope': LOCK_SCOPE },
      }),
    ]);
    const byRun = new Map<string, FleetSession>();
    for (const item of rows.items) {
      const session = parseStored(FleetSessionSchema, item, 'fleet row');
      byRun.set(session.run_id, session);
    }
    const parsedLocks = locks.items.map((item) => parseStored(StrategyLockSchema, item, 'strategy lock'));
    const currentRuns = parsedLocks.map((lock: StrategyLock) => lock.active_run_id ?? lock.last_run_id);
    const latestAlerts: LatestAlert[] = parsedLocks.flatMap((lock) =>
      lock.last_alert === undefined ? [] : [{ ...lock.last_alert, strategy_id: lock.strategy_id }],
    );
    const missing = currentRuns.filter((runId) => !byRun.has(runId));
    for (const session of await this.#readByKey(missing)) byRun.set(session.run_id, session);
    const current = currentRuns
      .map((runId) => byRun.get(runId))
      .filter((session): session is FleetSession => session !== undefined)
      .sort((a, b) => a.strategy_id.localeCompare(b.strategy_id));
    // The row's snapshot is up to a minute old; its beat says how long the agent has been silent.
    const sessions = await withLiveness(
      (runIds) =>
        readBeats(this.#doc, { table: this.#table, runIds, consistent: false, what: 'fleet read (beats)' }),
      current,
    );
    return { sessions, latestAlerts, truncated: rows.truncated || locks.truncated };
  }

  async #readByKey(runIds: readonly string[]): Promise<FleetSession[]> {
    const items = await batchGetByRunId(this.#doc, {
      table: this.#table,
      runIds,
      // Half the price of a consistent read: the fleet view is a display, and the next read refreshes it.
      consistent: false,
      attributes: Object.keys(FleetSessionSchema.shape),
      what: 'fleet read',
    });
    return [...items.values()].map((item) =>
      parseStored(FleetSessionSchema, item, 'session (fleet read by key)'),
    );
  }
}

/**
 * After a strategy's new session is created (and carries `fleet_row`), its last session leaves the fleet
 * index, so the index holds one row per strategy however many sessions a strategy has had. One UpdateItem
 * by key (createSession read the lock's last run before replacing it). Best effort by design: a row left
 * behind (a crash between the two writes, or two starts racing past a stop) costs the fleet read one item
 * and is never shown, since the lock names the current run.
 */
export const demoteFleetRow = async (
  doc: DynamoDBDocumentClient,
  table: string,
  runId: string,
): Promise<void> => {
  try {
    await doc.send(
      new UpdateCommand({
        TableName: table,
        Key: { run_id: runId },
        UpdateExpression: 'REMOVE fleet_row',
        ConditionExpression: 'attribute_exists(fleet_row)',
      }),
    );
  } catch (error) {
    if (!(error instanceof Error && error.name === 'ConditionalCheckFailedException')) throw error;
  }
};
