import * as z from 'zod';

/**
 * The fields of an API Gateway HTTP API payload 2.0 event the chain reads. Powertools' parser has the full
 * schema (`APIGatewayProxyEventV2Schema`), but it imports `{ z }` from zod, which drags the whole zod
 * namespace (49 locales, JSON Schema converters: ~440 KB minified) into every bundle; these few lines cost
 * nothing. Field for field they follow Powertools' schema and @types/aws-lambda.
 */
export const HttpApiEventSchema = z.object({
  version: z.literal('2.0'),
  routeKey: z.string(),
  rawPath: z.string(),
  rawQueryString: z.string(),
  headers: z.record(z.string(), z.string()),
  queryStringParameters: z.record(z.string(), z.string()).optional(),
  pathParameters: z.record(z.string(), z.string()).nullish(),
  body: z.string().optional(),
  isBase64Encoded: z.boolean(),
  requestContext: z.object({
    requestId: z.string().min(1),
    routeKey: z.string(),
    http: z.object({ method: z.string(), path: z.string() }),
    authorizer: z
      .object({
        jwt: z
          .object({
            claims: z.record(z.string(), z.unknown()),
            scopes: z.array(z.string()).nullish(),
          })
          .optional(),
      })
      .nullish(),
  }),
});
export type HttpApiEvent = z.output<typeof HttpApiEventSchema>;
