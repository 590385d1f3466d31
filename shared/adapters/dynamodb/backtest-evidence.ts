import { type DynamoDBDocumentClient, QueryCommand } from '@aws-sdk/lib-dynamodb';
import * as z from 'zod';
import {
  type BacktestEvidence,
  type BacktestEvidenceSource,
  BacktestSummarySchema,
} from '../../domain/model-promotion';
import { batchGetByRunId } from './batch-get';
import { decodeCursor, encodeCursor } from './cursor';
import { STATUS_INDEX } from './session-store';

/** The fields of a backtest record the gate reads; the rest of the item is other services' business. */
const RecordSchema = z.object({
  run_id: z.string().min(1),
  strategy_version: z.string().nullable().optional(),
  model_version: z.union([z.string(), z.number().int()]).transform(String).nullable().optional(),
  completed_at: z.string().nullable().optional(),
  backtest_summary: z.unknown().optional(),
});

const RECORD_ATTRIBUTES = Object.keys(RecordSchema.shape);

export interface BacktestEvidenceOptions {
  sessionsTable: string;
  /** Bound on the records read per promotion (completed one-shots expire after 7 days, seed §6). */
  maxRecords?: number;
}

/**
 * Completed backtest records of the unified table (seed §6), newest first, through the status index: our
 * own backtest sessions and the records other TradAI services write (no `item_type`), alike. The index
 * projects what the filter reads, not the summary, so the matching records are read by key (consistent:
 * a record the index shows completed has its summary in the table). A summary that does not parse counts
 * as not recorded, so a floor fails on it rather than passing.
 */
export class DynamoBacktestEvidence implements BacktestEvidenceSource {
  readonly #doc: DynamoDBDocumentClient;
  readonly #table: string;
  readonly #max: number;

  constructor(doc: DynamoDBDocumentClient, options: BacktestEvidenceOptions) {
    this.#doc = doc;
    this.#table = options.sessionsTable;
    this.#max = options.maxRecords ?? 500;
  }

  async completedBacktests(strategyName: string): Promise<BacktestEvidence[]> {
    const found: BacktestEvidence[] = [];
    let cursor: string | undefined;
    let read = 0;
    do {
      const page = await this.#doc.send(
        new QueryCommand({
          TableName: this.#table,
          IndexName: STATUS_INDEX,
          KeyConditionExpression: '#status = :completed',
          FilterExpression: 'workflow_type = :backtest AND strategy_name = :name',
          ExpressionAttributeNames: { '#status': 'status' },
          ExpressionAttributeValues: {
            ':completed': 'completed',
            ':backtest': 'backtest',
            ':name': strategyName,
          },
          ScanIndexForward: false,
          Limit: 100,
          ExclusiveStartKey: decodeCursor(cursor),
        }),
      );
      read += page.ScannedCount ?? 0;
      const runIds = (page.Items ?? []).flatMap((key) =>
        typeof key.run_id === 'string' ? [key.run_id] : [],
      );
      const records = await batchGetByRunId(this.#doc, {
        table: this.#table,
        runIds,
        consistent: true,
        attributes: RECORD_ATTRIBUTES,
        what: 'backtest records',
      });
      for (const runId of runIds) {
        const parsed = RecordSchema.safeParse(records.get(runId));
        if (!parsed.success) continue;
        const summary = BacktestSummarySchema.safeParse(parsed.data.backtest_summary);
        found.push({
          run_id: parsed.data.run_id,
          strategy_version: parsed.data.strategy_version ?? null,
          model_version: parsed.data.model_version ?? null,
          completed_at: parsed.data.completed_at ?? null,
          summary: summary.success ? summary.data : null,
        });
      }
      cursor = encodeCursor(page.LastEvaluatedKey);
    } while (cursor !== undefined && read < this.#max);
    return found;
  }
}
