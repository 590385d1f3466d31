import { cp, readdir, readFile, stat } from 'node:fs/promises';
import { join, relative } from 'node:path';
import type { S3Client } from '@aws-sdk/client-s3';
import { parseBucket } from './config/config-source';
import { filePathOf } from './env';

/**
 * Where one-shot results (backtest, hyperopt, train) outlive their container: S3 in AWS, a folder locally.
 * The returned location is what the session records as `result_s3_path` (seed §6).
 */
export interface ResultStore {
  publish(localDir: string, runId: string): Promise<string>;
}

const filesUnder = async (dir: string): Promise<string[]> => {
  const entries = await readdir(dir, { withFileTypes: true });
  const nested = await Promise.all(
    entries.map((entry) => {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) return filesUnder(path);
      return Promise.resolve(entry.isFile() ? [path] : []);
    }),
  );
  return nested.flat();
};

/** Uploads every file of the results folder under `<prefix>results/<run id>/`. */
export class S3ResultStore implements ResultStore {
  readonly #client: S3Client;
  readonly #bucket: string;
  readonly #prefix: string;

  constructor(client: S3Client, bucketSpec: string) {
    this.#client = client;
    const { bucket, prefix } = parseBucket(bucketSpec);
    this.#bucket = bucket;
    this.#prefix = prefix;
  }

  async publish(localDir: string, runId: string): Promise<string> {
    const { PutObjectCommand } = await import('@aws-sdk/client-s3');
    const base = `${this.#prefix}results/${runId}/`;
    for (const file of await filesUnder(localDir)) {
      await this.#client.send(
        new PutObjectCommand({
          Bucket: this.#bucket,
          Key: `${base}${relative(localDir, file).split('\\').join('/')}`,
          Body: await readFile(file),
        }),
      );
    }
    return `s3://${this.#bucket}/${base}`;
  }
}

/** `file:///dir`: results are copied to `<dir>/results/<run id>/`. */
export class FileResultStore implements ResultStore {
  readonly #root: string;

  constructor(root: string) {
    this.#root = filePathOf(root) ?? root;
  }

  async publish(localDir: string, runId: string): Promise<string> {
    const target = join(this.#root, 'results', runId);
    await stat(localDir);
    await cp(localDir, target, { recursive: true });
    return `file://${target}/`;
  }
}

export const createResultStore = async (spec: string): Promise<ResultStore> => {
  if (spec.startsWith('file://')) return new FileResultStore(spec);
  const { S3Client } = await import('@aws-sdk/client-s3');
  return new S3ResultStore(new S3Client({}), spec);
};
