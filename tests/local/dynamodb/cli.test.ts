import { describe, expect, it } from 'vitest';
import type { LocalDynamo, LocalDynamoOptions } from '../../../local/dynamodb';
import { parseCliOptions, runCli } from '../../../local/dynamodb/cli';

describe('LocalDynamo: command line', () => {
  it('persists under .tradai/dynamodb on port 8000 by default', () => {
    expect(parseCliOptions([])).toEqual({ port: 8000, dataDir: '.tradai/dynamodb' });
  });

  it('takes a port and a data folder, or runs in memory', () => {
    expect(parseCliOptions(['--port', '0', '--data', '/tmp/x'])).toEqual({ port: 0, dataDir: '/tmp/x' });
    expect(parseCliOptions(['--memory'])).toEqual({ port: 8000 });
  });

  it('refuses unknown flags, a bad port and --data with --memory', () => {
    expect(() => parseCliOptions(['--verbose'])).toThrow();
    expect(() => parseCliOptions(['--port', 'eighty'])).toThrow(/--port/);
    expect(() => parseCliOptions(['--memory', '--data', 'x'])).toThrow(/exclude/);
  });

  it('prints the endpoint and closes on a stop signal', async () => {
    const started: LocalDynamoOptions[] = [];
    const lines: string[] = [];
    let closed = false;
    let stop: () => void = () => undefined;
    const dynamo: LocalDynamo = {
      endpoint: 'http://127.0.0.1:8000',
      streams: {
        streamArn: () => undefined,
        read: () => [],
        lastSequenceNumber: () => undefined,
        subscribe: () => () => undefined,
      },
      close: async () => {
        closed = true;
      },
    };

    const running = runCli(['--memory'], {
      start: async (options) => {
        started.push(options);
        return dynamo;
      },
      log: (line) => lines.push(line),
      onStopSignal: (callback) => {
        stop = callback;
      },
    });
    await new Promise((resolve) => setImmediate(resolve));
    const closedBeforeSignal = closed;
    stop();
    await running;

    expect(started).toEqual([{ port: 8000 }]);
    expect(lines[0]).toContain('http://127.0.0.1:8000');
    expect(closedBeforeSignal).toBe(false);
    expect(closed).toBe(true);
  });
});
