/**
 * `npm run token -- --scopes "strategies:read strategies:write" [--subject alice] [--ttl 3600] [--data .tradai]`
 * prints a token the local cloud's authorizer accepts (keys made on first `npm start`, kept in the data folder).
 */
import { parseArgs } from 'node:util';
import * as z from 'zod';
import { loadLocalIssuer } from './jwt-issuer';

const KNOWN = ['strategies:read', 'strategies:write', 'strategies:live'];
const ArgsSchema = z.object({
  scopes: z
    .string()
    .transform((text) => text.split(/[\s,]+/).filter(Boolean))
    .pipe(
      z
        .array(
          z.enum(KNOWN as [string, ...string[]], {
            message: `each scope must be one of ${KNOWN.join(', ')}`,
          }),
        )
        .min(1),
    ),
  subject: z.string().min(1).max(256),
  ttl: z.coerce
    .number()
    .int()
    .min(60)
    .max(7 * 86_400),
  data: z.string().min(1),
});

const { values } = parseArgs({
  options: {
    scopes: { type: 'string', default: 'strategies:read strategies:write' },
    subject: { type: 'string', default: 'local-operator' },
    ttl: { type: 'string', default: String(12 * 3600) },
    data: { type: 'string', default: '.tradai' },
  },
});
const parsed = ArgsSchema.safeParse(values);
if (!parsed.success) {
  console.error(parsed.error.issues.map((issue) => `--${issue.path.join('.')}: ${issue.message}`).join('\n'));
  process.exit(2);
}
const issuer = await loadLocalIssuer(parsed.data.data);
console.log(
  await issuer.issue({
    subject: parsed.data.subject,
    scopes: parsed.data.scopes.map((scope) => `tradai/${scope}`),
    ttlS: parsed.data.ttl,
  }),
);
