/**
 * `npm run demo`: against a running `npm start`, starts the demo strategy (dry-run on the Freqtrade
 * simulator) and follows it: pending -> launching -> running, then a few heartbeats. TRADAI_URL (default
 * http://127.0.0.1:$PORT or 4000) locates the cloud, which published its signing key when it started
 * (`--memory` runs too); --data signs with a data folder's key instead.
 */
import * as z from 'zod';
import { exitWithUsageError, localCloudUrl, parseCommandLine } from '../cli';
import { clientIssuer, NoIssuerKeyError } from './jwt-issuer';

const USAGE = `
Usage: npm run demo [-- options]
  Against a running npm start: starts the demo strategy (dry-run on the Freqtrade simulator) and follows
  it, pending -> launching -> running, then a few heartbeats.
  --strategy <id>       the strategy id to start (default demo-momentum)
  --heartbeats <n>      how many heartbeats to wait for (default 3)
  --data <folder>       sign with this data folder's key (default: the key the cloud published)
  -h, --help            this text
Environment: TRADAI_URL (default http://127.0.0.1:$PORT), PORT (default 4000).
`;
const { values } = parseCommandLine({
  usage: USAGE,
  options: {
    data: { type: 'string' },
    strategy: { type: 'string', default: 'demo-momentum' },
    heartbeats: { type: 'string', default: '3' },
  },
});
const baseUrl = localCloudUrl();
const heartbeatCount = z.coerce.number().int().min(0).max(1000).safeParse(values.heartbeats);
if (!heartbeatCount.success)
  exitWithUsageError(`--heartbeats must be a whole number, not ${values.heartbeats}`);
const issuer = await clientIssuer({ data: values.data, url: baseUrl }).catch((error: unknown) => {
  if (!(error instanceof NoIssuerKeyError)) throw error;
  console.error(`npm run demo: ${error.message}`);
  process.exit(1);
});
const token = await issuer.issue({
  subject: 'demo',
  scopes: ['tradai/strategies:read', 'tradai/strategies:write'],
});
const headers = { authorization: `Bearer ${token}`, 'content-type': 'application/json' };

const SessionView = z.looseObject({
  run_id: z.string(),
  status: z.string(),
  last_heartbeat: z.string().nullable(),
  heartbeat_age_s: z.number().nullable().optional(),
  metrics: z.looseObject({ pnl_today: z.number(), pnl_total: z.number() }).nullable(),
  open_trade_count: z.number().nullable().optional(),
});
const StrategyView = z.looseObject({ session: SessionView.nullable() });

const started = await fetch(`${baseUrl}/strategies/${values.strategy}/start`, {
  method: 'POST',
  headers,
  body: JSON.stringify({
    strategy: 'MomentumStrategy',
    mode: 'dry-run',
    stage: 'Production',
    reason: 'npm run demo',
  }),
}).catch((error: unknown) => {
  console.error(`cannot reach ${baseUrl}: is \`npm start\` running? (${String(error)})`);
  process.exit(1);
});
const startBody = (await started.json()) as unknown;
console.log(`POST /strategies/${values.strategy}/start -> ${started.status} ${JSON.stringify(startBody)}`);
if (started.status !== 202 && started.status !== 409) process.exit(1);

let lastStatus = '';
let lastHeartbeat: string | null = null;
let heartbeats = 0;
const deadline = Date.now() + 5 * 60_000;
let failedPolls = 0;
while (heartbeats < heartbeatCount.data && Date.now() < deadline) {
  // A poll whose connection drops (a keep-alive socket the server closed as it was reused) is asked again;
  // only a cloud that stays out of reach ends the demo, in one line.
  const polled = await fetch(`${baseUrl}/strategies/${values.strategy}`, { headers })
    .then(async (response) => StrategyView.safeParse(await response.json()))
    .catch((error: unknown) => error as Error);
  if (polled instanceof Error) {
    failedPolls += 1;
    if (failedPolls >= 3) {
      console.error(
        `lost ${baseUrl}: ${polled.message} (${String(polled.cause ?? 'no cause')}), 3 polls in a row`,
      );
      process.exit(1);
    }
    await new Promise((resolve) => setTimeout(resolve, 1000));
    continue;
  }
  failedPolls = 0;
  const view = polled;
  const session = view.success ? view.data.session : null;
  if (session !== null) {
    if (session.status !== lastStatus) {
      console.log(
        `${new Date().toISOString()}  ${session.run_id}  status ${lastStatus || '(new)'} -> ${session.status}`,
      );
      lastStatus = session.status;
    }
    if (session.last_heartbeat !== null && session.last_heartbeat !== lastHeartbeat) {
      lastHeartbeat = session.last_heartbeat;
      heartbeats += 1;
      const pnl = session.metrics
        ? `pnl today ${session.metrics.pnl_today.toFixed(2)}, total ${session.metrics.pnl_total.toFixed(2)}`
        : 'no pnl yet';
      console.log(
        `${new Date().toISOString()}  heartbeat at ${session.last_heartbeat}: ${pnl}, open trades ${session.open_trade_count ?? 0}`,
      );
    }
    if (['failed', 'stopped'].includes(session.status)) process.exit(1);
  }
  await new Promise((resolve) => setTimeout(resolve, 1000));
}
console.log(
  `\nPause, resume or stop it:\n  curl -s -X POST ${baseUrl}/strategies/${values.strategy}/pause -H "authorization: Bearer $TOKEN" -H 'content-type: application/json' -d '{"reason":"demo"}'`,
);
