import {
  type DynamoDBDocumentClient,
  GetCommand,
  QueryCommand,
  TransactWriteCommand,
  type TransactWriteCommandInput,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import {
  type AccountAggregate,
  type AccountBudgetStore,
  type BudgetContribution,
  BudgetContributionSchema,
  type ContributionChange,
  contributionDelta,
  forgottenPnlKeys,
  type PutBudgetResult,
  type StoredAccountBudget,
  StoredAccountBudgetSchema,
  sumDeltas,
} from '../../domain/account-budget';
import { type Clock, systemClock } from '../../domain/clock';
import { parseInput, parseStored, TradaiError } from '../../domain/errors';
import { AccountIdSchema } from '../../domain/session';

/** The aggregate's own item; every session's contribution sits beside it under `run#<run id>`. */
export const AGGREGATE_KEY = 'account';
const contributionKeyOf = (runId: string) => `run#${runId}`;

/** The figures are top-level attributes (ADD works only there), named by the domain's total keys. */
const isFigure = (name: string) => name.startsWith('exposure#') || name.startsWith('pnl#');

/** TransactWriteItems' limit: the aggregate plus 99 contributions. */
const MAX_CHANGES_PER_WRITE = 99;
/** A write refused because another batch moved a contribution first is retried from what it found. */
const MAX_ATTEMPTS = 4;
/** Finished sessions' contributions are kept a while (their day's losses still count), then expire. */
const FINISHED_TTL_S = 3 * 86_400;

export class AccountAggregateConflictError extends TradaiError {
  constructor(accountId: string, attempts: number) {
    super(`account ${accountId}: aggregate still contended after ${attempts} attempts`);
    this.name = 'AccountAggregateConflictError';
  }
}

type WireItem = Parameters<typeof unmarshall>[0];
type Cancelled = Error & { CancellationReasons?: { Code?: string; Item?: WireItem }[] };
const isTransactionCancelled = (error: unknown): error is Cancelled =>
  error instanceof Error && error.name === 'TransactionCanceledException';

const figuresOf = (item: Record<string, unknown> | undefined): Record<string, number> => {
  const figures: Record<string, number> = {};
  for (const [name, value] of Object.entries(item ?? {}))
    if (isFigure(name) && typeof value === 'number') figures[name] = value;
  return figures;
};

/**
 * Table `tradai-account-budgets-{stage}`: PK `account_id`, SK `item_key`. One aggregate item per account
 * (`account`: the budget and the running totals) and one contribution per session (`run#<run id>`), so an
 * account's sessions are one Query (on a breach) and a batch's update is one transaction per account.
 */
export class DynamoAccountBudgetStore implements AccountBudgetStore {
  readonly #doc: DynamoDBDocumentClient;
  readonly #table: string;
  readonly #clock: Clock;

  constructor(doc: DynamoDBDocumentClient, options: { budgetsTable: string; clock?: Clock }) {
    this.#doc = doc;
    this.#table = options.budgetsTable;
    this.#clock = options.clock ?? systemClock;
  }

  async getAggregate(accountIdRaw: string): Promise<AccountAggregate> {
    const accountId = parseInput(AccountIdSchema, accountIdRaw, 'account id');
    const { Item } = await this.#doc.send(
      new GetCommand({
        TableName: this.#table,
        Key: { account_id: accountId, item_key: AGGREGATE_KEY },
        ConsistentRead: true,
      }),
    );
    return {
      account_id: accountId,
      budget:
        Item?.budget === undefined
          ? undefined
          : parseStored(StoredAccountBudgetSchema, Item.budget, `budget of account ${accountId}`),
      figures: figuresOf(Item),
    };
  }

  async applyChanges(
    accountIdRaw: string,
    changes: readonly ContributionChange[],
  ): Promise<AccountAggregate> {
    const accountId = parseInput(AccountIdSchema, accountIdRaw, 'account id');
    for (let start = 0; start < changes.length; start += MAX_CHANGES_PER_WRITE)
      await this.#applyChunk(accountId, changes.slice(start, start + MAX_CHANGES_PER_WRITE));
    return this.getAggregate(accountId);
  }

  async #applyChunk(accountId: string, chunk: readonly ContributionChange[]): Promise<void> {
    let pending = chunk.map((change) => ({
      counted: change.counted,
      next: parseInput(BudgetContributionSchema, change.next, 'budget contribution'),
    }));
    for (let attempt = 1; attempt <= MAX_ATTEMPTS; attempt += 1) {
      if (pending.length === 0) return;
      try {
        await this.#doc.send(new TransactWriteCommand({ TransactItems: this.#writeOf(accountId, pending) }));
        return;
      } catch (error) {
        if (!isTransactionCancelled(error)) throw error;
        const reasons = error.CancellationReasons ?? [];
        // Another shard's batch wrote the aggregate at the same instant: back off a little, then again.
        if (reasons.some((reason) => reason?.Code === 'TransactionConflict'))
          await new Promise((resolve) => setTimeout(resolve, 10 * attempt + Math.random() * 40));
        // Each refused contribution was not what its old image said: counted already (a redelivery, or
        // a newer record got there first) or counted differently (a record lost upstream). Start from
        // what is stored instead; the aggregate stays exact either way.
        pending = pending.flatMap((change, index) => {
          const reason = reasons[index];
          if (reason?.Code !== 'ConditionalCheckFailed') return [change];
          const stored =
            reason.Item === undefined
              ? null
              : parseStored(
                  BudgetContributionSchema,
                  // The document client leaves a cancellation's items in wire form.
                  unmarshall(reason.Item),
                  `contribution of ${change.next.run_id}`,
                );
          if (stored !== null && stored.version >= change.next.version) return [];
          return [{ counted: stored, next: change.next }];
        });
      }
    }
    throw new AccountAggregateConflictError(accountId, MAX_ATTEMPTS);
  }

  #writeOf(
    accountId: string,
    changes: readonly ContributionChange[],
  ): NonNullable<TransactWriteCommandInput['TransactItems']> {
    const nowMs = this.#clock.now();
    const delta = sumDeltas(changes.map((change) => contributionDelta(change.counted, change.next)));
    const names: Record<string, string> = { '#updated': 'updated_at' };
    const values: Record<string, unknown> = { ':now': new Date(nowMs).toISOString() };
    const adds = Object.entries(delta).map(([key, amount], index) => {
      names[`#f${index}`] = key;
      values[`:f${index}`] = amount;
      return `#f${index} :f${index}`;
    });
    const removes = forgottenPnlKeys(changes, Object.keys(delta)).map((key, index) => {
      names[`#r${index}`] = key;
      return `#r${index}`;
    });
    const aggregate = {
      Update: {
        TableName: this.#table,
        Key: { account_id: accountId, item_key: AGGREGATE_KEY },
        UpdateExpression: [
          'SET #updated = :now',
          ...(adds.length > 0 ? [`ADD ${adds.join(', ')}`] : []),
          ...(removes.length > 0 ? [`REMOVE ${removes.join(', ')}`] : []),
        ].join(' '),
        ExpressionAttributeNames: names,
        ExpressionAttributeValues: values,
      },
    };
    const contributions = changes.map(({ counted, next }) => {
      const names: Record<string, string> = { '#version': 'version' };
      const values: Record<string, unknown> = {};
      let condition = 'attribute_not_exists(#version)';
      if (counted !== null) {
        // What the old image counted must be what is stored, and this record newer than it.
        Object.assign(names, {
          '#day': 'day',
          '#currency': 'currency',
          '#pnl': 'pnl_today',
          '#exposure': 'exposure',
        });
        Object.assign(values, {
          ':version': next.version,
          ':day': counted.day,
          ':currency': counted.currency,
          ':pnl': counted.pnl_today,
          ':exposure': counted.exposure,
        });
        condition =
          '#version < :version AND #day = :day AND #currency = :currency AND #pnl = :pnl AND #exposure = :exposure';
      }
      return {
        Put: {
          TableName: this.#table,
          Item: {
            ...next,
            item_key: contributionKeyOf(next.run_id),
            // A finished session adds no more figures: its item goes once its day is long over.
            ...(next.finished ? { ttl: Math.floor(nowMs / 1000) + FINISHED_TTL_S } : {}),
          },
          ConditionExpression: condition,
          ExpressionAttributeNames: names,
          ...(counted === null ? {} : { ExpressionAttributeValues: values }),
          ReturnValuesOnConditionCheckFailure: 'ALL_OLD' as const,
        },
      };
    });
    // Contributions first: a cancellation's reasons then line up with `changes` by index.
    return [...contributions, aggregate];
  }

  async contributionsOf(accountIdRaw: string): Promise<BudgetContribution[]> {
    const accountId = parseInput(AccountIdSchema, accountIdRaw, 'account id');
    const contributions: BudgetContribution[] = [];
    let cursor: Record<string, unknown> | undefined;
    do {
      const page = await this.#doc.send(
        new QueryCommand({
          TableName: this.#table,
          KeyConditionExpression: 'account_id = :account AND begins_with(item_key, :run)',
          ExpressionAttributeValues: { ':account': accountId, ':run': 'run#' },
          ExclusiveStartKey: cursor,
        }),
      );
      for (const item of page.Items ?? [])
        contributions.push(
          parseStored(BudgetContributionSchema, item, `contribution ${String(item.item_key)}`),
        );
      cursor = page.LastEvaluatedKey;
    } while (cursor !== undefined);
    return contributions;
  }

  async putBudget(
    accountIdRaw: string,
    raw: StoredAccountBudget,
    expectedUpdatedAt: string | null,
  ): Promise<PutBudgetResult> {
    const accountId = parseInput(AccountIdSchema, accountIdRaw, 'account id');
    const budget = parseInput(StoredAccountBudgetSchema, raw, 'account budget');
    const budgetOf = (item: Record<string, unknown> | undefined) =>
      item?.budget === undefined
        ? undefined
        : parseStored(StoredAccountBudgetSchema, item.budget, `budget of account ${accountId}`);
    try {
      const { Attributes } = await this.#doc.send(
        new UpdateCommand({
          TableName: this.#table,
          Key: { account_id: accountId, item_key: AGGREGATE_KEY },
          UpdateExpression: 'SET #budget = :budget',
          ConditionExpression:
            expectedUpdatedAt === null ? 'attribute_not_exists(#budget)' : '#budget.updated_at = :expected',
          ExpressionAttributeNames: { '#budget': 'budget' },
          ExpressionAttributeValues: {
            ':budget': budget,
            ...(expectedUpdatedAt === null ? {} : { ':expected': expectedUpdatedAt }),
          },
          ReturnValues: 'ALL_OLD',
          ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
        }),
      );
      return { ok: true, previous: budgetOf(Attributes) };
    } catch (error) {
      if (!(error instanceof Error && error.name === 'ConditionalCheckFailedException')) throw error;
      const item = (error as Error & { Item?: WireItem }).Item;
      const current =
        item === undefined ? (await this.getAggregate(accountId)).budget : budgetOf(unmarshall(item));
      return {
        ok: false,
        reason: 'conflict',
        current,
        message: `the budget of account ${accountId} changed meanwhile (now set at ${current?.updated_at ?? 'never'} by ${current?.updated_by ?? 'nobody'})`,
      };
    }
  }
}
