import { createHash, randomUUID } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, readdir, rename, rm, stat } from 'node:fs/promises';
import { dirname, join, posix, resolve, sep } from 'node:path';
import { type Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { S3Client } from '@aws-sdk/client-s3';
import * as z from 'zod';
import { MlflowHttp, MlflowRegistryError, type MlflowRestOptions } from './mlflow';

/**
 * Downloads a model version's artifacts (a FreqAI model) from the tracking server into a folder.
 *
 * MLflow 3.17, as the real server answers:
 * - `GET /api/2.0/mlflow/model-versions/get-download-uri?name=&version=` → `{ artifact_uri }`, which is
 *   the version's source *verbatim* for a `runs:/<run>/<path>` source (not resolved), the logged model's
 *   location for a `models:/m-...` source, else the source URI (`mlflow-artifacts:/...`, `s3://...`);
 * - `runs:/` is resolved with `GET runs/get?run_id=` → `run.info.artifact_uri` + path;
 * - `mlflow-artifacts:/<path>` is served by the server's artifact proxy:
 *   `GET /api/2.0/mlflow-artifacts/artifacts?path=<dir>` → `{ files?: [{ path, is_dir, file_size? }] }`
 *   (names relative to `<dir>`; a path with nothing under it answers **200 `{}`**, not 404) and
 *   `GET /api/2.0/mlflow-artifacts/artifacts/<path>` → the bytes.
 * Sources the server does not proxy (`s3://`, a local path) are refused with the URI named.
 */

const DownloadUriSchema = z.object({ artifact_uri: z.string().min(1) });
const RunSchema = z.object({ run: z.object({ info: z.object({ artifact_uri: z.string().min(1) }) }) });
/** int64 fields may come as JSON strings from protobuf's JSON mapping; accept both. */
const FileSizeSchema = z.union([z.number().int().nonnegative(), z.string().regex(/^\d+$/).transform(Number)]);
const ListingSchema = z.object({
  files: z
    .array(
      z.object({
        path: z.string().min(1),
        is_dir: z.boolean().default(false),
        file_size: FileSizeSchema.optional(),
      }),
    )
    .default([]),
});

export interface ArtifactLimits {
  /** Refused before anything is downloaded when the listing adds up to more; also enforced on the bytes. */
  maxTotalBytes: number;
  maxFiles: number;
  /** Folder depth below the model's root. */
  maxDepth: number;
  /** For each file's download. */
  fileTimeoutMs: number;
  /** For the whole model, listing included (MODEL_DOWNLOAD_TIMEOUT_S); each file gets what is left of it. */
  totalTimeoutMs: number;
}

export const DEFAULT_ARTIFACT_LIMITS: ArtifactLimits = {
  maxTotalBytes: 512 * 1024 * 1024,
  maxFiles: 1_000,
  maxDepth: 8,
  fileTimeoutMs: 120_000,
  totalTimeoutMs: 600_000,
};

/** Where a version's artifacts come from: MLflow's REST API, or the file store of the local registry. */
export interface ModelArtifactDownloader {
  download(
    model: { name: string; version: string; source: string | null },
    destination: string,
  ): Promise<DownloadedModel>;
}

export interface DownloadedFile {
  /** Relative to the destination, with `/`. */
  path: string;
  bytes: number;
  sha256: string;
}

export interface DownloadedModel {
  name: string;
  version: string;
  /** What get-download-uri answered, and the proxied location it resolved to. */
  downloadUri: string;
  artifactUri: string;
  destination: string;
  files: DownloadedFile[];
  totalBytes: number;
}

interface ListedFile {
  path: string;
  size: number;
}

const ARTIFACTS_API = '/api/2.0/mlflow-artifacts/artifacts';

/** `mlflow-artifacts:/a/b`, `mlflow-artifacts://host/a/b` → `a/b`. */
const proxiedPathOf = (uri: string): string | undefined => {
  const match = /^mlflow-artifacts:(?:\/\/[^/]*)?\/*(.*)$/.exec(uri);
  return match?.[1]?.replace(/\/+$/, '');
};

/** A listed name may not climb out of the model's folder or be absolute. */
const safeRelative = (path: string): boolean =>
  path !== '' &&
  !path.startsWith('/') &&
  !path.includes('\\') &&
  path.split('/').every((part) => part !== '' && part !== '.' && part !== '..');

const encodePath = (path: string): string => path.split('/').map(encodeURIComponent).join('/');

/**
 * Counts and hashes the bytes that pass through; more than `limit` bytes fail the stream with `tooLong()`
 * so an oversized file is cut off while it streams, not after it filled the disk.
 */
const byteMeter = (limit: number, tooLong: () => Error) => {
  const hash = createHash('sha256');
  let received = 0;
  const stream = new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      received += chunk.length;
      if (received > limit) {
        callback(tooLong());
        return;
      }
      hash.update(chunk);
      callback(null, chunk);
    },
  });
  return { stream, received: () => received, sha256: () => hash.digest('hex') };
};

/**
 * Fills a fresh staging folder next to `destination` and only then swaps it into place: a failed or
 * partial download never replaces the model already there.
 */
const stageInto = async (
  destination: string,
  fill: (staging: string) => Promise<DownloadedFile[]>,
): Promise<Pick<DownloadedModel, 'destination' | 'files' | 'totalBytes'>> => {
  const target = resolve(destination);
  const staging = `${target}.partial-${randomUUID().slice(0, 8)}`;
  await mkdir(staging, { recursive: true });
  try {
    const files = await fill(staging);
    await rm(target, { recursive: true, force: true });
    await mkdir(dirname(target), { recursive: true });
    await rename(staging, target);
    return { destination: target, files, totalBytes: files.reduce((sum, file) => sum + file.bytes, 0) };
  } catch (error) {
    await rm(staging, { recursive: true, force: true });
    throw error;
  }
};

export class MlflowArtifactDownloader implements ModelArtifactDownloader {
  readonly #http: MlflowHttp;
  readonly #limits: ArtifactLimits;
  readonly #s3: () => Promise<S3Client>;

  /** `s3`: the client for s3:// artifact locations (default: one from the task's environment, made on first use). */
  constructor(options: MlflowRestOptions, limits: Partial<ArtifactLimits> = {}, s3?: S3Client) {
    this.#http = new MlflowHttp(options);
    this.#limits = { ...DEFAULT_ARTIFACT_LIMITS, ...limits };
    let client: S3Client | undefined = s3;
    this.#s3 = async () => {
      if (client === undefined) {
        const { S3Client: Client } = await import('@aws-sdk/client-s3');
        client = new Client({});
      }
      return client;
    };
  }

  /**
   * Downloads every file of the version's artifacts into `destination` (created; replaced whole only
   * once every file has arrived with the listed size, so a failed download never leaves a partial model).
   */
  async download(model: { name: string; version: string }, destination: string): Promise<DownloadedModel> {
    const what = `the artifacts of models:/${model.name}/${model.version}`;
    const deadline = Date.now() + this.#limits.totalTimeoutMs;
    try {
      return await this.#download(model, destination, what, deadline);
    } catch (error) {
      // A file cut off by what was left of the bound, or a listing that ran into it: the bound, not MLflow.
      if (
        Date.now() >= deadline - 50 &&
        !(error instanceof MlflowRegistryError && error.reason === 'not_found')
      ) {
        throw new MlflowRegistryError(
          'timed_out',
          `${what} did not arrive within ${Math.round(this.#limits.totalTimeoutMs / 1000)} s (MODEL_DOWNLOAD_TIMEOUT_S)`,
          { cause: error },
        );
      }
      throw error;
    }
  }

  async #download(
    model: { name: string; version: string },
    destination: string,
    what: string,
    deadline: number,
  ): Promise<DownloadedModel> {
    const downloadUri = await this.#downloadUri(model, what);
    const artifactUri = await this.#resolve(downloadUri, what);
    // A tracking server without --serve-artifacts hands out the store's own URI: S3, read with the task role.
    if (artifactUri.startsWith('s3://')) {
      return downloadFromS3(
        this.#s3,
        model,
        downloadUri,
        artifactUri,
        destination,
        what,
        this.#limits,
        deadline,
      );
    }
    const root = proxiedPathOf(artifactUri);
    if (root === undefined || root === '') {
      throw new MlflowRegistryError(
        'refused',
        `${what} are at ${artifactUri}, which neither the tracking server serves (mlflow-artifacts:/ through --serve-artifacts) nor the agent reads (s3://)`,
      );
    }
    const listed = await this.#list(root, '', 0, what);
    if (listed.length === 0) {
      // MLflow lists a path with nothing under it as 200 {}: a missing model is an empty listing.
      throw new MlflowRegistryError('not_found', `${what}: no files under ${artifactUri}`, { status: 200 });
    }
    const totalListed = listed.reduce((sum, file) => sum + file.size, 0);
    if (totalListed > this.#limits.maxTotalBytes) {
      throw new MlflowRegistryError(
        'refused',
        `${what} hold ${totalListed} bytes in ${listed.length} files, over the limit of ${this.#limits.maxTotalBytes}`,
      );
    }
    const staged = await stageInto(destination, async (staging) => {
      const files: DownloadedFile[] = [];
      for (const file of listed) files.push(await this.#fetchFile(root, file, staging, what, deadline));
      return files;
    });
    return { name: model.name, version: model.version, downloadUri, artifactUri, ...staged };
  }

  async #downloadUri(model: { name: string; version: string }, what: string): Promise<string> {
    const query = new URLSearchParams({ name: model.name, version: model.version });
    const body = await this.#http.json(
      'GET',
      `/api/2.0/mlflow/model-versions/get-download-uri?${query}`,
      undefined,
      what,
    );
    return this.#http.parse(DownloadUriSchema, body, what).artifact_uri;
  }

  /** `runs:/<run>/<path>` → the run's artifact root + path; anything else as it is. */
  async #resolve(uri: string, what: string): Promise<string> {
    const run = /^runs:\/([^/]+)\/?(.*)$/.exec(uri);
    if (run === null) return uri;
    const [, runId = '', path = ''] = run;
    const body = await this.#http.json(
      'GET',
      `/api/2.0/mlflow/runs/get?${new URLSearchParams({ run_id: runId })}`,
      undefined,
      what,
    );
    const root = this.#http.parse(RunSchema, body, what).run.info.artifact_uri.replace(/\/+$/, '');
    return path === '' ? root : `${root}/${path.replace(/^\/+|\/+$/g, '')}`;
  }

  async #list(root: string, relative: string, depth: number, what: string): Promise<ListedFile[]> {
    if (depth > this.#limits.maxDepth) {
      throw new MlflowRegistryError(
        'refused',
        `${what}: folders nested deeper than ${this.#limits.maxDepth}`,
      );
    }
    const path = relative === '' ? root : `${root}/${relative}`;
    const body = await this.#http.json(
      'GET',
      `${ARTIFACTS_API}?${new URLSearchParams({ path })}`,
      undefined,
      what,
    );
    const listing = this.#http.parse(ListingSchema, body, what);
    const files: ListedFile[] = [];
    for (const entry of listing.files) {
      // The proxy lists names relative to the listed folder; tolerate full paths under it too.
      const name = entry.path.startsWith(`${path}/`) ? entry.path.slice(path.length + 1) : entry.path;
      if (!safeRelative(name)) {
        throw new MlflowRegistryError(
          'bad_reply',
          `${what}: the listing names an unsafe path ${JSON.stringify(entry.path)}`,
        );
      }
      const child = relative === '' ? name : posix.join(relative, name);
      if (entry.is_dir) files.push(...(await this.#list(root, child, depth + 1, what)));
      else {
        if (entry.file_size === undefined) {
          throw new MlflowRegistryError('bad_reply', `${what}: the listing gives no size for ${child}`);
        }
        files.push({ path: child, size: entry.file_size });
      }
      if (files.length > this.#limits.maxFiles) {
        throw new MlflowRegistryError('refused', `${what} hold more than ${this.#limits.maxFiles} files`);
      }
    }
    return files;
  }

  async #fetchFile(
    root: string,
    file: ListedFile,
    staging: string,
    what: string,
    deadline: number,
  ): Promise<DownloadedFile> {
    const response = await this.#http.stream(
      `${ARTIFACTS_API}/${encodePath(`${root}/${file.path}`)}`,
      `${what} (${file.path})`,
      Math.max(1, Math.min(this.#limits.fileTimeoutMs, deadline - Date.now())),
    );
    const announced = Number(response.headers['content-length'] ?? Number.NaN);
    if (Number.isFinite(announced) && announced !== file.size) {
      response.body.destroy();
      throw new MlflowRegistryError(
        'bad_reply',
        `${what}: ${file.path} is announced as ${announced} bytes, listed as ${file.size}`,
      );
    }
    const out = join(staging, ...file.path.split('/'));
    if (!out.startsWith(staging + sep)) {
      response.body.destroy();
      throw new MlflowRegistryError('bad_reply', `${what}: ${file.path} resolves outside the model folder`);
    }
    await mkdir(dirname(out), { recursive: true });
    const meter = byteMeter(
      file.size,
      () =>
        new MlflowRegistryError(
          'bad_reply',
          `${what}: ${file.path} is longer than its listed ${file.size} bytes`,
        ),
    );
    try {
      await pipeline(response.body, meter.stream, createWriteStream(out));
    } catch (error) {
      if (error instanceof MlflowRegistryError) throw error;
      throw new MlflowRegistryError(
        'unavailable',
        `${what}: the download of ${file.path} broke off: ${String(error)}`,
        {
          cause: error,
        },
      );
    }
    const written = (await stat(out)).size;
    if (meter.received() !== file.size || written !== file.size) {
      throw new MlflowRegistryError(
        'bad_reply',
        `${what}: ${file.path} arrived with ${meter.received()} bytes, listed as ${file.size}`,
      );
    }
    return { path: file.path, bytes: meter.received(), sha256: meter.sha256() };
  }
}

/**
 * A version's artifacts in S3 (`s3://bucket/prefix`): listed with ListObjectsV2 (sizes from the listing),
 * each object streamed with its bytes counted and hashed, the same limits, bound and staging as a proxied
 * download. Nothing under the prefix is `not_found`.
 */
const downloadFromS3 = async (
  s3: () => Promise<S3Client>,
  model: { name: string; version: string },
  downloadUri: string,
  artifactUri: string,
  destination: string,
  what: string,
  limits: ArtifactLimits,
  deadline: number,
): Promise<DownloadedModel> => {
  const { ListObjectsV2Command, GetObjectCommand } = await import('@aws-sdk/client-s3');
  const client = await s3();
  const match = /^s3:\/\/([^/]+)\/?(.*)$/.exec(artifactUri);
  const bucket = match?.[1] ?? '';
  const prefix = (match?.[2] ?? '').replace(/\/+$/, '');
  const base = prefix === '' ? '' : `${prefix}/`;
  const signal = () =>
    AbortSignal.timeout(Math.max(1, Math.min(limits.fileTimeoutMs, deadline - Date.now())));
  const fault = (error: unknown, doing: string) =>
    error instanceof MlflowRegistryError
      ? error
      : new MlflowRegistryError('unavailable', `${what}: ${doing} ${artifactUri} failed: ${String(error)}`, {
          cause: error,
        });
  const listed: ListedFile[] = [];
  let token: string | undefined;
  try {
    do {
      const page = await client.send(
        new ListObjectsV2Command({ Bucket: bucket, Prefix: base, ContinuationToken: token }),
        { abortSignal: signal() },
      );
      for (const object of page.Contents ?? []) {
        const name = (object.Key ?? '').slice(base.length);
        if (name === '' || name.endsWith('/')) continue;
        if (!safeRelative(name) || name.split('/').length > limits.maxDepth + 1) {
          throw new MlflowRegistryError(
            'bad_reply',
            `${what}: the bucket lists an unsafe path ${JSON.stringify(object.Key)}`,
          );
        }
        listed.push({ path: name, size: object.Size ?? 0 });
        if (listed.length > limits.maxFiles) {
          throw new MlflowRegistryError('refused', `${what} hold more than ${limits.maxFiles} files`);
        }
      }
      token = page.IsTruncated === true ? page.NextContinuationToken : undefined;
    } while (token !== undefined);
  } catch (error) {
    throw fault(error, 'listing');
  }
  if (listed.length === 0)
    throw new MlflowRegistryError('not_found', `${what}: no files under ${artifactUri}`);
  const total = listed.reduce((sum, file) => sum + file.size, 0);
  if (total > limits.maxTotalBytes) {
    throw new MlflowRegistryError(
      'refused',
      `${what} hold ${total} bytes, over the limit of ${limits.maxTotalBytes}`,
    );
  }
  const staged = await stageInto(destination, async (staging) => {
    const files: DownloadedFile[] = [];
    for (const file of listed) {
      const out = join(staging, ...file.path.split('/'));
      await mkdir(dirname(out), { recursive: true });
      const meter = byteMeter(
        file.size,
        () =>
          new MlflowRegistryError(
            'bad_reply',
            `${what}: ${file.path} is longer than its listed ${file.size} bytes`,
          ),
      );
      try {
        const object = await client.send(
          new GetObjectCommand({ Bucket: bucket, Key: `${base}${file.path}` }),
          {
            abortSignal: signal(),
          },
        );
        await pipeline(object.Body as Readable, meter.stream, createWriteStream(out));
      } catch (error) {
        throw fault(error, `reading ${file.path} of`);
      }
      if (meter.received() !== file.size) {
        throw new MlflowRegistryError(
          'bad_reply',
          `${what}: ${file.path} arrived with ${meter.received()} bytes, listed as ${file.size}`,
        );
      }
      files.push({ path: file.path, bytes: meter.received(), sha256: meter.sha256() });
    }
    return files;
  });
  return { name: model.name, version: model.version, downloadUri, artifactUri, ...staged };
};

/**
 * The local registry's file store: a version's `source` is a folder, absolute (`file:///...`) or relative
 * to the registry file's folder. Copied with the same checks as a download (sizes as stat'ed, the limits,
 * no path outside the folder, a partial copy never left in place).
 */
export class FileArtifactDownloader implements ModelArtifactDownloader {
  readonly #root: string;
  readonly #limits: ArtifactLimits;

  /** `registryUri`: the file registry (`file:///.../registry.json` or its folder). */
  constructor(registryUri: string, limits: Partial<ArtifactLimits> = {}) {
    const path = registryUri.startsWith('file://')
      ? decodeURIComponent(new URL(registryUri).pathname)
      : registryUri;
    this.#root = path.endsWith('.json') ? dirname(path) : path;
    this.#limits = { ...DEFAULT_ARTIFACT_LIMITS, ...limits };
  }

  async download(
    model: { name: string; version: string; source: string | null },
    destination: string,
  ): Promise<DownloadedModel> {
    const what = `the artifacts of models:/${model.name}/${model.version}`;
    if (model.source === null || model.source === '') {
      throw new MlflowRegistryError('not_found', `${what}: the version has no source`);
    }
    const folder = model.source.startsWith('file://')
      ? decodeURIComponent(new URL(model.source).pathname)
      : resolve(this.#root, model.source);
    const listed: ListedFile[] = [];
    const walk = async (relative: string, depth: number): Promise<void> => {
      if (depth > this.#limits.maxDepth) {
        throw new MlflowRegistryError(
          'refused',
          `${what}: folders nested deeper than ${this.#limits.maxDepth}`,
        );
      }
      const entries = await readdir(join(folder, relative), { withFileTypes: true });
      for (const entry of entries) {
        const child = relative === '' ? entry.name : posix.join(relative, entry.name);
        if (entry.isDirectory()) await walk(child, depth + 1);
        else if (entry.isFile()) listed.push({ path: child, size: (await stat(join(folder, child))).size });
        if (listed.length > this.#limits.maxFiles) {
          throw new MlflowRegistryError('refused', `${what} hold more than ${this.#limits.maxFiles} files`);
        }
      }
    };
    try {
      await walk('', 0);
    } catch (error) {
      if (error instanceof MlflowRegistryError) throw error;
      throw new MlflowRegistryError('not_found', `${what}: no files at ${model.source} (${String(error)})`, {
        cause: error,
      });
    }
    if (listed.length === 0)
      throw new MlflowRegistryError('not_found', `${what}: no files at ${model.source}`);
    const total = listed.reduce((sum, file) => sum + file.size, 0);
    if (total > this.#limits.maxTotalBytes) {
      throw new MlflowRegistryError(
        'refused',
        `${what} hold ${total} bytes, over the limit of ${this.#limits.maxTotalBytes}`,
      );
    }
    const changed = (path: string) =>
      new MlflowRegistryError('bad_reply', `${what}: ${path} changed while it was copied`);
    const staged = await stageInto(destination, async (staging) => {
      const files: DownloadedFile[] = [];
      for (const file of listed) {
        const out = join(staging, ...file.path.split('/'));
        await mkdir(dirname(out), { recursive: true });
        // No cut-off while copying: a file that grew since it was stat'ed is refused after, by its count.
        const meter = byteMeter(Number.POSITIVE_INFINITY, () => changed(file.path));
        await pipeline(createReadStream(join(folder, file.path)), meter.stream, createWriteStream(out));
        if (meter.received() !== file.size) throw changed(file.path);
        files.push({ path: file.path, bytes: meter.received(), sha256: meter.sha256() });
      }
      return files;
    });
    return {
      name: model.name,
      version: model.version,
      downloadUri: model.source,
      artifactUri: `file://${folder}`,
      ...staged,
    };
  }
}

/** The registry's own store: MLflow's artifact proxy for an http(s) tracking URI, the file store for file://. */
export const createArtifactDownloader = (
  options: MlflowRestOptions,
  limits: Partial<ArtifactLimits> = {},
): ModelArtifactDownloader =>
  options.trackingUri.startsWith('file://')
    ? new FileArtifactDownloader(options.trackingUri, limits)
    : new MlflowArtifactDownloader(options, limits);
