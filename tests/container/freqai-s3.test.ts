import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CreateBucketCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MlflowRegistryError } from '../../container/agent/config/mlflow';
import { MlflowArtifactDownloader } from '../../container/agent/config/model-artifacts';
import { type MotoServer, motoAvailable, startMotoServer } from '../support/moto-server';
import { type FakeMlflow, startFakeMlflow } from './support/mlflow-server';

const BUCKET = 'tradai-mlflow-artifacts';
const FILES: Record<string, string> = {
  'pair_dictionary.json':
    '{"BTC/USDT":{"model_filename":"cb_btc_1","trained_timestamp":1,"data_path":"/x/sub-train-BTC_1"}}',
  'sub-train-BTC_1/cb_btc_1_model.joblib': 'model bytes '.repeat(100),
};

describe.skipIf(!motoAvailable())(
  'FreqAI artifacts in S3 (a tracking server without --serve-artifacts)',
  () => {
    let moto: MotoServer;
    let s3: S3Client;
    let mlflow: FakeMlflow;
    let dir: string;
    beforeAll(async () => {
      moto = await startMotoServer();
      s3 = new S3Client(moto.clientConfig);
      await s3.send(new CreateBucketCommand({ Bucket: BUCKET }));
      for (const [path, content] of Object.entries(FILES)) {
        await s3.send(
          new PutObjectCommand({ Bucket: BUCKET, Key: `models/SimFreqAI/1/${path}`, Body: content }),
        );
      }
      mlflow = await startFakeMlflow([
        {
          name: 'SimFreqAI',
          version: '1',
          current_stage: 'Production',
          source: `s3://${BUCKET}/models/SimFreqAI/1`,
          tags: {},
        },
        {
          name: 'SimFreqAI',
          version: '2',
          current_stage: 'None',
          source: `s3://${BUCKET}/models/SimFreqAI/2`,
          tags: {},
        },
      ]);
      dir = await mkdtemp(join(tmpdir(), 'tradai-s3-model-'));
    }, 60_000);
    afterAll(async () => {
      s3?.destroy();
      await mlflow?.close();
      await moto?.close();
      await rm(dir, { recursive: true, force: true });
    });

    it('lists and streams the objects under the s3:// location get-download-uri answers, with sizes and hashes', async () => {
      // prepare
      const downloader = new MlflowArtifactDownloader({ trackingUri: mlflow.url }, {}, s3);

      // act
      const downloaded = await downloader.download({ name: 'SimFreqAI', version: '1' }, join(dir, 'v1'));

      // assess
      expect(downloaded.artifactUri).toBe(`s3://${BUCKET}/models/SimFreqAI/1`);
      expect(downloaded.files.map((file) => file.path).sort()).toEqual(Object.keys(FILES).sort());
      const model = downloaded.files.find((file) => file.path.endsWith('.joblib'));
      expect(model?.sha256).toBe(
        createHash('sha256')
          .update(FILES['sub-train-BTC_1/cb_btc_1_model.joblib'] ?? '')
          .digest('hex'),
      );
      expect(await readFile(join(dir, 'v1', 'pair_dictionary.json'), 'utf8')).toBe(
        FILES['pair_dictionary.json'],
      );
    });

    it('refuses a version with nothing under its S3 prefix (not_found, naming the location)', async () => {
      // prepare
      const downloader = new MlflowArtifactDownloader({ trackingUri: mlflow.url }, {}, s3);

      // act
      const error = await downloader
        .download({ name: 'SimFreqAI', version: '2' }, join(dir, 'v2'))
        .catch((e: unknown) => e);

      // assess
      expect(error).toBeInstanceOf(MlflowRegistryError);
      expect((error as MlflowRegistryError).reason).toBe('not_found');
      expect((error as MlflowRegistryError).message).toContain(`s3://${BUCKET}/models/SimFreqAI/2`);
    });
  },
);
