import { createServer, type IncomingMessage, type Server } from 'node:http';
import { z } from 'zod';

const LatestVersionsRequestSchema = z.object({ name: z.string(), stages: z.array(z.string()).default([]) });

export interface FakeModelVersion {
  name: string;
  version: string;
  current_stage: string;
  source?: string;
  aliases?: string[];
  tags: Record<string, string>;
  /**
   * The version's artifacts, served as MLflow's artifact proxy serves them (`mlflow-artifacts:/models/<name>/<version>`):
   * path → content. Absent: the listing is empty (`{}`), as MLflow answers for a path with nothing under it.
   */
  files?: Record<string, string>;
  /** Each artifact file sends its headers and first byte, then nothing more (a download that hangs). */
  stallFiles?: boolean;
}

export interface FakeMlflow {
  url: string;
  requests: { method: string; path: string; body: unknown }[];
  close(): Promise<void>;
}

const readBody = async (request: IncomingMessage): Promise<unknown> => {
  const chunks: Buffer[] = [];
  for await (const chunk of request) chunks.push(Buffer.from(chunk));
  const text = Buffer.concat(chunks).toString('utf8');
  return text === '' ? undefined : JSON.parse(text);
};

const wire = (version: FakeModelVersion) => ({
  name: version.name,
  version: version.version,
  creation_timestamp: 1_700_000_000_000,
  current_stage: version.current_stage,
  source: version.source ?? `s3://mlflow/${version.name}/${version.version}`,
  run_id: `run-${version.version}`,
  status: 'READY',
  aliases: version.aliases ?? [],
  tags: Object.entries(version.tags).map(([key, value]) => ({ key, value })),
});

/** A tiny MLflow Model Registry REST server (API 2.0 shapes) on 127.0.0.1 for tests. */
export const startFakeMlflow = async (
  versions: FakeModelVersion[],
  prefix = '/mlflow',
): Promise<FakeMlflow> => {
  const requests: FakeMlflow['requests'] = [];
  const server: Server = createServer(async (request, response) => {
    const url = new URL(request.url ?? '/', 'http://127.0.0.1');
    const body = await readBody(request);
    requests.push({ method: request.method ?? 'GET', path: url.pathname + url.search, body });
    const send = (status: number, payload: unknown) =>
      response.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(payload));
    const api = `${prefix}/api/2.0/mlflow`;
    if (request.method === 'GET' && url.pathname === `${api}/registered-models/alias`) {
      const name = url.searchParams.get('name');
      const alias = url.searchParams.get('alias') ?? '';
      const found = versions.find((v) => v.name === name && (v.aliases ?? []).includes(alias));
      if (found === undefined) {
        // Real MLflow 3.17: 404 for an unknown model, 400 INVALID_PARAMETER_VALUE for an unknown alias.
        const knownModel = versions.some((v) => v.name === name);
        send(knownModel ? 400 : 404, {
          error_code: knownModel ? 'INVALID_PARAMETER_VALUE' : 'RESOURCE_DOES_NOT_EXIST',
          message: knownModel
            ? `Registered model alias ${alias} not found.`
            : `Registered Model with name=${name} not found`,
        });
        return;
      }
      send(200, { model_version: wire(found) });
      return;
    }
    if (request.method === 'GET' && url.pathname === `${api}/model-versions/get`) {
      const found = versions.find(
        (v) => v.name === url.searchParams.get('name') && v.version === url.searchParams.get('version'),
      );
      if (found === undefined) {
        send(404, { error_code: 'RESOURCE_DOES_NOT_EXIST', message: 'not found' });
        return;
      }
      send(200, { model_version: wire(found) });
      return;
    }
    if (request.method === 'GET' && url.pathname === `${api}/model-versions/get-download-uri`) {
      const found = versions.find(
        (v) => v.name === url.searchParams.get('name') && v.version === url.searchParams.get('version'),
      );
      if (found === undefined) {
        send(404, { error_code: 'RESOURCE_DOES_NOT_EXIST', message: 'not found' });
        return;
      }
      // A server without --serve-artifacts answers the store's own URI (an s3:// source as registered).
      send(200, {
        artifact_uri: found.source?.startsWith('s3://')
          ? found.source
          : `mlflow-artifacts:/models/${found.name}/${found.version}`,
      });
      return;
    }
    const artifacts = `${prefix}/api/2.0/mlflow-artifacts/artifacts`;
    const filesUnder = (path: string) => {
      const match = /^models\/([^/]+)\/([^/]+)(?:\/(.*))?$/.exec(path);
      const version = versions.find((v) => v.name === match?.[1] && v.version === match?.[2]);
      return { version, inner: match?.[3] ?? '' };
    };
    if (request.method === 'GET' && url.pathname === artifacts) {
      const { version, inner } = filesUnder(url.searchParams.get('path') ?? '');
      const children = new Map<string, { is_dir: boolean; file_size?: number }>();
      for (const [path, content] of Object.entries(version?.files ?? {})) {
        if (inner !== '' && !path.startsWith(`${inner}/`)) continue;
        const rest = inner === '' ? path : path.slice(inner.length + 1);
        const [head, ...tail] = rest.split('/');
        if (head === undefined) continue;
        children.set(
          head,
          tail.length > 0 ? { is_dir: true } : { is_dir: false, file_size: Buffer.byteLength(content) },
        );
      }
      send(
        200,
        children.size === 0 ? {} : { files: [...children].map(([path, entry]) => ({ path, ...entry })) },
      );
      return;
    }
    if (request.method === 'GET' && url.pathname.startsWith(`${artifacts}/`)) {
      const { version, inner } = filesUnder(decodeURIComponent(url.pathname.slice(artifacts.length + 1)));
      const content = version?.files?.[inner];
      if (version === undefined || content === undefined) {
        send(404, { error_code: 'RESOURCE_DOES_NOT_EXIST', message: `no artifact ${inner}` });
        return;
      }
      const bytes = Buffer.from(content);
      response.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': bytes.length });
      if (version.stallFiles === true) response.write(bytes.subarray(0, 1));
      else response.end(bytes);
      return;
    }
    if (request.method === 'POST' && url.pathname === `${api}/registered-models/get-latest-versions`) {
      const payload = LatestVersionsRequestSchema.parse(body);
      const matching = versions.filter(
        (v) => v.name === payload.name && payload.stages.includes(v.current_stage),
      );
      if (!versions.some((v) => v.name === payload.name)) {
        send(404, {
          error_code: 'RESOURCE_DOES_NOT_EXIST',
          message: `Registered Model with name=${payload.name} not found`,
        });
        return;
      }
      send(200, matching.length === 0 ? {} : { model_versions: matching.map(wire) });
      return;
    }
    send(404, { error_code: 'ENDPOINT_NOT_FOUND', message: 'no such endpoint' });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const port = typeof address === 'object' && address !== null ? address.port : 0;
  return {
    url: `http://127.0.0.1:${port}${prefix}`,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
};
