import { type DynamoDBDocumentClient, PutCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import * as z from 'zod';
import {
  type AuditEntry,
  AuditEntrySchema,
  type AuditLog,
  type AuditRecord,
  AuditRecordSchema,
  auditKeyOf,
} from '../../domain/audit';
import { parseInput, parseStored } from '../../domain/errors';
import { StrategyIdSchema } from '../../domain/session';
import type { Page, PageRequest } from '../../domain/session-store';
import { ScopeKeySchema } from '../../domain/trading-scope';
import { decodeCursor, encodeCursor } from './cursor';

const PageRequestSchema = z.strictObject({
  limit: z.number().int().min(1).max(1000).optional(),
  cursor: z.string().max(4096).optional(),
});

/** Table `tradai-audit-{stage}`: PK strategy_id, SK at_run_id (`<at>#<run_id>#<request_id>`). */
export class DynamoAuditLog implements AuditLog {
  readonly #doc: DynamoDBDocumentClient;
  readonly #table: string;

  constructor(doc: DynamoDBDocumentClient, options: { auditTable: string }) {
    this.#doc = doc;
    this.#table = options.auditTable;
  }

  async record(raw: AuditEntry): Promise<void> {
    const entry = parseInput(AuditEntrySchema, raw, 'audit entry');
    const item: AuditRecord = { ...entry, at_run_id: auditKeyOf(entry) };
    await this.#doc.send(
      new PutCommand({
        TableName: this.#table,
        Item: item,
        // Append-only: a record, once written, is never replaced.
        ConditionExpression: 'attribute_not_exists(at_run_id)',
      }),
    );
  }

  async listByStrategy(
    strategyIdRaw: string,
    page: PageRequest = {},
    options: { newestFirst?: boolean } = {},
  ): Promise<Page<AuditRecord>> {
    // A scope's halts and resumes are kept under its key (scope#fleet, scope#account#<id>).
    const strategyId = parseInput(z.union([StrategyIdSchema, ScopeKeySchema]), strategyIdRaw, 'strategy_id');
    const request = parseInput(PageRequestSchema, page, 'page');
    const result = await this.#doc.send(
      new QueryCommand({
        TableName: this.#table,
        KeyConditionExpression: 'strategy_id = :strategy',
        ExpressionAttributeValues: { ':strategy': strategyId },
        Limit: request.limit ?? 100,
        ScanIndexForward: options.newestFirst !== true,
        ExclusiveStartKey: decodeCursor(request.cursor),
      }),
    );
    const cursor = encodeCursor(result.LastEvaluatedKey);
    const items = (result.Items ?? []).map((item) => parseStored(AuditRecordSchema, item, 'audit record'));
    return cursor === undefined ? { items } : { items, cursor };
  }
}
