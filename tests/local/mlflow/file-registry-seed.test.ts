import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FilePromotionRegistry, seedFileRegistry } from '../../../local/mlflow/file-promotion-registry';
import { PromotionTargetSchema } from '../../../shared/domain/model-promotion';

const demoWith = (versions: number) => ({
  registered_models: [
    {
      name: 'TradaiDemo',
      aliases: { champion: '1' },
      versions: Array.from({ length: versions }, (_, i) => ({
        version: String(i + 1),
        current_stage: i === 0 ? 'Production' : 'Staging',
        tags: { strategy_version: `1.${i}.0` },
      })),
    },
  ],
});

describe('Local cloud: the registry copy in the data folder, seeded like a real MLflow', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'tradai-file-seed-'));
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it('creates the copy, then adds what a newer demo file has while keeping a promotion made in the copy', async () => {
    // prepare
    const demo = join(dir, 'demo.json');
    const copy = join(dir, 'registry.json');
    await writeFile(demo, JSON.stringify(demoWith(2)));
    const created = await seedFileRegistry(copy, demo);
    await new FilePromotionRegistry(copy).promote(
      'TradaiDemo',
      '2',
      PromotionTargetSchema.parse('Production'),
    );
    await writeFile(demo, JSON.stringify(demoWith(3)));

    // act
    const added = await seedFileRegistry(copy, demo);

    // assess
    expect(created).toBe(2);
    expect(added).toBe(1);
    const model = JSON.parse(await readFile(copy, 'utf8')).registered_models[0];
    expect(
      model.versions.map(
        (v: { version: string; current_stage: string }) => `${v.version}:${v.current_stage}`,
      ),
    ).toEqual(['1:Archived', '2:Production', '3:Staging']);
    expect(model.aliases).toEqual({ champion: '1' });
  });
});
