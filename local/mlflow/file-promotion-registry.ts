import { readFile, rename, writeFile } from 'node:fs/promises';
import { FileRegistrySchema } from '../../container/agent/config/mlflow';
import {
  describeTarget,
  type ModelPromotionRegistry,
  ModelRegistryError,
  type PromotionTarget,
  type RegistryModelVersion,
} from '../../shared/domain/model-promotion';

type FileRegistry = ReturnType<typeof FileRegistrySchema.parse>;
type FileModel = FileRegistry['registered_models'][number];
type FileVersion = FileModel['versions'][number];

const tagsOf = (version: FileVersion): Record<string, string> =>
  Array.isArray(version.tags)
    ? Object.fromEntries(version.tags.map((tag) => [tag.key, tag.value]))
    : version.tags;

const viewOf = (model: FileModel, version: FileVersion): RegistryModelVersion => ({
  name: model.name,
  version: version.version,
  stage: version.current_stage,
  aliases: Object.entries(model.aliases)
    .filter(([, target]) => target === version.version)
    .map(([alias]) => alias),
  tags: tagsOf(version),
});

/**
 * The local cloud's registry (local/demo/registry.json's shape, the one the agents' FileModelRegistry
 * reads) with MLflow's promotion semantics: a stage promotion archives the versions that held the stage,
 * an alias moves. Writes go to a temporary file renamed over the registry, so an agent never reads half a
 * file; promotions in this process run one at a time (the local cloud is one process).
 */
export class FilePromotionRegistry implements ModelPromotionRegistry {
  readonly #file: string;
  #queue: Promise<unknown> = Promise.resolve();

  constructor(file: string) {
    this.#file = file;
  }

  async #load(): Promise<FileRegistry> {
    let raw: unknown;
    try {
      raw = JSON.parse(await readFile(this.#file, 'utf8'));
    } catch (error) {
      throw new ModelRegistryError(
        'unavailable',
        `cannot read the file registry ${this.#file}: ${String(error)}`,
        {
          cause: error,
        },
      );
    }
    const parsed = FileRegistrySchema.safeParse(raw);
    if (!parsed.success) {
      throw new ModelRegistryError(
        'bad_reply',
        `the file registry ${this.#file} does not parse: ${parsed.error.message}`,
      );
    }
    return parsed.data;
  }

  async getVersion(name: string, version: string): Promise<RegistryModelVersion | undefined> {
    const registry = await this.#load();
    const model = registry.registered_models.find((candidate) => candidate.name === name);
    const found = model?.versions.find((candidate) => candidate.version === version);
    return model === undefined || found === undefined ? undefined : viewOf(model, found);
  }

  promote(name: string, version: string, target: PromotionTarget): Promise<RegistryModelVersion> {
    const run = this.#queue.then(() => this.#promote(name, version, target));
    this.#queue = run.catch(() => undefined);
    return run;
  }

  async #promote(name: string, version: string, target: PromotionTarget): Promise<RegistryModelVersion> {
    const registry = await this.#load();
    const model = registry.registered_models.find((candidate) => candidate.name === name);
    const chosen = model?.versions.find((candidate) => candidate.version === version);
    if (model === undefined || chosen === undefined) {
      throw new ModelRegistryError(
        'not_found',
        `no ${name} v${version} in ${this.#file} for ${describeTarget(target)}`,
      );
    }
    if (target.kind === 'stage') {
      for (const other of model.versions) {
        if (other !== chosen && other.current_stage.toLowerCase() === target.stage.toLowerCase()) {
          other.current_stage = 'Archived';
        }
      }
      chosen.current_stage = target.stage;
    } else {
      model.aliases[target.alias] = version;
    }
    const temporary = `${this.#file}.${process.pid}.tmp`;
    await writeFile(temporary, `${JSON.stringify(registry, null, 2)}\n`);
    await rename(temporary, this.#file);
    return viewOf(model, chosen);
  }
}

/**
 * The local cloud's registry copy, seeded from the demo registry as local/mlflow/seed.ts seeds a real
 * MLflow: created when missing; afterwards a model or version the demo file has and the copy lacks is
 * added, an alias the copy lacks is set, and what is already there (a promotion, an operator's change)
 * is left as it is. Returns the number of versions added.
 */
export const seedFileRegistry = async (copy: string, demo: string): Promise<number> => {
  const source = FileRegistrySchema.parse(JSON.parse(await readFile(demo, 'utf8')));
  let target: FileRegistry;
  try {
    target = FileRegistrySchema.parse(JSON.parse(await readFile(copy, 'utf8')));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    target = { registered_models: [] };
  }
  let added = 0;
  for (const model of source.registered_models) {
    let existing = target.registered_models.find((candidate) => candidate.name === model.name);
    if (existing === undefined) {
      existing = { name: model.name, aliases: {}, versions: [] };
      target.registered_models.push(existing);
    }
    for (const version of model.versions) {
      if (existing.versions.some((candidate) => candidate.version === version.version)) continue;
      existing.versions.push(version);
      added += 1;
    }
    for (const [alias, version] of Object.entries(model.aliases)) existing.aliases[alias] ??= version;
  }
  const temporary = `${copy}.${process.pid}.tmp`;
  await writeFile(temporary, `${JSON.stringify(target, null, 2)}\n`);
  await rename(temporary, copy);
  return added;
};
