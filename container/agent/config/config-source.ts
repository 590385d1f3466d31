import { readFile, realpath } from 'node:fs/promises';
import { isAbsolute, join, normalize, relative, resolve } from 'node:path';
import type { S3Client } from '@aws-sdk/client-s3';
import { filePathOf } from '../env';
import { StrategyConfigError } from '../errors';

/** Where base Freqtrade configs live: S3 in AWS (S3_CONFIG_BUCKET), a folder locally. */
export interface ConfigSource {
  /** `location` is the MLflow `configuration_file` tag: a key in the bucket, or a full `s3://` / `file://` URI. */
  readJson(location: string): Promise<unknown>;
}

/**
 * V8's JSON errors quote the text around the fault (`Unexpected token 'e', "exchange-s"...`); this message
 * reaches status_reason and pages, so only the position is kept.
 */
const parseJson = (text: string, where: string): unknown => {
  try {
    return JSON.parse(text);
  } catch (error) {
    const position = error instanceof Error ? /position (\d+)/.exec(error.message)?.[1] : undefined;
    throw new StrategyConfigError(
      'configuration_file',
      `${where} is not valid JSON${position === undefined ? '' : ` (at position ${position})`}`,
      { cause: error },
    );
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

const isInside = (root: string, candidate: string): boolean => {
  const path = relative(root, candidate);
  return path !== '' && !path.startsWith('..') && !isAbsolute(path);
};

/**
 * `S3_CONFIG_BUCKET=file:///dir`: keys, and `file://` URIs, resolve inside that folder and may not climb
 * out of it, not even through a symlink: a registry tag of `file:///etc/passwd` reads nothing.
 */
export class FileConfigSource implements ConfigSource {
  readonly #root: string;

  constructor(root: string) {
    this.#root = resolve(filePathOf(root) ?? root);
  }

  async readJson(location: string): Promise<unknown> {
    const outside = () =>
      new StrategyConfigError('configuration_file', `${location} points outside the config folder`);
    const explicit = filePathOf(location);
    let path: string;
    if (explicit !== undefined) path = resolve(explicit);
    else {
      // A leading slash is stripped as S3ConfigSource does, so a tag reads the same key in both; only
      // `file://` names an absolute path.
      const key = normalize(location.replace(/^s3:\/\/[^/]+\//, '').replace(/^\/+/, ''));
      if (isAbsolute(key) || key.startsWith('..')) throw outside();
      path = join(this.#root, key);
    }
    if (!isInside(this.#root, path)) throw outside();
    let text: string;
    try {
      // Symlinks resolved on both sides: a link inside the folder to a file outside it is outside.
      const real = await realpath(path);
      if (!isInside(await realpath(this.#root), real)) throw outside();
      text = await readFile(real, 'utf8');
    } catch (error) {
      if (error instanceof StrategyConfigError) throw error;
      const code = (error as NodeJS.ErrnoException).code ?? 'error';
      throw new StrategyConfigError('configuration_file', `cannot read ${location}: ${code}`, {
        cause: error,
      });
    }
    return parseJson(text, location);
  }
}

export const createConfigSource = async (bucketSpec: string): Promise<ConfigSource> => {
  if (bucketSpec.startsWith('file://')) return new FileConfigSource(bucketSpec);
  const { S3Client } = await import('@aws-sdk/client-s3');
  return new S3ConfigSource(new S3Client({}), bucketSpec);
};
