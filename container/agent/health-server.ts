import { createServer, type Server } from 'node:http';
import { HEALTH_PATH } from './constants';

export interface HealthVerdict {
  healthy: boolean;
  reasons: string[];
  details: Record<string, unknown>;
}

/**
 * seed §9: the ECS health check calls GET :8004/api/v1/health. 200 only when Freqtrade's loop is alive
 * and the last heartbeat succeeded; otherwise 503 with the reasons.
 */
export const startHealthServer = async (
  host: string,
  port: number,
  verdict: () => HealthVerdict,
): Promise<{ server: Server; url: string; close(): Promise<void> }> => {
  const server = createServer((request, response) => {
    const path = (request.url ?? '').split('?')[0];
    if (request.method !== 'GET' || (path !== HEALTH_PATH && path !== '/health')) {
      response.writeHead(404, { 'content-type': 'application/json' }).end('{"error":"not found"}');
      return;
    }
    const current = verdict();
    response
      .writeHead(current.healthy ? 200 : 503, {
        'content-type': 'application/json',
        'cache-control': 'no-store',
      })
      .end(
        JSON.stringify({
          status: current.healthy ? 'ok' : 'unhealthy',
          reasons: current.reasons,
          ...current.details,
        }),
      );
  });
  server.keepAliveTimeout = 1000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  const address = server.address();
  const actualPort = address !== null && typeof address === 'object' ? address.port : port;
  const shownHost = host.includes(':') ? `[${host}]` : host === '0.0.0.0' ? '127.0.0.1' : host;
  return {
    server,
    url: `http://${shownHost}:${actualPort}${HEALTH_PATH}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
};
