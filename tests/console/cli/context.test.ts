import { getEventListeners } from 'node:events';
import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createContext } from '../../../console/cli/context';

/** A CLI context with no options, empty env and unread streams, whose Ctrl-C is `controller`. */
const contextAbortedBy = (controller: AbortController) =>
  createContext(
    {},
    {
      env: {},
      stdout: new PassThrough(),
      stderr: new PassThrough(),
      stdin: new PassThrough(),
      signal: controller.signal,
    },
  );

describe('CLI context: waits between polls', () => {
  it('leaves no abort listener behind after each sleep (a long follow warned MaxListenersExceeded into stderr)', async () => {
    const controller = new AbortController();
    const ctx = contextAbortedBy(controller);

    for (let poll = 0; poll < 12; poll += 1) await ctx.sleep(1);

    expect(getEventListeners(controller.signal, 'abort')).toHaveLength(0);
  });

  it('still ends a sleep at once on Ctrl-C', async () => {
    const controller = new AbortController();
    const ctx = contextAbortedBy(controller);

    const slept = ctx.sleep(600_000);
    controller.abort();

    await expect(slept).resolves.toBeUndefined();
  });
});
