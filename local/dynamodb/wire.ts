import { randomBytes } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import { crc32 } from 'node:zlib';
import { AMZ_JSON_CONTENT_TYPE } from './constants';
import type { DynamoServiceError } from './errors';

/** A request as the gateway received it, body fully read. */
export interface GatewayRequest {
  readonly method: string;
  readonly url: string;
  readonly headers: IncomingHttpHeaders;
  readonly body: Buffer;
}

export interface WireResponse {
  readonly statusCode: number;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: Buffer;
}

/**
 * A response built (or rebuilt) by the gateway. The SDK checks `x-amz-crc32` against the body for
 * DynamoDB, so any body we write carries its own checksum.
 */
export function jsonResponse(statusCode: number, payload: unknown): WireResponse {
  const body = Buffer.from(JSON.stringify(payload));
  return {
    statusCode,
    headers: {
      'content-type': AMZ_JSON_CONTENT_TYPE,
      'content-length': String(body.length),
      'x-amz-crc32': String(crc32(body)),
      'x-amzn-requestid': requestId(),
    },
    body,
  };
}

export function errorResponse(error: DynamoServiceError): WireResponse {
  return jsonResponse(error.statusCode, error.toWire());
}

/** A body read as JSON, or undefined when it is not JSON (dynalite then answers the client itself). */
export function readJson(body: Buffer): unknown {
  try {
    return JSON.parse(body.toString('utf8'));
  } catch {
    return undefined;
  }
}

/** AWS request ids are 52 upper-case alphanumerics. */
function requestId(): string {
  return randomBytes(39).toString('base64').toUpperCase().replace(/[+/=]/g, '0');
}
