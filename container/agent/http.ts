import { Agent as HttpAgent, request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import type { Readable } from 'node:stream';

export interface HttpInit {
  method: string;
  headers: Record<string, string>;
  body?: string | Uint8Array;
  /** Bounds the whole exchange, the body's streaming included (as fetch's signal does). */
  signal?: AbortSignal;
}

/** The part of fetch the agent's HTTP clients use; the global fetch satisfies it. */
export type HttpFetch = (
  url: string,
  init: { method: string; headers: Record<string, string>; body?: string; signal?: AbortSignal },
) => Promise<{ ok: boolean; status: number; text(): Promise<string> }>;

/** An answer whose body the caller reads as a stream (destroy it to give the answer up). */
export interface HttpStreamedReply {
  ok: boolean;
  status: number;
  headers: IncomingHttpHeaders;
  body: Readable;
}

export type HttpStream = (url: string, init: HttpInit) => Promise<HttpStreamedReply>;

const httpAgent = new HttpAgent({ keepAlive: true, maxSockets: 8 });
const httpsAgent = new HttpsAgent({ keepAlive: true, maxSockets: 8 });

/**
 * Plain node:http(s) for every call the agent makes (Freqtrade, MLflow). Global fetch (undici) compiles a
 * WebAssembly HTTP parser on first use, which costs more resident memory than the whole rest of the agent.
 * An abort of `signal` fails the request or, once answered, the body stream, with the signal's reason
 * (a TimeoutError for AbortSignal.timeout), as fetch does.
 */
export const nodeHttpStream: HttpStream = (url, init) =>
  new Promise((resolve, reject) => {
    const target = new URL(url);
    if (target.protocol !== 'http:' && target.protocol !== 'https:') {
      reject(new TypeError(`unsupported protocol ${target.protocol} in ${target.origin}`));
      return;
    }
    const signal = init.signal;
    const abortError = (): Error => {
      const reason: unknown = signal?.reason;
      return reason instanceof Error ? reason : new Error(String(reason ?? 'aborted'));
    };
    if (signal?.aborted) {
      reject(abortError());
      return;
    }
    const secure = target.protocol === 'https:';
    const req = (secure ? httpsRequest : httpRequest)(target, {
      method: init.method,
      headers:
        init.body === undefined
          ? init.headers
          : { ...init.headers, 'content-length': String(Buffer.byteLength(init.body)) },
      agent: secure ? httpsAgent : httpAgent,
    });
    let body: Readable | undefined;
    const onAbort = () => {
      const error = abortError();
      req.destroy(error);
      body?.destroy(error);
      reject(error);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
    const release = () => signal?.removeEventListener('abort', onAbort);
    req.on('response', (res) => {
      body = res;
      res.once('close', release);
      const status = res.statusCode ?? 0;
      resolve({ ok: status >= 200 && status < 300, status, headers: res.headers, body: res });
    });
    req.on('error', (error) => {
      release();
      reject(signal?.aborted ? abortError() : error);
    });
    if (init.body !== undefined) req.write(init.body);
    req.end();
  });

/** The whole body as UTF-8; rejects when the stream breaks off (or its signal aborts it). */
export const readText = async (body: Readable): Promise<string> => {
  const chunks: Buffer[] = [];
  for await (const chunk of body) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
};

export const nodeHttpFetch: HttpFetch = async (url, init) => {
  const reply = await nodeHttpStream(url, init);
  const text = await readText(reply.body);
  return { ok: reply.ok, status: reply.status, text: async () => text };
};
