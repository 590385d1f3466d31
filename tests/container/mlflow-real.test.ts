import { spawnSync } from 'node:child_process';
import { createHash, randomUUID } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FileConfigSource } from '../../container/agent/config/config-source';
import {
  FileModelRegistry,
  MlflowRegistryError,
  type MlflowRestOptions,
  MlflowRestRegistry,
  parseModelUri,
} from '../../container/agent/config/mlflow';
import { MlflowArtifactDownloader } from '../../container/agent/config/model-artifacts';
import {
  StrategyConfigLoader,
  type StrategyConfigRequest,
} from '../../container/agent/config/strategy-config-loader';
import { EXIT } from '../../container/agent/constants';
import { parseAgentEnv } from '../../container/agent/env';
import { StrategyConfigValidationError } from '../../container/agent/errors';
import { type HttpStream, nodeHttpStream } from '../../container/agent/http';
import type { FreqtradeSimHandle } from '../../local/freqtrade-sim';
import { DEMO_REGISTRY_FILE, seedRegistry } from '../../local/mlflow';
import { mlflowInstalled, startTestMlflow, type TestMlflow } from '../support/mlflow-server';
import { type Fixture, startFixture } from './support/fixture';
import { pollUntil } from './support/poll';
import { type RunningAgent, startAgent } from './support/run';
import { attachTo, startSim } from './support/sim';

/** seed §4 (StrategyMetadata.to_mlflow_tags()), as a training job registers them. */
const TAGS = {
  strategy_name: 'PascalStrategy',
  strategy_version: '2.0.0',
  timeframe: '1h',
  category: 'mean_reversion',
  author: 'TradAI Team',
  status: 'production',
  can_short: 'true',
  pairs: 'BTC/USDT:USDT,ETH/USDT:USDT',
  stake_amount: '100',
  max_open_trades: '3',
  warmup_days: '45',
  data_format: 'ohlcv',
  configuration_file: 'base.json',
  ecr_url: '123456789.dkr.ecr.eu-central-1.amazonaws.com/tradai/pascal:2.0.0',
};

const BASE_CONFIG = {
  stake_currency: 'USDT',
  stake_amount: 50,
  max_open_trades: 1,
  dry_run: false,
  timeframe: '5m',
  exchange: { name: 'binance', pair_whitelist: ['SOL/USDT:USDT'] },
  freqai: { enabled: true },
};

/**
 * A real server takes 10-35 s to come up on this shared 2-core machine (more with the auth app); the
 * start itself is bounded by startTestMlflow's deadline, the hook by this.
 */
const SERVER_START_BUDGET_MS = 150_000;

const DEMO_DIR = join(import.meta.dirname, '../../local/demo');

const MODEL_BYTES = Buffer.from(Array.from({ length: 300_000 }, (_, i) => (i * 7) % 256));
const MODEL_METADATA = JSON.stringify({ label_period_candles: 24, identifier: 'pascal-freqai' });
const SCALER = Buffer.from([0, 1, 2, 3, 255]);
const sha256 = (content: Buffer | string) => createHash('sha256').update(content).digest('hex');

const request = (overrides: Partial<StrategyConfigRequest> = {}): StrategyConfigRequest => ({
  strategy: 'PascalStrategy',
  strategyId: 'pascal-btc',
  runId: 'dry-run-pascal-btc-1',
  tradingMode: 'dry-run',
  arcticdbS3Uri: 's3://arctic',
  alias: null,
  stage: null,
  overrides: {},
  ...overrides,
});

/** The agent's own transport with the Host header MLflow would see behind a DNS name. */
const httpWithHost =
  (host: string): HttpStream =>
  (url, init) =>
    nodeHttpStream(url, { ...init, headers: { ...init.headers, host } });

/** A port nothing listens on: bound, then released. */
const closedPort = (): Promise<number> =>
  new Promise((resolve) => {
    const probe = createServer();
    probe.listen(0, '127.0.0.1', () => {
      const address = probe.address();
      probe.close(() => resolve(typeof address === 'object' && address !== null ? address.port : 0));
    });
  });

const caught = async (promise: Promise<unknown>): Promise<unknown> =>
  promise.then(
    () => new Error('expected a refusal'),
    (error: unknown) => error,
  );

describe.skipIf(!mlflowInstalled())('Config loader against a real MLflow server', () => {
  let mlflow: TestMlflow;
  let dir: string;
  let freqaiRunId: string;

  beforeAll(async () => {
    // prepare: one server for the whole file, seeded over the REST API
    dir = await mkdtemp(join(tmpdir(), 'tradai-mlflow-configs-'));
    await writeFile(join(dir, 'base.json'), JSON.stringify(BASE_CONFIG));
    mlflow = await startTestMlflow();
    const { admin } = mlflow;

    const experiment = await admin.experimentId('tradai-freqai');
    const run = await admin.createRun(experiment, 'pascal-freqai-train');
    freqaiRunId = run.runId;
    await admin.uploadArtifact(run.artifactUri, 'model/model.joblib', MODEL_BYTES);
    await admin.createRegisteredModel('PascalStrategy-FreqAI');
    const freqai = await admin.createModelVersion('PascalStrategy-FreqAI', {
      source: `runs:/${run.runId}/model`,
      runId: run.runId,
    });
    await admin.transitionStage('PascalStrategy-FreqAI', freqai, 'Production');
    await admin.uploadArtifact(run.artifactUri, 'model/sub/metadata.json', MODEL_METADATA);
    await admin.uploadArtifact(run.artifactUri, 'model/sub/deeper/scaler.bin', SCALER);
    // v2: a source in the artifact proxy itself; v3: a run path with nothing under it; v4: S3.
    await admin.createModelVersion('PascalStrategy-FreqAI', {
      source: `${run.artifactUri}/model`,
      runId: run.runId,
    });
    await admin.createModelVersion('PascalStrategy-FreqAI', {
      source: `runs:/${run.runId}/never-logged`,
      runId: run.runId,
    });
    await admin.createModelVersion('PascalStrategy-FreqAI', { source: 's3://tradai-mlflow/models/freqai/4' });

    await admin.createRegisteredModel('PascalStrategy');
    const v1 = await admin.createModelVersion('PascalStrategy', {
      source: 's3://tradai-mlflow/PascalStrategy/1',
      tags: { ...TAGS, strategy_version: '1.0.0', status: 'staging' },
    });
    await admin.transitionStage('PascalStrategy', v1, 'Staging');
    // v2's tags are set after creation, as `MlflowClient.set_model_version_tag` does.
    const v2 = await admin.createModelVersion('PascalStrategy', {
      source: 's3://tradai-mlflow/PascalStrategy/2',
    });
    for (const [key, value] of Object.entries({
      ...TAGS,
      freqai_model: 'models:/PascalStrategy-FreqAI/Production',
    })) {
      await admin.setModelVersionTag('PascalStrategy', v2, key, value);
    }
    await admin.transitionStage('PascalStrategy', v2, 'Production');
    await admin.setAlias('PascalStrategy', 'champion', v2);
    const v3 = await admin.createModelVersion('PascalStrategy', {
      source: 's3://tradai-mlflow/PascalStrategy/3',
      tags: { ...TAGS, pairs: '', timeframe: 'hourly' },
    });
    await admin.setAlias('PascalStrategy', 'broken', v3);
    // The newest version, in no stage: only `latest` reaches it.
    await admin.createModelVersion('PascalStrategy', {
      source: 's3://tradai-mlflow/PascalStrategy/4',
      tags: { ...TAGS, strategy_version: '3.0.0-rc1', status: 'testing' },
    });
  }, SERVER_START_BUDGET_MS);

  afterAll(async () => {
    await mlflow?.close();
    await rm(dir, { recursive: true, force: true });
  });

  const registry = (options: Partial<MlflowRestOptions> = {}) =>
    new MlflowRestRegistry({ trackingUri: mlflow.url, ...options });
  const loader = () => new StrategyConfigLoader(registry(), new FileConfigSource(`file://${dir}`));

  describe('resolving a version', () => {
    it('resolves an alias through registered-models/alias', async () => {
      // act
      const loaded = await loader().load(request({ alias: 'champion' }));
      // assess
      expect(loaded.modelVersion).toMatchObject({
        name: 'PascalStrategy',
        version: '2',
        stage: 'Production',
      });
      expect(loaded.strategyVersion).toBe('2.0.0');
      expect(loaded.pairs).toEqual(['BTC/USDT:USDT', 'ETH/USDT:USDT']);
      expect(loaded.config).toMatchObject({ timeframe: '1h', stake_amount: 100, max_open_trades: 3 });
    });

    it('resolves Production by default and a named stage through get-latest-versions', async () => {
      const production = await loader().load(request());
      const staging = await loader().load(request({ stage: 'Staging' }));
      expect(production.modelVersion.version).toBe('2');
      expect(staging.modelVersion).toMatchObject({ version: '1', stage: 'Staging' });
      expect(staging.strategyVersion).toBe('1.0.0');
    });

    it('matches a stage whatever its case, as MLflow canonicalises stages', async () => {
      const loaded = await loader().load(request({ stage: 'staging' }));
      expect(loaded.modelVersion.version).toBe('1');
    });

    it('resolves models:/Name/latest to the newest version in any stage (MLflow reads "latest" as a keyword, not as a stage name)', async () => {
      // act
      const ref = parseModelUri('models:/PascalStrategy/latest');
      const latest = ref === undefined ? undefined : await registry().getModelVersion(ref);
      // assess
      expect(latest).toMatchObject({ version: '4', stage: 'None' });
      expect(latest?.tags.strategy_version).toBe('3.0.0-rc1');
    });

    it('resolves a session asking for stage "latest" to the newest version (MLflow refuses "latest" as a stage: 400)', async () => {
      const loaded = await loader().load(request({ stage: 'latest' }));
      expect(loaded.modelVersion.version).toBe('4');
    });

    it('resolves an exact version through model-versions/get', async () => {
      const version = await registry().getModelVersion({ name: 'PascalStrategy', version: '1' });
      expect(version).toMatchObject({
        version: '1',
        stage: 'Staging',
        source: 's3://tradai-mlflow/PascalStrategy/1',
      });
    });
  });

  describe('reading tags', () => {
    it('reads every seed §4 tag, set at creation or afterwards with set-tag', async () => {
      const v1 = await registry().getModelVersion({ name: 'PascalStrategy', version: '1' });
      const v2 = await registry().getModelVersion({ name: 'PascalStrategy', alias: 'champion' });
      expect(v1.tags).toEqual({ ...TAGS, strategy_version: '1.0.0', status: 'staging' });
      expect(v2.tags).toEqual({ ...TAGS, freqai_model: 'models:/PascalStrategy-FreqAI/Production' });
    });

    it('reports a version registered without a run as runId null (MLflow answers run_id "")', async () => {
      const version = await registry().getModelVersion({ name: 'PascalStrategy', version: '1' });
      expect(version.runId).toBeNull();
    });

    it('resolves the FreqAI model named by the freqai_model tag, with its run and source', async () => {
      const loaded = await loader().load(request({ alias: 'champion' }));
      expect(loaded.freqaiModel).toEqual({
        uri: 'models:/PascalStrategy-FreqAI/Production',
        name: 'PascalStrategy-FreqAI',
        version: '1',
        source: `runs:/${freqaiRunId}/model`,
        run_id: freqaiRunId,
        sha256: null,
      });
      expect(loaded.config).toMatchObject({ freqai: { identifier: 'PascalStrategy-FreqAI-v1' } });
    });

    it('names every invalid tag of a version', async () => {
      const error = await caught(loader().load(request({ alias: 'broken' })));
      expect(error).toBeInstanceOf(StrategyConfigValidationError);
      expect(String(error)).toContain('tags.pairs');
      expect(String(error)).toContain('tags.timeframe');
    });
  });

  describe('the errors MLflow really returns', () => {
    it('refuses an unknown model as not found (404 RESOURCE_DOES_NOT_EXIST)', async () => {
      const error = await caught(loader().load(request({ strategy: 'NoSuchStrategy' })));
      expect(error).toBeInstanceOf(MlflowRegistryError);
      expect(error).toMatchObject({ reason: 'not_found', status: 404, errorCode: 'RESOURCE_DOES_NOT_EXIST' });
      expect(String(error)).toContain('NoSuchStrategy');
    });

    it('refuses an unknown alias of a known model as not found (MLflow answers 400 INVALID_PARAMETER_VALUE, not 404)', async () => {
      const error = await caught(loader().load(request({ alias: 'nope' })));
      expect(error).toBeInstanceOf(MlflowRegistryError);
      expect(error).toMatchObject({ reason: 'not_found', status: 400, errorCode: 'INVALID_PARAMETER_VALUE' });
      expect(String(error)).toContain('PascalStrategy@nope');
    });

    it('refuses an alias of an unknown model as not found (404 RESOURCE_DOES_NOT_EXIST)', async () => {
      const error = await caught(loader().load(request({ strategy: 'NoSuchStrategy', alias: 'champion' })));
      expect(error).toMatchObject({ reason: 'not_found', status: 404, errorCode: 'RESOURCE_DOES_NOT_EXIST' });
    });

    it('refuses an unknown version number as not found', async () => {
      const error = await caught(registry().getModelVersion({ name: 'PascalStrategy', version: '99' }));
      expect(error).toMatchObject({ reason: 'not_found', status: 404, errorCode: 'RESOURCE_DOES_NOT_EXIST' });
    });

    it('says which stage is empty when no version is in it (MLflow answers 200 {} )', async () => {
      const error = await caught(loader().load(request({ stage: 'Archived' })));
      expect(error).toBeInstanceOf(MlflowRegistryError);
      expect(error).toMatchObject({ reason: 'not_found' });
      expect(String(error)).toContain('stage Archived');
    });

    it('refuses a stage MLflow does not have with its own message (400 INVALID_PARAMETER_VALUE)', async () => {
      const error = await caught(loader().load(request({ stage: 'Canary' })));
      expect(error).toMatchObject({ reason: 'refused', status: 400, errorCode: 'INVALID_PARAMETER_VALUE' });
      expect(String(error)).toContain('Value must be one of None, Staging, Production, Archived');
    });

    it("refuses a version that is not a number with MLflow's message (400)", async () => {
      const error = await caught(registry().getModelVersion({ name: 'PascalStrategy', version: 'v2' }));
      expect(error).toMatchObject({ reason: 'refused', status: 400, errorCode: 'INVALID_PARAMETER_VALUE' });
      expect(String(error)).toContain('must be an integer');
    });

    it('names the tracking URI when it has no MLflow REST API behind it (HTML 404, not an MLflow error)', async () => {
      const error = await caught(
        registry({ trackingUri: `${mlflow.url}/not-mlflow` }).getModelVersion({
          name: 'PascalStrategy',
          alias: 'champion',
        }),
      );
      expect(error).toMatchObject({ reason: 'not_found', status: 404, errorCode: null });
      expect(String(error)).toContain('MLFLOW_TRACKING_URI');
      expect(String(error)).toContain(`${mlflow.url}/not-mlflow`);
    });

    it('refuses a tracking URI whose host name MLflow does not allow (403 Invalid Host header)', async () => {
      // MLflow ≥ 3.5 refuses Host headers outside localhost and private IPs unless --allowed-hosts says so.
      const error = await caught(
        registry({ http: httpWithHost('mlflow.tradai.internal') }).getModelVersion({
          name: 'PascalStrategy',
          alias: 'champion',
        }),
      );
      expect(error).toMatchObject({ reason: 'unauthorized', status: 403 });
      expect(String(error)).toContain('--allowed-hosts');
    });

    it('reports an MLflow that is not listening as unavailable', async () => {
      const port = await closedPort();
      const error = await caught(
        registry({ trackingUri: `http://127.0.0.1:${port}`, timeoutMs: 2_000 }).getModelVersion({
          name: 'PascalStrategy',
          alias: 'champion',
        }),
      );
      expect(error).toMatchObject({ reason: 'unavailable', status: null });
      expect(String(error)).toContain('ECONNREFUSED');
    });
  });

  describe('downloading a FreqAI model', () => {
    let work: string;

    beforeAll(async () => {
      work = await mkdtemp(join(tmpdir(), 'tradai-freqai-work-'));
    });

    afterAll(async () => {
      await rm(work, { recursive: true, force: true });
    });

    const downloader = (limits = {}) => new MlflowArtifactDownloader({ trackingUri: mlflow.url }, limits);

    it('downloads every file of a runs:/ source (get-download-uri answers it unresolved) with sizes and hashes', async () => {
      // act
      const destination = join(work, 'models', 'PascalStrategy-FreqAI-v1');
      const model = await downloader().download({ name: 'PascalStrategy-FreqAI', version: '1' }, destination);
      // assess
      expect(model.downloadUri).toBe(`runs:/${freqaiRunId}/model`);
      expect(model.artifactUri).toMatch(new RegExp(`^mlflow-artifacts:/.*/${freqaiRunId}/artifacts/model$`));
      expect(model.files).toEqual([
        { path: 'model.joblib', bytes: MODEL_BYTES.length, sha256: sha256(MODEL_BYTES) },
        { path: 'sub/deeper/scaler.bin', bytes: SCALER.length, sha256: sha256(SCALER) },
        { path: 'sub/metadata.json', bytes: MODEL_METADATA.length, sha256: sha256(MODEL_METADATA) },
      ]);
      expect(model.totalBytes).toBe(MODEL_BYTES.length + SCALER.length + MODEL_METADATA.length);
      expect(await readFile(join(destination, 'model.joblib'))).toEqual(MODEL_BYTES);
      expect(await readFile(join(destination, 'sub', 'metadata.json'), 'utf8')).toBe(MODEL_METADATA);
      expect((await readdir(join(work, 'models'))).sort()).toEqual(['PascalStrategy-FreqAI-v1']);
    });

    it('downloads a version whose source is an mlflow-artifacts:/ URI', async () => {
      const model = await downloader().download(
        { name: 'PascalStrategy-FreqAI', version: '2' },
        join(work, 'direct'),
      );
      expect(model.files.map((file) => file.path)).toEqual([
        'model.joblib',
        'sub/deeper/scaler.bin',
        'sub/metadata.json',
      ]);
    });

    it('refuses a model over the size bound before writing anything', async () => {
      const destination = join(work, 'too-big');
      const error = await caught(
        downloader({ maxTotalBytes: 100_000 }).download(
          { name: 'PascalStrategy-FreqAI', version: '1' },
          destination,
        ),
      );
      expect(error).toMatchObject({ reason: 'refused' });
      expect(String(error)).toContain('over the limit of 100000');
      expect((await readdir(work)).some((name) => name.startsWith('too-big'))).toBe(false);
    });

    it('refuses a model with more files than the bound', async () => {
      const error = await caught(
        downloader({ maxFiles: 2 }).download(
          { name: 'PascalStrategy-FreqAI', version: '1' },
          join(work, 'many'),
        ),
      );
      expect(error).toMatchObject({ reason: 'refused' });
      expect(String(error)).toContain('more than 2 files');
    });

    it('reports a missing artifact as not found naming the model (MLflow lists a missing path as 200 {})', async () => {
      const error = await caught(
        downloader().download({ name: 'PascalStrategy-FreqAI', version: '3' }, join(work, 'missing')),
      );
      expect(error).toMatchObject({ reason: 'not_found' });
      expect(String(error)).toContain('models:/PascalStrategy-FreqAI/3');
      expect((await readdir(work)).some((name) => name.startsWith('missing'))).toBe(false);
    });

    it('reads an s3:// source from S3 itself (the server does not proxy it): unreachable S3 is unavailable, naming it', async () => {
      // An S3 endpoint on 127.0.0.1 that nothing listens on: the download goes to S3, not to MLflow.
      const s3 = new S3Client({
        endpoint: 'http://127.0.0.1:9',
        region: 'us-east-1',
        credentials: { accessKeyId: 'x', secretAccessKey: 'x' },
        forcePathStyle: true,
        maxAttempts: 1,
      });
      const error = await caught(
        new MlflowArtifactDownloader({ trackingUri: mlflow.url }, {}, s3).download(
          { name: 'PascalStrategy-FreqAI', version: '4' },
          join(work, 's3'),
        ),
      );
      s3.destroy();
      expect(error).toMatchObject({ reason: 'unavailable' });
      expect(String(error)).toContain('s3://tradai-mlflow/models/freqai/4');
    });

    it('refuses an unknown version as not found', async () => {
      const error = await caught(
        downloader().download({ name: 'PascalStrategy-FreqAI', version: '42' }, join(work, 'unknown')),
      );
      expect(error).toMatchObject({ reason: 'not_found', status: 404, errorCode: 'RESOURCE_DOES_NOT_EXIST' });
    });

    it('replaces a previous download whole', async () => {
      const destination = join(work, 'replace');
      await downloader().download({ name: 'PascalStrategy-FreqAI', version: '1' }, destination);
      await writeFile(join(destination, 'stale.txt'), 'left over');
      await downloader().download({ name: 'PascalStrategy-FreqAI', version: '2' }, destination);
      expect((await readdir(destination)).sort()).toEqual(['model.joblib', 'sub']);
    });
  });

  describe('the agent started on it', () => {
    let fx: Fixture;
    const sims: FreqtradeSimHandle[] = [];
    const agents: RunningAgent[] = [];

    beforeAll(async () => {
      fx = await startFixture();
      // The fixture's strategy, registered in the real server instead of its file registry.
      await mlflow.admin.createRegisteredModel('SimStrategy');
      const version = await mlflow.admin.createModelVersion('SimStrategy', {
        source: 's3://tradai-mlflow/SimStrategy/1',
        tags: {
          strategy_name: 'SimStrategy',
          strategy_version: '1.4.2',
          timeframe: '5m',
          pairs: 'BTC/USDT,ETH/USDT',
          configuration_file: 'base.json',
          warmup_days: '10',
        },
      });
      await mlflow.admin.transitionStage('SimStrategy', version, 'Production');
    });

    afterAll(async () => {
      for (const agent of agents.splice(0)) await agent.handle.shutdown('test over');
      for (const sim of sims.splice(0)) await sim.close();
      await fx?.close();
    });

    const agentOn = async (trackingUri: string) => {
      const sim = await startSim();
      sims.push(sim);
      const { runId, env } = await fx.session();
      const parsed = parseAgentEnv({ ...env, MLFLOW_TRACKING_URI: trackingUri });
      if (!parsed.ok) throw new Error(parsed.message);
      const agent = await startAgent({ ...parsed.options, attach: attachTo(sim) }, { store: fx.store });
      agents.push(agent);
      return { runId, agent };
    };

    it('loads its config from MLflow and heartbeats with the version MLflow gave', async () => {
      // act
      const { runId } = await agentOn(mlflow.url);
      // assess
      const session = await pollUntil('a heartbeat', async () => {
        const current = await fx.store.get(runId);
        return current && current.heartbeat_seq >= 1 ? current : undefined;
      });
      expect(session).toMatchObject({ strategy_version: '1.4.2', pairs: ['BTC/USDT', 'ETH/USDT'] });
    });

    it('fails the session with the tracking URI named when MLFLOW_TRACKING_URI has no MLflow behind it', async () => {
      // act
      const { runId, agent } = await agentOn(`${mlflow.url}/wrong-prefix`);
      // assess
      const session = await pollUntil('the session failed', async () => {
        const current = await fx.store.get(runId);
        return current?.status === 'failed' ? current : undefined;
      });
      expect(agent.exits).toEqual([EXIT.configuration]);
      expect(session.status_reason).toContain('check MLFLOW_TRACKING_URI');
      expect(session.status_reason).toContain('/wrong-prefix');
    });
  });

  describe('the demo registry seeded into it (local/mlflow, for npm start)', () => {
    const demoConfigs = new FileConfigSource(`file://${join(DEMO_DIR, 'configs')}`);

    it('loads every demo strategy exactly as the file registry gives it, by alias and by stage', async () => {
      // prepare
      const summary = await seedRegistry(mlflow.admin, DEMO_REGISTRY_FILE);
      const fromFile = new StrategyConfigLoader(new FileModelRegistry(DEMO_REGISTRY_FILE), demoConfigs);
      const fromMlflow = new StrategyConfigLoader(registry(), demoConfigs);
      // act + assess
      const file = JSON.parse(await readFile(DEMO_REGISTRY_FILE, 'utf8')) as {
        registered_models: { versions: unknown[] }[];
      };
      expect(summary).toMatchObject({
        models: file.registered_models.length,
        created: file.registered_models.reduce((sum, model) => sum + model.versions.length, 0),
      });
      for (const strategy of ['MomentumStrategy', 'TradaiDemo']) {
        for (const selection of [{ alias: 'champion' }, { stage: 'Production' }]) {
          const wanted = await fromFile.load(request({ strategy, ...selection }));
          const loaded = await fromMlflow.load(request({ strategy, ...selection }));
          expect(loaded.config).toEqual(wanted.config);
          expect(loaded.modelVersion).toMatchObject({
            version: wanted.modelVersion.version,
            stage: wanted.modelVersion.stage,
            tags: wanted.modelVersion.tags,
          });
        }
      }
    });

    it("keeps the file registry's version numbers (MomentumStrategy v3: v1 and v2 are Archived placeholders)", async () => {
      await seedRegistry(mlflow.admin, DEMO_REGISTRY_FILE);
      const v3 = await registry().getModelVersion({ name: 'MomentumStrategy', version: '3' });
      const v1 = await registry().getModelVersion({ name: 'MomentumStrategy', version: '1' });
      expect(v3.stage).toBe('Production');
      expect(v1).toMatchObject({ stage: 'Archived', tags: { tradai_placeholder: 'true' } });
    });

    it('seeds once: a second seed creates nothing', async () => {
      await seedRegistry(mlflow.admin, DEMO_REGISTRY_FILE);
      const again = await seedRegistry(mlflow.admin, DEMO_REGISTRY_FILE);
      expect(again).toEqual({ models: 2, created: 0, placeholders: 0 });
    });
  });
});

/**
 * MLflow's basic-auth app needs Flask-WTF (the `mlflow[auth]` extra). Runs where it is importable by
 * the project's Python (python/requirements.in asks for the extra; until the lock is recompiled, a
 * PYTHONPATH holding Flask-WTF works too).
 */
const basicAuthAvailable = (): boolean =>
  mlflowInstalled() &&
  spawnSync(join(import.meta.dirname, '../../.venv/bin/python'), ['-c', 'import flask_wtf'], {
    stdio: 'ignore',
  }).status === 0;

describe.skipIf(!basicAuthAvailable())('Config loader against a real MLflow server with basic auth', () => {
  const ADMIN = { username: 'admin', password: 'tradai-admin-password-1' };
  const AGENT = { username: 'tradai-agent', password: 'agent-password-12345' };
  const OUTSIDER = { username: 'outsider', password: 'outsider-password-123' };
  let mlflow: TestMlflow;

  beforeAll(async () => {
    mlflow = await startTestMlflow({
      args: ['--app-name', 'basic-auth'],
      admin: ADMIN,
      prepare: async (dir) => {
        const ini = join(dir, 'basic_auth.ini');
        await writeFile(
          ini,
          [
            '[mlflow]',
            // Nobody reads a model unless granted: the agent's user gets READ on its strategy only.
            'default_permission = NO_PERMISSIONS',
            `database_uri = sqlite:///${join(dir, 'basic_auth.db')}`,
            `admin_username = ${ADMIN.username}`,
            `admin_password = ${ADMIN.password}`,
            'authorization_function = mlflow.server.auth:authenticate_request_basic_auth',
          ].join('\n'),
        );
        return { MLFLOW_AUTH_CONFIG_PATH: ini, MLFLOW_FLASK_SERVER_SECRET_KEY: randomUUID() };
      },
    });
    const { admin } = mlflow;
    await admin.createRegisteredModel('PascalStrategy');
    const version = await admin.createModelVersion('PascalStrategy', {
      source: 's3://tradai-mlflow/PascalStrategy/1',
      tags: TAGS,
    });
    await admin.setAlias('PascalStrategy', 'champion', version);
    for (const user of [AGENT, OUTSIDER]) await admin.createUser(user.username, user.password);
    await admin.grantPermission(AGENT.username, 'registered_model', 'PascalStrategy', 'READ');
  }, SERVER_START_BUDGET_MS);

  afterAll(async () => {
    await mlflow?.close();
  });

  const ref = { name: 'PascalStrategy', alias: 'champion' };

  it('reads the version with the credentials MLFLOW_TRACKING_USERNAME/PASSWORD give', async () => {
    const version = await new MlflowRestRegistry({ trackingUri: mlflow.url, ...AGENT }).getModelVersion(ref);
    expect(version).toMatchObject({ version: '1', tags: TAGS });
  });

  it('reports missing credentials as unauthorized (401, a text body, not an MLflow error)', async () => {
    const error = await caught(new MlflowRestRegistry({ trackingUri: mlflow.url }).getModelVersion(ref));
    expect(error).toBeInstanceOf(MlflowRegistryError);
    expect(error).toMatchObject({ reason: 'unauthorized', status: 401, errorCode: null });
    expect(String(error)).toContain('MLFLOW_TRACKING_USERNAME');
  });

  it('reports a wrong password as unauthorized and never prints it', async () => {
    const error = await caught(
      new MlflowRestRegistry({
        trackingUri: mlflow.url,
        username: AGENT.username,
        password: 'wrong-pw-9876',
      }).getModelVersion(ref),
    );
    expect(error).toMatchObject({ reason: 'unauthorized', status: 401 });
    expect(String(error)).not.toContain('wrong-pw-9876');
  });

  it('reports a bearer token the basic-auth app does not take as unauthorized (401)', async () => {
    const error = await caught(
      new MlflowRestRegistry({ trackingUri: mlflow.url, token: 'not-a-basic-auth-token' }).getModelVersion(
        ref,
      ),
    );
    expect(error).toMatchObject({ reason: 'unauthorized', status: 401 });
  });

  it('reports a user without permission on the model as unauthorized (403 "Permission denied")', async () => {
    const error = await caught(
      new MlflowRestRegistry({ trackingUri: mlflow.url, ...OUTSIDER }).getModelVersion(ref),
    );
    expect(error).toMatchObject({ reason: 'unauthorized', status: 403, errorCode: null });
  });
});
