import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type ModelPromotionRegistry,
  ModelRegistryError,
  PromotionTargetSchema,
} from '../../shared/domain/model-promotion';

export interface PromotionHarness {
  registry: ModelPromotionRegistry;
  /** Registers `name` with versions 1..count (stage None, no alias), each tagged `strategy_version: 1.<n>.0`. */
  register(name: string, count: number): Promise<void>;
  close(): Promise<void>;
}

const to = (name: string) => PromotionTargetSchema.parse(name);

/** What every ModelPromotionRegistry does (MLflow's REST API in AWS, the file registry of the local cloud). */
export const modelPromotionContract = (adapterName: string, start: () => Promise<PromotionHarness>) => {
  describe(`ModelPromotionRegistry contract: ${adapterName}`, () => {
    let harness: PromotionHarness;
    let seq = 0;
    const freshModel = async (count: number) => {
      const name = `Promo${Date.now().toString(36)}${++seq}`;
      await harness.register(name, count);
      return name;
    };
    // A real mlflow server takes 10-40 s to start on a busy two-core machine: more than the default hook bound.
    beforeAll(async () => {
      harness = await start();
    }, 120_000);
    afterAll(async () => {
      await harness?.close();
    });

    it('reads a version with its tags, and answers undefined for a version or model that does not exist', async () => {
      // prepare
      const name = await freshModel(2);

      // act
      const found = await harness.registry.getVersion(name, '2');
      const missingVersion = await harness.registry.getVersion(name, '9');
      const missingModel = await harness.registry.getVersion(`${name}Nope`, '1');

      // assess
      expect(found).toMatchObject({ name, version: '2', tags: { strategy_version: '1.2.0' } });
      expect(missingVersion).toBeUndefined();
      expect(missingModel).toBeUndefined();
    });

    it('promotes to a stage and archives the version that held it, so the stage names one version', async () => {
      // prepare
      const name = await freshModel(2);
      await harness.registry.promote(name, '1', to('Production'));

      // act
      const after = await harness.registry.promote(name, '2', to('production'));

      // assess
      expect(after).toMatchObject({ name, version: '2', stage: 'Production' });
      expect((await harness.registry.getVersion(name, '1'))?.stage).toBe('Archived');
    });

    it('moves an alias from one version to another', async () => {
      // prepare
      const name = await freshModel(2);
      await harness.registry.promote(name, '1', to('champion'));

      // act
      const after = await harness.registry.promote(name, '2', to('champion'));

      // assess
      expect(after.aliases).toContain('champion');
      expect((await harness.registry.getVersion(name, '1'))?.aliases).not.toContain('champion');
    });

    it('refuses to promote a version that does not exist (not_found), changing nothing', async () => {
      // prepare
      const name = await freshModel(1);

      // act
      const error = await harness.registry.promote(name, '7', to('Production')).catch((e: unknown) => e);

      // assess
      expect(error).toBeInstanceOf(ModelRegistryError);
      expect((error as ModelRegistryError).reason).toBe('not_found');
      expect((await harness.registry.getVersion(name, '1'))?.stage).toBe('None');
    });
  });
};
