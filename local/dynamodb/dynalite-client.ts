import { Agent, request as httpRequest, type IncomingHttpHeaders, type OutgoingHttpHeaders } from 'node:http';
import type * as z from 'zod';
import { AMZ_JSON_CONTENT_TYPE, DYNAMODB_TARGET_PREFIX } from './constants';
import { LocalDynamoError, parseWireError } from './errors';
import {
  DescribeTableResponseSchema,
  GetItemResponseSchema,
  type Item,
  type TableDescription,
} from './schemas';
import { type GatewayRequest, readJson, type WireResponse } from './wire';

/** Headers that describe one connection, not the message: never copied from one hop to the next. */
const HOP_BY_HOP_HEADERS = new Set(['connection', 'keep-alive', 'transfer-encoding', 'upgrade', 'host']);

/**
 * dynalite only checks that a request looks signed (it never verifies signatures), so the gateway's own
 * requests carry a well-formed dummy signature.
 */
const INTERNAL_AUTHORIZATION =
  'AWS4-HMAC-SHA256 Credential=local/20200101/us-east-1/dynamodb/aws4_request, SignedHeaders=host, Signature=0';

/** Talks to the embedded dynalite over one keep-alive agent. */
export class DynaliteClient {
  private readonly agent = new Agent({ keepAlive: true });

  constructor(
    private readonly host: string,
    private readonly port: number,
  ) {}

  /** Sends the client's request on unchanged and returns dynalite's answer unchanged. */
  forward(request: GatewayRequest): Promise<WireResponse> {
    return this.send(request.method, request.url, withoutHopByHop(request.headers), request.body);
  }

  /**
   * One DynamoDB operation issued by the gateway itself. Resolves with the parsed answer on success;
   * rejects with the DynamoServiceError dynalite answered otherwise.
   */
  async call<T>(operation: string, payload: object, schema: z.ZodType<T>): Promise<T> {
    const body = Buffer.from(JSON.stringify(payload));
    const response = await this.send(
      'POST',
      '/',
      {
        'content-type': AMZ_JSON_CONTENT_TYPE,
        'x-amz-target': `${DYNAMODB_TARGET_PREFIX}.${operation}`,
        'x-amz-date': '20200101T000000Z',
        authorization: INTERNAL_AUTHORIZATION,
      },
      body,
    );
    const answer = readJson(response.body);
    if (response.statusCode !== 200) throw parseWireError(response.statusCode, answer);
    const parsed = schema.safeParse(answer);
    if (!parsed.success) {
      throw new LocalDynamoError(`Unexpected ${operation} answer from dynalite`, { cause: parsed.error });
    }
    return parsed.data;
  }

  /** A strongly consistent read of one item. */
  async getItem(tableName: string, key: Item): Promise<Item | undefined> {
    const answer = await this.call(
      'GetItem',
      { TableName: tableName, Key: key, ConsistentRead: true },
      GetItemResponseSchema,
    );
    return answer.Item;
  }

  /** Rejects with ResourceNotFoundException when the table does not exist. */
  async describeTable(tableName: string): Promise<TableDescription> {
    const answer = await this.call('DescribeTable', { TableName: tableName }, DescribeTableResponseSchema);
    return answer.Table;
  }

  close(): void {
    this.agent.destroy();
  }

  private send(
    method: string,
    path: string,
    headers: OutgoingHttpHeaders,
    body: Buffer,
  ): Promise<WireResponse> {
    return new Promise((resolve, reject) => {
      const outgoing = httpRequest(
        {
          host: this.host,
          port: this.port,
          method,
          path,
          agent: this.agent,
          headers: { ...headers, 'content-length': body.length },
        },
        (incoming) => {
          const chunks: Buffer[] = [];
          incoming.on('data', (chunk: Buffer) => chunks.push(chunk));
          incoming.on('error', reject);
          incoming.on('end', () => {
            resolve({
              statusCode: incoming.statusCode ?? 500,
              headers: flattenHeaders(incoming.headers),
              body: Buffer.concat(chunks),
            });
          });
        },
      );
      outgoing.on('error', reject);
      outgoing.end(body);
    });
  }
}

function withoutHopByHop(headers: IncomingHttpHeaders): OutgoingHttpHeaders {
  const kept: OutgoingHttpHeaders = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value !== undefined && !HOP_BY_HOP_HEADERS.has(name) && name !== 'content-length') kept[name] = value;
  }
  return kept;
}

function flattenHeaders(headers: IncomingHttpHeaders): Record<string, string> {
  const flat: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value === undefined || HOP_BY_HOP_HEADERS.has(name)) continue;
    flat[name] = Array.isArray(value) ? value.join(', ') : value;
  }
  return flat;
}
