import { readFile } from 'node:fs/promises';
import { FileRegistrySchema } from '../../container/agent/config/mlflow';
import { type MlflowAdminClient, MlflowRequestError } from './client';

export interface SeedSummary {
  models: number;
  /** Versions created now (not those a persisted server already had). */
  created: number;
  /** Versions created only so MLflow's numbering matches the file's (MLflow numbers 1, 2, 3...). */
  placeholders: number;
}

/** The demo registry's versions have no artifacts; MLflow needs a source, so they get a URI that names them. */
const placeholderSource = (name: string, version: string) => `s3://tradai-demo-registry/${name}/${version}`;

const versionExists = async (admin: MlflowAdminClient, name: string, version: string): Promise<boolean> => {
  try {
    await admin.getModelVersion(name, version);
    return true;
  } catch (error) {
    if (error instanceof MlflowRequestError && error.errorCode === 'RESOURCE_DOES_NOT_EXIST') return false;
    throw error;
  }
};

/**
 * Writes a file registry (local/demo/registry.json's shape) into a real MLflow over its REST API:
 * registered models, versions with the same numbers (gaps filled with Archived placeholders), tags,
 * stages and aliases. Idempotent: a version that already exists is left as it is, so a persisted
 * server keeps what an operator changed in it.
 */
export const seedRegistry = async (admin: MlflowAdminClient, registryFile: string): Promise<SeedSummary> => {
  const registry = FileRegistrySchema.parse(JSON.parse(await readFile(registryFile, 'utf8')));
  const summary: SeedSummary = { models: 0, created: 0, placeholders: 0 };
  for (const model of registry.registered_models) {
    summary.models += 1;
    await admin.createRegisteredModel(model.name);
    const versions = [...model.versions].sort((a, b) => Number(a.version) - Number(b.version));
    for (const version of versions) {
      const wanted = Number(version.version);
      if (!Number.isInteger(wanted) || wanted < 1) {
        throw new Error(
          `${registryFile}: ${model.name} version ${version.version} is not a positive integer`,
        );
      }
      if (await versionExists(admin, model.name, version.version)) continue;
      // MLflow numbers versions 1, 2, 3...: fill a gap with Archived placeholders first.
      for (let next = (await admin.newestVersionNumber(model.name)) + 1; next < wanted; next += 1) {
        const created = await admin.createModelVersion(model.name, {
          source: placeholderSource(model.name, String(next)),
          tags: { tradai_placeholder: 'true' },
          description: `placeholder so that the version numbers match ${registryFile}`,
        });
        await admin.transitionStage(model.name, created, 'Archived');
        summary.placeholders += 1;
      }
      const tags = Array.isArray(version.tags)
        ? Object.fromEntries(version.tags.map((tag) => [tag.key, tag.value]))
        : version.tags;
      const created = await admin.createModelVersion(model.name, {
        source: version.source ?? placeholderSource(model.name, version.version),
        ...(version.run_id === undefined ? {} : { runId: version.run_id }),
        tags,
        description: `seeded from ${registryFile}`,
      });
      if (created !== version.version) {
        throw new Error(
          `${model.name}: MLflow numbered the seeded version ${created}, not ${version.version}`,
        );
      }
      if (version.current_stage !== 'None') {
        await admin.transitionStage(model.name, created, version.current_stage);
      }
      summary.created += 1;
    }
    for (const [alias, version] of Object.entries(model.aliases)) {
      await admin.setAlias(model.name, alias, version);
    }
  }
  return summary;
};
