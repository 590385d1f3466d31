/**
 * The operator console (console/web) as the local cloud serves it at `/`: bundled by esbuild when the
 * cloud starts (in memory, so a stale bundle can never be served), `/config.json` saying "log in with the
 * local issuer", and `POST /local/token`, which mints a token for the scopes and groups chosen on the login
 * page. Local only: nothing under local/ is deployed; in AWS the site is static and logs in via Cognito.
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { dirname, join } from 'node:path';
import { build } from 'esbuild';
import * as z from 'zod';
import type { LocalTokenReplySchema, LoginConfig } from '../../console/web/src/auth';
import { LIVE_GROUP, SCOPE_RESOURCE_SERVER, SCOPES } from '../../shared/http/constants';
import type { LocalIssuer } from './jwt-issuer';

const CONSOLE_DIR = join(import.meta.dirname, '..', '..', 'console', 'web');

export interface SiteFile {
  contentType: string;
  body: Uint8Array;
}

const CONTENT_TYPES: Readonly<Record<string, string>> = {
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.html': 'text/html; charset=utf-8',
  '.json': 'application/json',
};
const contentTypeOf = (path: string) =>
  CONTENT_TYPES[path.slice(path.lastIndexOf('.'))] ?? 'application/octet-stream';

/**
 * The console's files by URL path: `/` (index.html), `/app.js`, `/app.css`. `outdir` also writes them
 * there (the static site for S3, `npm run console:build`).
 */
export const buildConsole = async (options: { outdir?: string } = {}): Promise<Map<string, SiteFile>> => {
  const outdir = options.outdir ?? join(CONSOLE_DIR, 'dist');
  const result = await build({
    entryPoints: { app: join(CONSOLE_DIR, 'src', 'main.ts') },
    bundle: true,
    // The chart (uPlot) is its own chunk, fetched when a detail view opens: the fleet view loads without it.
    splitting: true,
    chunkNames: 'chunks/[name]-[hash]',
    minify: true,
    format: 'esm',
    target: 'es2022',
    platform: 'browser',
    outdir,
    write: false,
    logLevel: 'silent',
    legalComments: 'none',
  });
  const files = new Map<string, SiteFile>();
  for (const file of result.outputFiles ?? []) {
    const name = `/${file.path.slice(outdir.length + 1)}`;
    files.set(name, { contentType: contentTypeOf(name), body: file.contents });
  }
  const index = await readFile(join(CONSOLE_DIR, 'index.html'));
  files.set('/', { contentType: CONTENT_TYPES['.html'] as string, body: index });
  if (options.outdir !== undefined) {
    for (const [name, file] of files) {
      const path = join(outdir, name === '/' ? 'index.html' : name);
      await mkdir(dirname(path), { recursive: true });
      await writeFile(path, file.body);
    }
  }
  return files;
};

const LoginRequestSchema = z.strictObject({
  subject: z.string().trim().min(1).max(256),
  scopes: z.array(z.enum([SCOPES.read, SCOPES.write, SCOPES.live])).max(3),
  groups: z.array(z.literal(LIVE_GROUP)).max(1),
});

const MAX_LOGIN_BODY = 4 * 1024;

const readSmallBody = (request: IncomingMessage): Promise<string | undefined> =>
  new Promise((resolve, reject) => {
    let text = '';
    request.setEncoding('utf8');
    request.on('data', (chunk: string) => {
      text += chunk;
      if (text.length > MAX_LOGIN_BODY) {
        resolve(undefined);
        request.destroy();
      }
    });
    request.on('end', () => resolve(text));
    request.on('error', reject);
  });

const sendJson = (response: ServerResponse, status: number, body: unknown) => {
  response.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store' });
  response.end(JSON.stringify(body));
};
const refuse = (response: ServerResponse, status: number, code: string, message: string) =>
  sendJson(response, status, { message, error: { code, message } });

/**
 * Any page the browser has open could post to 127.0.0.1: the token is minted only for a same-origin JSON
 * request (a cross-site form cannot send JSON without a CORS preflight, which this server never grants)
 * whose Host is this loopback server (no DNS rebinding).
 */
const sameOrigin = (request: IncomingMessage, port: number): boolean => {
  const hosts = [`127.0.0.1:${port}`, `localhost:${port}`];
  if (!hosts.includes(request.headers.host ?? '')) return false;
  const origin = request.headers.origin;
  return origin === undefined || hosts.some((host) => origin === `http://${host}`);
};

export type ConsoleSite = (
  request: IncomingMessage,
  response: ServerResponse,
  url: URL,
  port: number,
) => Promise<boolean>;

/** Answers the console's requests; false when the request is not the console's (the API's 404 follows). */
export const localConsoleSite = async (issuer: LocalIssuer): Promise<ConsoleSite> => {
  const files = await buildConsole();
  return async (request, response, url, port) => {
    const method = request.method ?? 'GET';
    if (method === 'POST' && url.pathname === '/local/token') {
      if (!sameOrigin(request, port)) {
        refuse(response, 403, 'forbidden', 'The local login answers only its own page on 127.0.0.1');
        return true;
      }
      if (!(request.headers['content-type'] ?? '').startsWith('application/json')) {
        refuse(response, 415, 'unsupported_media_type', 'Send the login as application/json');
        return true;
      }
      const text = await readSmallBody(request);
      let parsed: ReturnType<typeof LoginRequestSchema.safeParse>;
      try {
        parsed = LoginRequestSchema.safeParse(JSON.parse(text ?? ''));
      } catch {
        refuse(response, 400, 'invalid_request', 'The login body is not JSON');
        return true;
      }
      if (!parsed.success) {
        const issue = parsed.error.issues[0];
        refuse(response, 400, 'invalid_request', `${issue?.path.join('.') || 'body'}: ${issue?.message}`);
        return true;
      }
      const token = await issuer.issue({
        subject: parsed.data.subject,
        scopes: parsed.data.scopes.map((scope) => `${SCOPE_RESOURCE_SERVER}/${scope}`),
        groups: parsed.data.groups,
      });
      sendJson(response, 200, { token } satisfies z.input<typeof LocalTokenReplySchema>);
      return true;
    }
    if (method !== 'GET' && method !== 'HEAD') return false;
    if (url.pathname === '/config.json') {
      sendJson(response, 200, { kind: 'local' } satisfies LoginConfig);
      return true;
    }
    const file = files.get(url.pathname === '/index.html' ? '/' : url.pathname);
    if (file === undefined) return false;
    response.writeHead(200, { 'content-type': file.contentType, 'cache-control': 'no-cache' });
    response.end(method === 'HEAD' ? undefined : file.body);
    return true;
  };
};
