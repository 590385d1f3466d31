import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  CreateBucketCommand,
  GetObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import { FileConfigSource, parseBucket, S3ConfigSource } from '../../container/agent/config/config-source';
import { FileResultStore, S3ResultStore } from '../../container/agent/results';
import { type MotoServer, startMotoServer } from '../support/moto-server';
import { configSourceContract } from './config-source.contract';
import { resultStoreContract } from './result-store.contract';

const filesUnder = async (root: string): Promise<Record<string, string>> => {
  const entries = await readdir(root, { recursive: true, withFileTypes: true });
  const files: Record<string, string> = {};
  for (const entry of entries.filter((candidate) => candidate.isFile())) {
    const path = join(entry.parentPath, entry.name);
    files[relative(root, path)] = await readFile(path, 'utf8');
  }
  return files;
};

const motoS3 = async (bucket: string): Promise<{ moto: MotoServer; client: S3Client }> => {
  const moto = await startMotoServer();
  const client = new S3Client(moto.clientConfig);
  await client.send(new CreateBucketCommand({ Bucket: bucket }));
  return { moto, client };
};

const objectsUnder = async (client: S3Client, location: string): Promise<Record<string, string>> => {
  const { bucket, prefix } = parseBucket(location);
  const files: Record<string, string> = {};
  let token: string | undefined;
  do {
    const page = await client.send(
      new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ContinuationToken: token }),
    );
    for (const { Key } of page.Contents ?? []) {
      if (Key === undefined) continue;
      const object = await client.send(new GetObjectCommand({ Bucket: bucket, Key }));
      files[Key.slice(prefix.length)] = (await object.Body?.transformToString('utf8')) ?? '';
    }
    token = page.NextContinuationToken;
  } while (token !== undefined);
  return files;
};

resultStoreContract('folder (file://)', async () => {
  const root = await mkdtemp(join(tmpdir(), 'tradai-results-bucket-'));
  return {
    store: new FileResultStore(`file://${root}`),
    read: (location) => filesUnder(fileURLToPath(location)),
    close: () => rm(root, { recursive: true, force: true }),
  };
});

resultStoreContract('S3 (moto over HTTP)', async () => {
  const { moto, client } = await motoS3('tradai-results');
  return {
    store: new S3ResultStore(client, 's3://tradai-results/one-shot'),
    read: (location) => objectsUnder(client, location),
    close: async () => {
      client.destroy();
      await moto.close();
    },
  };
});

configSourceContract('folder (file://)', async () => {
  const root = await mkdtemp(join(tmpdir(), 'tradai-config-bucket-'));
  return {
    source: new FileConfigSource(`file://${root}`),
    bucket: 'tradai-configs',
    put: async (key, text) => {
      await mkdir(dirname(join(root, key)), { recursive: true });
      await writeFile(join(root, key), text);
    },
    close: () => rm(root, { recursive: true, force: true }),
  };
});

configSourceContract('S3 (moto over HTTP)', async () => {
  const { moto, client } = await motoS3('tradai-configs');
  return {
    source: new S3ConfigSource(client, 'tradai-configs'),
    bucket: 'tradai-configs',
    put: async (key, text) => {
      await client.send(new PutObjectCommand({ Bucket: 'tradai-configs', Key: key, Body: text }));
    },
    close: async () => {
      client.destroy();
      await moto.close();
    },
  };
});
