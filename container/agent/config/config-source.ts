import { readFile } from 'node:fs/promises';
import { isAbsolute, join, normalize } from 'node:path';
import type { S3Client } from '@aws-sdk/client-s3';
import { filePathOf } from '../env';
import { StrategyConfigError } from '../errors';

/** Where base Freqtrade configs live: S3 in AWS (S3_CONFIG_BUCKET), a folder locally. */
export interface ConfigSource {
  /** `location` is the MLflow `configuration_file` tag: a key in the bucket, or a full `s3://` / `file://` URI. */
  readJson(location: string): Promise<unknown>;
}

const parseJson = (text: string, where: string): unknown => {
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new StrategyConfigError('configuration_file', `${where} is not valid JSON: ${String(error)}`, {
      cause: error,
    });
  }
};

/** `s3://bucket/prefix` or a plain bucket name. */
export const parseBucket = (value: string): { bucket: string; prefix: string } => {
  const trimmed = value.replace(/^s3:\/\//, '');
  const [bucket = '', ...rest] = trimmed.split('/');
  const prefix = rest.filter((part) => part !== '').join('/');
  return { bucket, prefix: prefix === '' ? '' : `${prefix}/` };
};

export class S3ConfigSource implements ConfigSource {
  readonly #client: S3Client;
  readonly #bucket: string;
  readonly #prefix: string;

  constructor(client: S3Client, bucketSpec: string) {
    this.#client = client;
    const { bucket, prefix } = parseBucket(bucketSpec);
    this.#bucket = bucket;
    this.#prefix = prefix;
  }

  async readJson(location: string): Promise<unknown> {
    const { GetObjectCommand } = await import('@aws-sdk/client-s3');
    const [bucket, key] = location.startsWith('s3://')
      ? (() => {
          const { bucket: b, prefix } = parseBucket(location);
          return [b, prefix.replace(/\/$/, '')];
        })()
      : [this.#bucket, `${this.#prefix}${location.replace(/^\/+/, '')}`];
    try {
      const result = await this.#client.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
      const text = (await result.Body?.transformToString('utf8')) ?? '';
      return parseJson(text, `s3://${bucket}/${key}`);
    } catch (error) {
      if (error instanceof StrategyConfigError) throw error;
      throw new StrategyConfigError(
        'configuration_file',
        `cannot read s3://${bucket}/${key}: ${error instanceof Error ? error.message : String(error)}`,
        { cause: error },
      );
    }
  }
}

/** `S3_CONFIG_BUCKET=file:///dir`: keys resolve inside that folder and may not climb out of it. */
export class FileConfigSource implements ConfigSource {
  readonly #root: string;

  constructor(root: string) {
    this.#root = filePathOf(root) ?? root;
  }

  async readJson(location: string): Promise<unknown> {
    const explicit = filePathOf(location);
    let path: string;
    if (explicit !== undefined) path = explicit;
    else {
      // A leading slash is stripped as S3ConfigSource does, so a tag reads the same key in both; only
      // `file://` names an absolute path.
      const relative = normalize(location.replace(/^s3:\/\/[^/]+\//, '').replace(/^\/+/, ''));
      if (isAbsolute(relative) || relative.startsWith('..')) {
        throw new StrategyConfigError('configuration_file', `${location} points outside the config folder`);
      }
      path = join(this.#root, relative);
    }
    let text: string;
    try {
      text = await readFile(path, 'utf8');
    } catch (error) {
      throw new StrategyConfigError('configuration_file', `cannot read ${path}: ${String(error)}`, {
        cause: error,
      });
    }
    return parseJson(text, path);
  }
}

export const createConfigSource = async (bucketSpec: string): Promise<ConfigSource> => {
  if (bucketSpec.startsWith('file://')) return new FileConfigSource(bucketSpec);
  const { S3Client } = await import('@aws-sdk/client-s3');
  return new S3ConfigSource(new S3Client({}), bucketSpec);
};
