import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LOCAL_CREDENTIALS, LOCAL_REGION, startTestDynamo, type TestDynamo } from '../support/dynamo';

const run = promisify(execFile);
const TSX = join(process.cwd(), 'node_modules/.bin/tsx');

describe('Script: npm run session', () => {
  let test: TestDynamo;
  let stage: string;
  let env: NodeJS.ProcessEnv;
  beforeAll(async () => {
    test = await startTestDynamo();
    stage = test.tables.sessions.replace('tradai-workflow-state-', '');
    env = {
      ...process.env,
      AWS_ENDPOINT_URL_DYNAMODB: test.endpoint,
      AWS_REGION: LOCAL_REGION,
      AWS_ACCESS_KEY_ID: LOCAL_CREDENTIALS.accessKeyId,
      AWS_SECRET_ACCESS_KEY: LOCAL_CREDENTIALS.secretAccessKey,
      AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
    };
  });
  afterAll(async () => {
    await test.close();
  });

  it('creates a pending session with the strategy lock and shows it back', async () => {
    const created = await run(
      TSX,
      ['scripts/session.ts', 'create', '--strategy-id', 'script-one', '--stage', stage],
      { env },
    );
    const runId = created.stdout.trim();
    const shown = await run(TSX, ['scripts/session.ts', 'show', '--run-id', runId, '--stage', stage], {
      env,
    });

    expect(JSON.parse(shown.stdout)).toMatchObject({
      run_id: runId,
      status: 'pending',
      strategy_id: 'script-one',
    });
    expect((await test.newStore().getLock('script-one'))?.active_run_id).toBe(runId);
  });

  it('refuses a bad strategy id and live mode with exit 2, naming the field, and writes nothing', async () => {
    const bad = await run(
      TSX,
      ['scripts/session.ts', 'create', '--strategy-id', 'Bad Id', '--stage', stage],
      { env },
    ).catch((error: { code?: number; stderr?: string }) => error);
    const live = await run(
      TSX,
      ['scripts/session.ts', 'create', '--strategy-id', 'script-two', '--mode', 'live', '--stage', stage],
      {
        env,
      },
    ).catch((error: { code?: number; stderr?: string }) => error);

    expect(bad).toMatchObject({ code: 2 });
    expect((bad as { stderr: string }).stderr).toMatch(/strategy-id/);
    expect(live).toMatchObject({ code: 2 });
    expect((live as { stderr: string }).stderr).toMatch(/mode: live sessions are started through the API/);
    expect(await test.newStore().getLock('script-two')).toBeUndefined();
  });
});
