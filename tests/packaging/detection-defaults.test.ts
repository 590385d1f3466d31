import { describe, expect, it } from 'vitest';
import { parseAgentEnv } from '../../container/agent/env';
import { chainPolicyFromEnv } from '../../functions/sweep/handler';
import { loadServerlessConfig } from '../../local/serverless/config';
import { functionsOf } from '../../local/serverless/functions';
import { DEFAULT_STALE_AFTER_S } from '../../shared/domain/staleness';
import { HEARTBEAT_BUCKET_S } from '../../shared/domain/sweep';
import { timingsFromEnv } from '../../shared/runtime/workflow-deps';

/** What the issue asks at default settings: a hung agent paged within 45 s end to end. */
const PAGE_WITHIN_S = 45;
/** The stream processor's share: batch window 1 s plus the invocation (bench --only stream: lag p99). */
const STREAM_MARGIN_S = 2;

const AGENT_MINIMAL_ENV = {
  STRATEGY: 'PascalStrategy',
  STRATEGY_ID: 'pascal-btc',
  RUN_ID: 'live-pascal-btc-20260101-abc',
  TRADING_MODE: 'live',
  MLFLOW_TRACKING_URI: 'http://mlflow:5000',
  EXCHANGE_SECRET_NAME: 'tradai/dev/exchange/default',
  DYNAMODB_TABLE: 'tradai-workflow-state-dev',
  ARCTICDB_S3_URI: 's3://tradai-arcticdb-dev',
  S3_CONFIG_BUCKET: 'tradai-configs-dev',
};

/** The deployed settings: the sweep's environment, and the agent's defaults plus its task definition's. */
const deployed = async () => {
  const config = await loadServerlessConfig({ stage: 'dev' });
  const sweep = functionsOf(config).find((fn) => fn.name === 'sweep');
  if (sweep === undefined) throw new Error('serverless.yml has no sweep');
  const sweepEnv = Object.fromEntries(Object.entries(sweep.environment).map(([k, v]) => [k, String(v)]));
  const task = config.resources.Resources.StrategyTaskDefinition as unknown as {
    Properties: {
      ContainerDefinitions: { Name: string; Environment?: { Name: string; Value: unknown }[] }[];
    };
  };
  const taskEnv = Object.fromEntries(
    task.Properties.ContainerDefinitions.flatMap((container) => container.Environment ?? [])
      .filter((pair) => typeof pair.Value === 'string')
      .map((pair) => [pair.Name, pair.Value as string]),
  );
  const agent = parseAgentEnv({ ...AGENT_MINIMAL_ENV, ...taskEnv });
  if (!agent.ok) throw new Error(agent.message);
  return { config, sweep, sweepEnv, agent: agent.options };
};

describe('Detection defaults: the agent, the sweep and the read API agree (a check, not a comment)', () => {
  it('the agent fails closed before the sweep marks it stale, and the stale threshold is the one the API shows', async () => {
    const { sweepEnv, agent } = await deployed();
    const staleAfterS = timingsFromEnv(sweepEnv).staleAfterS;

    expect(agent.heartbeatFailClosedS).toBeLessThan(staleAfterS);
    expect(agent.heartbeatFailClosedS).toBeGreaterThanOrEqual(2 * agent.heartbeatIntervalS);
    expect(staleAfterS).toBe(DEFAULT_STALE_AFTER_S);
  });

  it('a healthy agent is never a suspect: the heartbeat interval plus one hb_at step is within the threshold', async () => {
    const { sweepEnv, agent } = await deployed();
    const staleAfterS = timingsFromEnv(sweepEnv).staleAfterS;

    // hb_at > last heartbeat - step >= now - interval - step >= now - threshold: after the cutoff.
    expect(agent.heartbeatIntervalS + HEARTBEAT_BUCKET_S).toBeLessThanOrEqual(staleAfterS);
  });

  it(`pages a hung agent within ${PAGE_WITHIN_S} s: threshold + one chain pass + the stream, the chain re-seeded by the minute schedule`, async () => {
    const { config, sweep, sweepEnv } = await deployed();
    const staleAfterS = timingsFromEnv(sweepEnv).staleAfterS;
    const chain = chainPolicyFromEnv(sweepEnv);
    const queue = config.resources.Resources.SweepPassQueue as unknown as {
      Properties: { VisibilityTimeout: number; MessageRetentionPeriod: number };
    };

    expect(staleAfterS + chain.passEveryS + STREAM_MARGIN_S).toBeLessThanOrEqual(PAGE_WITHIN_S);
    expect(chain.passEveryS).toBeLessThanOrEqual(15);
    expect(sweep.events.some((event) => event.kind === 'schedule' && event.everyMs === 60_000)).toBe(true);
    // One pass per link, from the queue the sweep sends its links to.
    expect(sweep.events).toContainEqual(
      expect.objectContaining({ kind: 'sqs', queue: 'SweepPassQueue', batchSize: 1 }),
    );
    expect(sweep.environment.SWEEP_PASS_QUEUE_URL).toEqual({ Ref: 'SweepPassQueue' });
    // A dead chain is seen by the next minute's schedule: its silence is shorter than the schedule's period.
    expect(chain.deadAfterS).toBeLessThan(60);
    // The event source mapping refuses a visibility timeout below the function's timeout.
    expect(queue.Properties.VisibilityTimeout).toBeGreaterThanOrEqual(sweep.timeoutS);
    expect(queue.Properties.MessageRetentionPeriod).toBeGreaterThan(chain.passEveryS);
  });
});
