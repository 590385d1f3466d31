/**
 * What `tradai`'s exit code says, so a script or a pager can act on it without reading the text. Usage is 2,
 * as for every command line of this project (local/cli.ts).
 */
export const EXIT = {
  ok: 0,
  /** A fault: the API answered 5xx, a reply did not parse, or a followed launch outlived its wait. */
  error: 1,
  /** How it was called: an unknown option, a missing --reason, a live command without --yes and no terminal. */
  usage: 2,
  /** The API refused the request (4xx other than 401/403): invalid, not found, busy, not allowed now. */
  refused: 3,
  /** `start` followed the session to `failed` (or it was stopped before it ran); `deploy`/`restart`: the new run did, or does not list the carried trades. */
  launchFailed: 4,
  /** The API could not be reached. */
  unreachable: 5,
  /** No token, or one the API does not accept (401), or without the right to do this (403). */
  auth: 6,
  /** The operator did not confirm a command on a live session. */
  declined: 7,
} as const;
export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

/** Printed at the end of `tradai --help` (and the README's table says the same). */
export const EXIT_CODES_HELP = `
Exit codes:
  0  ok
  1  error: the API failed (5xx), a reply did not parse, or a launch did not finish within --timeout
  2  usage: bad option or argument, missing --reason, a live command without --yes and no terminal
  3  refused by the API (4xx): invalid request, not found, strategy busy, not allowed in this status
  4  launch failed: start followed the session to failed, or deploy/restart's new run failed or does not list the carried trades
     (the reason is printed, and whether a rollback to the previous version was started)
  5  the API is unreachable
  6  auth: no token, a token the API refuses (401), or one without the right (403)
  7  declined: a command on a live session was not confirmed
  130  interrupted (Ctrl-C) while following or waiting`;
