import type * as z from 'zod';
import type { FieldIssue } from '../domain/errors';
import { BadRequestError } from './errors';

/** Where a value came from, prefixed to its field names: the body's fields go unprefixed. */
export type InputPart = 'path' | 'query' | 'header' | 'body';

const join = (part: InputPart, path: readonly PropertyKey[]): string =>
  [...(part === 'body' ? [] : [part]), ...path.map(String)].join('.');

/** One issue per offending field; an unknown key is named itself rather than reported on its parent. */
export const fieldIssuesOf = (error: z.ZodError, part: InputPart): FieldIssue[] =>
  error.issues.flatMap((issue) =>
    issue.code === 'unrecognized_keys'
      ? issue.keys.map((key) => ({
          field: join(part, [...issue.path, key]),
          message: 'is not an allowed field',
        }))
      : [{ field: join(part, issue.path) || '(body)', message: issue.message }],
  );

/** Parses one part of a request; a failure is a 400 naming every offending field. */
export const parsePart = <S extends z.ZodType>(schema: S, value: unknown, part: InputPart): z.output<S> => {
  const result = schema.safeParse(value);
  if (!result.success) {
    throw new BadRequestError(`The request ${part} is invalid`, fieldIssuesOf(result.error, part));
  }
  return result.data;
};
