import { Agent, request } from 'node:http';

/** The part of fetch the agent's HTTP clients use; the global fetch satisfies it. */
export type HttpFetch = (
  url: string,
  init: { method: string; headers: Record<string, string>; body?: string; signal?: AbortSignal },
) => Promise<{ ok: boolean; status: number; text(): Promise<string> }>;

const keepAlive = new Agent({ keepAlive: true, maxSockets: 8 });

/**
 * Plain node:http for the loopback calls to Freqtrade. Global fetch (undici) compiles a WebAssembly HTTP
 * parser on first use, which costs more resident memory than the whole rest of the agent's polling.
 */
export const nodeHttpFetch: HttpFetch = (url, init) =>
  new Promise((resolve, reject) => {
    const target = new URL(url);
    if (target.protocol !== 'http:') {
      fetch(url, init).then(resolve, reject);
      return;
    }
    const req = request(
      target,
      {
        method: init.method,
        headers:
          init.body === undefined
            ? init.headers
            : { ...init.headers, 'content-length': Buffer.byteLength(init.body) },
        agent: keepAlive,
        signal: init.signal,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('error', reject);
        res.on('end', () => {
          const status = res.statusCode ?? 0;
          const body = Buffer.concat(chunks).toString('utf8');
          resolve({ ok: status >= 200 && status < 300, status, text: async () => body });
        });
      },
    );
    req.on('error', (error) => {
      // Keep fetch's naming so callers tell a timeout from a refused connection.
      if (init.signal?.aborted) {
        const reason = init.signal.reason;
        reject(reason instanceof Error ? reason : error);
      } else reject(error);
    });
    if (init.body !== undefined) req.write(init.body);
    req.end();
  });
