import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { FileConfigSource } from '../../../container/agent/config/config-source';
import { FileModelRegistry } from '../../../container/agent/config/mlflow';
import { StrategyConfigLoader } from '../../../container/agent/config/strategy-config-loader';

const DEMO = join(fileURLToPath(new URL('../../..', import.meta.url)), 'local/demo');

const load = (stage: string) =>
  new StrategyConfigLoader(
    new FileModelRegistry(`file://${join(DEMO, 'registry.json')}`),
    new FileConfigSource(`file://${join(DEMO, 'configs')}`),
  ).load({
    strategy: 'TradaiDemo',
    strategyId: 'demo',
    runId: 'dry-run-demo-000002',
    tradingMode: 'dry-run',
    arcticdbS3Uri: 's3://tradai-arcticdb-local',
    alias: null,
    stage,
    overrides: {},
  });

describe('Demo registry: two versions of TradaiDemo (promote and deploy have something to move)', () => {
  it('holds v1 (1.0.0) in Production and v2 (1.1.0) in Staging, on the same pairs so a deploy can carry positions', async () => {
    const production = await load('Production');
    const staging = await load('Staging');

    expect(production.modelVersion).toMatchObject({ version: '1', stage: 'Production' });
    expect(staging.modelVersion).toMatchObject({ version: '2', stage: 'Staging' });
    expect(staging.strategyVersion).toBe('1.1.0');
    expect(staging.config.max_open_trades).toBe(3);
    expect(staging.pairs).toEqual(production.pairs);
  });
});
