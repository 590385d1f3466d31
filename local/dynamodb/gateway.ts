import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { DYNAMODB_TARGET_PREFIX, ErrorTypes, MAX_REQUEST_BYTES, STREAMS_TARGET_PREFIX } from './constants';
import type { GatewayContext, OperationHandler } from './context';
import { DynamoServiceError } from './errors';
import {
  handleDescribeStream,
  handleGetRecords,
  handleGetShardIterator,
  handleListStreams,
} from './streams-api';
import { handleCreateTable, handleDeleteTable, handleDescribeTable, handleUpdateTable } from './tables';
import { handleTransactGetItems, handleTransactWriteItems } from './transactions';
import { handleDescribeTimeToLive, handleUpdateTimeToLive } from './ttl';
import { errorResponse, type GatewayRequest, jsonResponse, readJson, type WireResponse } from './wire';
import { handleBatchWriteItem, handleKeyedWrite, handlePutItem } from './writes';

/** Operations the gateway adds to or answers instead of dynalite; everything else passes straight through. */
const handlers = new Map<string, OperationHandler>([
  [`${DYNAMODB_TARGET_PREFIX}.PutItem`, handlePutItem],
  [`${DYNAMODB_TARGET_PREFIX}.UpdateItem`, handleKeyedWrite],
  [`${DYNAMODB_TARGET_PREFIX}.DeleteItem`, handleKeyedWrite],
  [`${DYNAMODB_TARGET_PREFIX}.BatchWriteItem`, handleBatchWriteItem],
  [`${DYNAMODB_TARGET_PREFIX}.CreateTable`, handleCreateTable],
  [`${DYNAMODB_TARGET_PREFIX}.UpdateTable`, handleUpdateTable],
  [`${DYNAMODB_TARGET_PREFIX}.DescribeTable`, handleDescribeTable],
  [`${DYNAMODB_TARGET_PREFIX}.DeleteTable`, handleDeleteTable],
]);

/** Operations dynalite does not have at all: the gateway does dynalite's signature-presence check itself. */
const gatewayOnlyHandlers = new Map<string, OperationHandler>([
  [`${DYNAMODB_TARGET_PREFIX}.TransactWriteItems`, handleTransactWriteItems],
  [`${DYNAMODB_TARGET_PREFIX}.TransactGetItems`, handleTransactGetItems],
  [`${DYNAMODB_TARGET_PREFIX}.UpdateTimeToLive`, handleUpdateTimeToLive],
  [`${DYNAMODB_TARGET_PREFIX}.DescribeTimeToLive`, handleDescribeTimeToLive],
  [`${STREAMS_TARGET_PREFIX}.ListStreams`, handleListStreams],
  [`${STREAMS_TARGET_PREFIX}.DescribeStream`, handleDescribeStream],
  [`${STREAMS_TARGET_PREFIX}.GetShardIterator`, handleGetShardIterator],
  [`${STREAMS_TARGET_PREFIX}.GetRecords`, handleGetRecords],
]);

export interface Gateway {
  readonly endpoint: string;
  close(): Promise<void>;
}

/** How long close() lets requests in flight finish before it drops their connections. */
const CLOSE_GRACE_MS = 2_000;

export async function startGateway(
  context: GatewayContext,
  address: { readonly host: string; readonly port: number },
): Promise<Gateway> {
  const server = createServer((incoming, outgoing) => {
    serve(context, incoming, outgoing).catch((error: unknown) => {
      console.error('[local-dynamodb] could not answer a request', error);
      outgoing.destroy();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(address.port, address.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  const host = address.host.includes(':') ? `[${address.host}]` : address.host;
  return { endpoint: `http://${host}:${port}`, close: () => closeServer(server) };
}

async function serve(
  context: GatewayContext,
  incoming: IncomingMessage,
  outgoing: ServerResponse,
): Promise<void> {
  const body = await readBody(incoming);
  const response =
    body === undefined
      ? jsonResponse(413, { __type: ErrorTypes.serialization, message: 'Request entity too large' })
      : await answer(context, {
          method: incoming.method ?? 'GET',
          url: incoming.url ?? '/',
          headers: incoming.headers,
          body,
        });
  outgoing.writeHead(response.statusCode, {
    ...response.headers,
    'content-length': String(response.body.length),
  });
  outgoing.end(response.body);
}

async function answer(context: GatewayContext, request: GatewayRequest): Promise<WireResponse> {
  const target = request.method === 'POST' ? singleHeader(request.headers['x-amz-target']) : undefined;
  const handler = target === undefined ? undefined : handlers.get(target);
  const gatewayOnlyHandler = target === undefined ? undefined : gatewayOnlyHandlers.get(target);
  try {
    if (handler !== undefined) return await handler(context, request, readJson(request.body));
    if (gatewayOnlyHandler === undefined)
      return await context.commitGate.read(() => context.dynalite.forward(request));
    checkSigned(request);
    const payload = readJson(request.body);
    if (payload === undefined) {
      throw new DynamoServiceError(400, ErrorTypes.serialization, 'The request body is not valid JSON');
    }
    return await gatewayOnlyHandler(context, request, payload);
  } catch (error) {
    if (error instanceof DynamoServiceError) return errorResponse(error);
    console.error(`[local-dynamodb] ${target ?? request.method} failed`, error);
    return errorResponse(new DynamoServiceError(500, ErrorTypes.internal, 'Internal server error'));
  }
}

/** dynalite never verifies signatures, but refuses unsigned requests; the gateway does the same. */
function checkSigned(request: GatewayRequest): void {
  const authorization = singleHeader(request.headers.authorization);
  const presigned = new URL(request.url, 'http://localhost').searchParams.has('X-Amz-Algorithm');
  if (authorization?.trim().startsWith('AWS4-') || presigned) return;
  throw new DynamoServiceError(
    400,
    ErrorTypes.missingAuthentication,
    'Request is missing Authentication Token',
  );
}

/** The whole body, or undefined once it passes the size limit. */
function readBody(incoming: IncomingMessage): Promise<Buffer | undefined> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    incoming.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size <= MAX_REQUEST_BYTES) chunks.push(chunk);
    });
    incoming.on('error', reject);
    incoming.on('end', () => resolve(size > MAX_REQUEST_BYTES ? undefined : Buffer.concat(chunks)));
  });
}

function singleHeader(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

function closeServer(server: Server): Promise<void> {
  return new Promise((resolve, reject) => {
    const force = setTimeout(() => server.closeAllConnections(), CLOSE_GRACE_MS);
    force.unref();
    server.close((error) => {
      clearTimeout(force);
      if (error) reject(error);
      else resolve();
    });
    server.closeIdleConnections();
  });
}
