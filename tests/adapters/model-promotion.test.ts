import { copyFile, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe } from 'vitest';
import { FilePromotionRegistry } from '../../local/mlflow/file-promotion-registry';
import { DEMO_REGISTRY_FILE } from '../../local/mlflow/index';
import { MlflowPromotionRegistry } from '../../shared/adapters/mlflow/promotion-registry';
import { mlflowInstalled, startTestMlflow } from '../support/mlflow-server';
import { modelPromotionContract } from './model-promotion.contract';

const tagsOf = (n: number) => ({ strategy_version: `1.${n}.0` });

modelPromotionContract('file registry (local cloud)', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'tradai-promotion-'));
  const file = join(dir, 'registry.json');
  await copyFile(DEMO_REGISTRY_FILE, file);
  return {
    registry: new FilePromotionRegistry(file),
    register: async (name, count) => {
      const registry = JSON.parse(await readFile(file, 'utf8'));
      registry.registered_models.push({
        name,
        aliases: {},
        versions: Array.from({ length: count }, (_, i) => ({
          version: String(i + 1),
          current_stage: 'None',
          tags: tagsOf(i + 1),
        })),
      });
      await writeFile(file, JSON.stringify(registry));
    },
    close: () => rm(dir, { recursive: true, force: true }),
  };
});

describe.skipIf(!mlflowInstalled())('real MLflow', () => {
  modelPromotionContract('MLflow REST API (a real mlflow server)', async () => {
    const mlflow = await startTestMlflow();
    return {
      registry: new MlflowPromotionRegistry({ trackingUri: mlflow.url }),
      register: async (name, count) => {
        await mlflow.admin.createRegisteredModel(name);
        for (let n = 1; n <= count; n += 1) {
          await mlflow.admin.createModelVersion(name, { source: `s3://promo/${name}/${n}`, tags: tagsOf(n) });
        }
      },
      close: () => mlflow.close(),
    };
  });
});
