import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { PassThrough } from 'node:stream';
import { runTradai } from '../../../console/cli/program';

export interface ApiRequest {
  method: string;
  path: string;
  headers: IncomingHttpHeaders;
  /** The request body as sent ('' for none). */
  text: string;
}

export interface ApiReply {
  status: number;
  body: string;
  headers?: Record<string, string>;
}

export const jsonReply = (status: number, body: unknown): ApiReply => ({
  status,
  body: JSON.stringify(body),
});

/** A real HTTP server on 127.0.0.1 standing in for the API: `answer` decides each reply from the whole request. */
export const startApi = async (answer: (request: ApiRequest) => ApiReply) => {
  const server = createServer((request, response) => {
    let text = '';
    request.on('data', (chunk: Buffer) => {
      text += chunk.toString();
    });
    request.on('end', () => {
      const reply = answer({
        method: request.method ?? '',
        path: request.url ?? '',
        headers: request.headers,
        text,
      });
      response.writeHead(reply.status, { 'content-type': 'application/json', ...reply.headers });
      response.end(reply.body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    baseUrl: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
};

/** runTradai in-process against `baseUrl`, with what it printed on stdout and stderr. */
export const runCli = async (baseUrl: string, args: string[]) => {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  let out = '';
  let err = '';
  stdout.on('data', (chunk: Buffer) => {
    out += chunk.toString();
  });
  stderr.on('data', (chunk: Buffer) => {
    err += chunk.toString();
  });
  const code = await runTradai(['--api-url', baseUrl, '--token', 't', ...args], {
    env: {},
    stdin: new PassThrough(),
    stdout,
    stderr,
    signal: new AbortController().signal,
  });
  return { code, out, err };
};
