/**
 * Session records on any DynamoDB endpoint (the SDK's own AWS_ENDPOINT_URL_DYNAMODB, else AWS), for
 * running one agent by hand (README, "Running the agent"):
 *   npm run -s session -- create --strategy-id demo-momentum --strategy MomentumStrategy [--mode dry-run] [--stage dev]
 *   npm run -s session -- show --run-id <run id> [--stage dev]
 * `create` prints the new run id; `show` prints the session item as JSON.
 */
import { randomBytes } from 'node:crypto';
import * as z from 'zod';
import { parseCommandLine } from '../local/cli';
import { createDocumentClient } from '../shared/adapters/dynamodb/client';
import { DynamoSessionStore } from '../shared/adapters/dynamodb/session-store';
import {
  newRunId,
  RunIdSchema,
  StrategyIdSchema,
  TradingModeSchema,
  validateDeploymentBounds,
} from '../shared/domain';

const ArgsSchema = z.discriminatedUnion('command', [
  z.object({
    command: z.literal('create'),
    'strategy-id': StrategyIdSchema,
    strategy: z.string().min(1).max(128),
    mode: TradingModeSchema.refine((mode) => mode !== 'live', 'live sessions are started through the API'),
    stage: z.string().min(1),
  }),
  z.object({ command: z.literal('show'), 'run-id': RunIdSchema, stage: z.string().min(1) }),
]);

const { values, positionals } = parseCommandLine({
  usage: `
Usage: npm run -s session -- create --strategy-id <id> [--strategy MomentumStrategy] [--mode dry-run] [--stage dev]
       npm run -s session -- show --run-id <run id> [--stage dev]
  Session records on the SDK's DynamoDB endpoint (AWS_ENDPOINT_URL_DYNAMODB, else AWS), to run one agent by
  hand. create prints the new run id (never live: live sessions start through the API); show prints the item.
  -h, --help            this text
`,
  allowPositionals: true,
  options: {
    'strategy-id': { type: 'string' },
    strategy: { type: 'string', default: 'MomentumStrategy' },
    mode: { type: 'string', default: 'dry-run' },
    stage: { type: 'string', default: 'dev' },
    'run-id': { type: 'string' },
  },
});
const parsed = ArgsSchema.safeParse({ ...values, command: positionals[0] });
if (!parsed.success) {
  console.error(
    parsed.error.issues.map((issue) => `${issue.path.join('.') || 'command'}: ${issue.message}`).join('\n'),
  );
  process.exit(2);
}
const args = parsed.data;
const doc = createDocumentClient();
const store = new DynamoSessionStore(doc, {
  sessionsTable: `tradai-workflow-state-${args.stage}`,
  metricsTable: `tradai-session-metrics-${args.stage}`,
});
if (args.command === 'create') {
  const bounds = validateDeploymentBounds(undefined, args.mode);
  if (!bounds.ok) throw new Error('default limits must pass the deployment bounds');
  const runId = newRunId(args.mode, args['strategy-id'], Date.now(), randomBytes(4).toString('hex'));
  const result = await store.createSession({
    run_id: runId,
    strategy_id: args['strategy-id'],
    strategy_name: args.strategy,
    trading_mode: args.mode,
    risk_limits: bounds.limits,
    requested_by: 'scripts/session.ts',
    trace_id: runId,
    reason: 'created by hand to run one agent',
  });
  if (!result.ok) {
    console.error(result.message);
    process.exit(1);
  }
  console.log(runId);
} else {
  const session = await store.get(args['run-id']);
  if (session === undefined) {
    console.error(`no session ${args['run-id']}`);
    process.exit(1);
  }
  console.log(JSON.stringify(session, null, 2));
}
doc.destroy();
