import * as z from 'zod';
import { clientIssuer, NoIssuerKeyError } from '../../../local/cloud/jwt-issuer';
import { LIVE_GROUP, SCOPE_RESOURCE_SERVER, SCOPES } from '../../../shared/http/constants';
import { localSubject } from '../connection';
import type { CommandContext } from '../context';
import { CliError, UsageError } from '../errors';
import { EXIT } from '../exit-codes';

export interface TokenOptions {
  scopes: string;
  groups: string;
  subject?: string;
  ttl: string;
  data?: string;
}

const words = (text: string) => text.split(/[\s,]+/).filter(Boolean);
const KNOWN_SCOPES = Object.values(SCOPES);

const TokenRequestSchema = z.object({
  scopes: z
    .array(z.enum(KNOWN_SCOPES, { message: `each scope must be one of ${KNOWN_SCOPES.join(', ')}` }))
    .min(1),
  groups: z.array(
    z
      .enum(['live', LIVE_GROUP], { message: `each group must be live or ${LIVE_GROUP}` })
      .transform(() => LIVE_GROUP),
  ),
  ttl: z.coerce
    .number()
    .int()
    .min(60, 'must be at least 60')
    .max(7 * 86_400, 'must be at most 604800'),
});

/** The token request, as `npm run token` takes it: a wrong scope, group or ttl is a usage error. */
export const tokenRequestOf = (options: TokenOptions) => {
  const parsed = TokenRequestSchema.safeParse({
    scopes: words(options.scopes),
    groups: words(options.groups),
    ttl: options.ttl,
  });
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new UsageError(`--${String(issue?.path[0] ?? 'scopes')}: ${issue?.message ?? 'is invalid'}`);
  }
  return parsed.data;
};

/**
 * Signs a token with the local cloud's key (the one the cloud at the API URL published, or --data's):
 * only a local cloud, whose key is on this machine; in AWS tokens come from the Cognito hosted UI.
 */
export const tokenCommand = async (ctx: CommandContext, options: TokenOptions): Promise<void> => {
  const request = tokenRequestOf(options);
  const target = await ctx.target();
  const issuer = await clientIssuer({ data: options.data, url: target.url }).catch((error: unknown) => {
    if (!(error instanceof NoIssuerKeyError)) throw error;
    throw new CliError(`cannot sign a token for ${target.url}: ${error.message}`, EXIT.auth);
  });
  const subject = options.subject ?? localSubject();
  const token = await issuer.issue({
    subject,
    scopes: request.scopes.map((scope) => `${SCOPE_RESOURCE_SERVER}/${scope}`),
    groups: request.groups,
    ttlS: request.ttl,
  });
  if (ctx.json) {
    ctx.printJson({
      token,
      subject,
      scopes: request.scopes,
      groups: request.groups,
      expires_at: new Date(Date.now() + request.ttl * 1000).toISOString(),
      api_url: target.url,
    });
  } else {
    ctx.print(token);
  }
};
