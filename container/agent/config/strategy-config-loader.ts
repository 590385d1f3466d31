import * as z from 'zod';
import type { TradingMode } from '../../../shared/domain/session';
import { StrategyConfigError, StrategyConfigValidationError } from '../errors';
import type { ConfigSource } from './config-source';
import { deepMergeAll, isPlainObject, type JsonObject } from './merge';
import { type ModelRegistry, type ModelVersion, type ModelVersionRef, parseModelUri } from './mlflow';
import { guardOverrides } from './override-guard';

/** seed §4: the stage used when the session names neither an alias nor a stage. */
export const DEFAULT_STAGE = 'Production';

const boolTag = z
  .enum(['true', 'false', 'True', 'False', '1', '0'])
  .transform((v) => v.toLowerCase() === 'true' || v === '1');

/** seed §4 tag schema (StrategyMetadata.to_mlflow_tags()). Tags are strings; these are parsed to what they mean. */
export const StrategyTagsSchema = z.looseObject({
  strategy_name: z.string().min(1).optional(),
  strategy_version: z.string().min(1).max(64),
  timeframe: z.string().regex(/^\d+[smhdwM]$/, 'must be a Freqtrade timeframe like 5m or 1h'),
  category: z.string().optional(),
  author: z.string().optional(),
  status: z.string().optional(),
  can_short: boolTag.default(false),
  pairs: z
    .string()
    .transform((value) =>
      value
        .split(',')
        .map((pair) => pair.trim())
        .filter((pair) => pair !== ''),
    )
    .pipe(z.array(z.string().max(64)).min(1, 'must name at least one pair').max(500)),
  stake_amount: z
    .string()
    .regex(/^(unlimited|\d+(\.\d+)?)$/, 'must be a number or "unlimited"')
    .transform((value) => (value === 'unlimited' ? value : Number(value)))
    .optional(),
  max_open_trades: z
    .string()
    .regex(/^-?\d+$/, 'must be an integer')
    .transform(Number)
    .optional(),
  warmup_days: z.string().regex(/^\d+$/, 'must be a whole number of days').transform(Number).default(30),
  data_format: z.string().optional(),
  configuration_file: z.string().min(1),
  freqai_model: z.string().optional(),
  ecr_url: z.string().optional(),
});
export type StrategyTags = z.infer<typeof StrategyTagsSchema>;

const credentialField = z
  .union([z.null(), z.literal('')], {
    error:
      'must not be set in a config file: credentials come from EXCHANGE_SECRET_NAME through the environment',
  })
  .optional();

/** What the agent needs to be true of the merged config before Freqtrade sees it. Unknown keys are Freqtrade's. */
export const FreqtradeConfigSchema = z.looseObject({
  strategy: z.string().min(1),
  timeframe: z.string().regex(/^\d+[smhdwM]$/, 'must be a Freqtrade timeframe like 5m or 1h'),
  stake_currency: z.string().min(1),
  stake_amount: z.union([z.number().positive(), z.literal('unlimited')]),
  max_open_trades: z.number().int().min(-1),
  dry_run: z.boolean(),
  exchange: z.looseObject({
    name: z.string().min(1),
    pair_whitelist: z.array(z.string().min(1)).min(1, 'must contain at least one pair'),
    key: credentialField,
    secret: credentialField,
    password: credentialField,
    uid: credentialField,
  }),
  internals: z.looseObject({ process_throttle_secs: z.number().positive().optional() }).optional(),
});

export interface SessionSelection {
  alias: string | null;
  stage: string | null;
  /** An exact registry version (a deploy by version); wins over alias and stage. Absent: by alias or stage. */
  modelVersion?: string | null;
  overrides: Record<string, unknown>;
}

export interface StrategyConfigRequest extends SessionSelection {
  strategy: string;
  strategyId: string;
  runId: string;
  tradingMode: TradingMode;
  arcticdbS3Uri: string;
}

/** Freqtrade's `--timerange` with both ends (dates, date-times or epoch seconds). */
const CLOSED_TIMERANGE = /^\d{8,14}-\d{8,14}$/;

export interface FreqaiModelRef {
  uri: string;
  name: string;
  version: string;
  source: string | null;
  run_id: string | null;
  /** The FreqAI version's `artifact_sha256` tag (config/freqai-model.ts manifestDigest), where it has one. */
  sha256: string | null;
}

export interface LoadedStrategyConfig {
  /** The complete Freqtrade config (no credentials, no api_server yet: the config writer adds those). */
  config: JsonObject;
  modelVersion: ModelVersion;
  strategyVersion: string;
  exchange: string;
  pairs: string[];
  timeframe: string;
  warmupDays: number;
  configurationFile: string;
  freqaiModel: FreqaiModelRef | null;
  /**
   * Train mode with a `freqai` section: the registered model the trained FreqAI model becomes a new version
   * of (the `freqai_model` tag's name, else `<strategy>-FreqAI`); null otherwise.
   */
  freqaiTrainTarget: string | null;
}

const issuesOf = (error: z.ZodError, prefix: string) =>
  error.issues.map((issue) => ({
    path: [prefix, ...issue.path.map(String)].filter((part) => part !== '').join('.'),
    message: issue.message,
  }));

export const selectionOf = (
  strategy: string,
  selection: Pick<SessionSelection, 'alias' | 'stage' | 'modelVersion'>,
): ModelVersionRef =>
  selection.modelVersion !== undefined && selection.modelVersion !== null
    ? { name: strategy, version: selection.modelVersion }
    : selection.alias !== null
      ? { name: strategy, alias: selection.alias }
      : { name: strategy, stage: selection.stage ?? DEFAULT_STAGE };

/**
 * seed §4: MLflow model version (alias or stage) → tags → base Freqtrade config (configuration_file) →
 * strategy metadata → runtime overrides (deep merge) → validation. Errors name the offending path.
 */
export class StrategyConfigLoader {
  readonly #registry: ModelRegistry;
  readonly #source: ConfigSource;

  constructor(registry: ModelRegistry, source: ConfigSource) {
    this.#registry = registry;
    this.#source = source;
  }

  async load(request: StrategyConfigRequest): Promise<LoadedStrategyConfig> {
    const modelVersion = await this.#registry.getModelVersion(selectionOf(request.strategy, request));
    const parsedTags = StrategyTagsSchema.safeParse(modelVersion.tags);
    if (!parsedTags.success) {
      throw new StrategyConfigValidationError(
        `MLflow tags of ${modelVersion.name} v${modelVersion.version}`,
        issuesOf(parsedTags.error, 'tags'),
      );
    }
    const tags = parsedTags.data;
    if (tags.strategy_name !== undefined && tags.strategy_name !== request.strategy) {
      throw new StrategyConfigError(
        'tags.strategy_name',
        `${tags.strategy_name} does not match STRATEGY ${request.strategy}`,
      );
    }
    const base = await this.#source.readJson(tags.configuration_file);
    if (!isPlainObject(base)) {
      throw new StrategyConfigError(
        'configuration_file',
        `${tags.configuration_file} must hold a JSON object`,
      );
    }
    // A train run makes the FreqAI model: the one the tag names now is not needed (and may not exist yet).
    const training = request.tradingMode === 'train';
    const freqaiModel = training ? null : await this.#resolveFreqai(tags.freqai_model);
    const fromTags: JsonObject = {
      strategy: request.strategy,
      timeframe: tags.timeframe,
      exchange: { pair_whitelist: tags.pairs },
      ...(tags.stake_amount === undefined ? {} : { stake_amount: tags.stake_amount }),
      ...(tags.max_open_trades === undefined ? {} : { max_open_trades: tags.max_open_trades }),
    };
    guardOverrides(request.overrides);
    const merged = deepMergeAll(base, fromTags, request.overrides);
    // TRADING_MODE is the truth about real money: no base config or override can turn dry-run into live.
    merged.dry_run = request.tradingMode !== 'live';
    merged.tradai = {
      strategy_name: request.strategy,
      strategy_id: request.strategyId,
      run_id: request.runId,
      trading_mode: request.tradingMode,
      strategy_version: tags.strategy_version,
      model_name: modelVersion.name,
      model_version: modelVersion.version,
      timeframe: merged.timeframe,
      pairs: isPlainObject(merged.exchange) ? merged.exchange.pair_whitelist : tags.pairs,
      can_short: tags.can_short,
      category: tags.category ?? null,
      // The Python strategy reads its warmup window from ArcticDB itself (seed §7).
      warmup_days: tags.warmup_days,
      arcticdb_s3_uri: request.arcticdbS3Uri,
      configuration_file: tags.configuration_file,
      freqai_model: freqaiModel,
    };
    const freqaiTrainTarget =
      training && isPlainObject(merged.freqai)
        ? (parseModelUri(tags.freqai_model ?? '')?.name ?? `${request.strategy}-FreqAI`)
        : null;
    if (freqaiTrainTarget !== null && isPlainObject(merged.freqai)) {
      // Real Freqtrade's FreqAI backtesting exits at once on an open timerange ("does not allow open ended
      // timeranges"); refused here, the run fails naming the field instead of with Freqtrade's exit code.
      if (typeof merged.timerange !== 'string' || !CLOSED_TIMERANGE.test(merged.timerange)) {
        throw new StrategyConfigError(
          'timerange',
          `a FreqAI train run needs a closed timerange (YYYYMMDD-YYYYMMDD) in the base config or the start overrides, not ${JSON.stringify(merged.timerange ?? null)}`,
        );
      }
      // Freqtrade backtesting keeps the models it trains only with save_backtest_models.
      merged.freqai.identifier ??= `${freqaiTrainTarget}-${request.runId}`;
      merged.freqai.save_backtest_models = true;
    }
    if (freqaiModel !== null && isPlainObject(merged.freqai) && merged.freqai.identifier === undefined) {
      merged.freqai.identifier = `${freqaiModel.name}-v${freqaiModel.version}`;
    }
    const validated = FreqtradeConfigSchema.safeParse(merged);
    if (!validated.success) {
      throw new StrategyConfigValidationError(
        `Freqtrade config for ${request.strategy}`,
        issuesOf(validated.error, ''),
      );
    }
    return {
      config: merged,
      modelVersion,
      strategyVersion: tags.strategy_version,
      exchange: validated.data.exchange.name,
      pairs: validated.data.exchange.pair_whitelist,
      timeframe: validated.data.timeframe,
      warmupDays: tags.warmup_days,
      configurationFile: tags.configuration_file,
      freqaiModel,
      freqaiTrainTarget,
    };
  }

  async #resolveFreqai(uri: string | undefined): Promise<FreqaiModelRef | null> {
    if (uri === undefined || uri.trim() === '') return null;
    const ref = parseModelUri(uri);
    if (ref === undefined) {
      throw new StrategyConfigError('tags.freqai_model', `${uri} is not a models:/ URI`);
    }
    const version = await this.#registry.getModelVersion(ref);
    return {
      uri,
      name: version.name,
      version: version.version,
      source: version.source,
      run_id: version.runId,
      sha256: version.tags.artifact_sha256 ?? null,
    };
  }
}
