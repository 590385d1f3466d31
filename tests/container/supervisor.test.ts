import { spawn } from 'node:child_process';
import { access, chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RestartWindow } from '../../container/agent/freqtrade/restart-window';
import { FreqtradeSupervisor } from '../../container/agent/freqtrade/supervisor';
import { createLogger } from '../../container/agent/logger';
import { systemClock } from '../../shared/domain/clock';
import { pollUntil } from './support/poll';

describe('FreqtradeSupervisor: stopping the process', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'tradai-supervisor-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  const supervisorOf = (command: string) =>
    new FreqtradeSupervisor({
      command,
      workDir: join(dir, 'work'),
      config: { stake_currency: 'USDT', exchange: { name: 'binance' } },
      env: {},
      spawn,
      logger: createLogger({ level: 'error', write: () => {} }),
      clock: systemClock,
      backoffMaxMs: 50,
      initialState: () => 'paused',
    });

  it('kills a Freqtrade that ignores SIGTERM after the bound, and says so', async () => {
    // prepare: a process that ignores SIGTERM (as a hung Python interpreter may)
    const script = join(dir, 'deaf.sh');
    const ready = join(dir, 'deaf.ready');
    await writeFile(script, `#!/bin/sh\ntrap '' TERM\ntouch ${ready}\nwhile true; do sleep 0.05; done\n`);
    await chmod(script, 0o700);
    const supervisor = supervisorOf(script);
    await supervisor.start();
    await pollUntil('the trap is set', () => access(ready).then(() => true), 5000);
    // act
    const result = await supervisor.stop(200);
    // assess
    expect(result).toBe('killed');
    expect(supervisor.running).toBe(false);
  });

  it('stops a Freqtrade that honours SIGTERM without killing it', async () => {
    const script = join(dir, 'polite.sh');
    await writeFile(script, '#!/bin/sh\nwhile true; do sleep 0.05; done\n');
    await chmod(script, 0o700);
    const supervisor = supervisorOf(script);
    await supervisor.start();
    expect(await supervisor.stop(5000)).toBe('stopped');
  });

  it('counts a restart as a crash while trading only when the process had reached a live loop', async () => {
    // prepare: a process that exits at once, so every start is followed by a restart
    const script = join(dir, 'brief.sh');
    await writeFile(script, '#!/bin/sh\nsleep 0.2\nexit 1\n');
    await chmod(script, 0o700);
    const supervisor = supervisorOf(script);
    await supervisor.start();

    // act: the first process never reaches a loop; the second one does before it exits
    await pollUntil('a first restart', async () => supervisor.restarts >= 1, 5000);
    const crashesAfterStartupExit = supervisor.crashesWhileTrading;
    supervisor.markLive();
    const restartsWhenLive = supervisor.restarts;
    await pollUntil('the next restart', async () => supervisor.restarts > restartsWhenLive, 5000);
    await supervisor.stop(1000);

    // assess
    expect(crashesAfterStartupExit).toBe(0);
    expect(supervisor.crashesWhileTrading).toBe(1);
  });
});

describe('RestartWindow: N restarts in M minutes without a live loop', () => {
  it('refuses the restart after N without a live loop, counts again after one', () => {
    const window = new RestartWindow({ maxRestarts: 3, windowMs: 60_000 });
    expect([0, 1, 2, 3].map((i) => window.tryRestart(i * 1000))).toEqual([true, true, true, false]);
    window.live();
    expect(window.withoutLiveLoop(4000)).toBe(0);
    expect(window.count(4000)).toBe(3);
    expect(window.tryRestart(5000)).toBe(true);
  });

  it('forgets restarts older than the window', () => {
    const window = new RestartWindow({ maxRestarts: 2, windowMs: 10_000 });
    window.tryRestart(0);
    window.tryRestart(1000);
    expect(window.tryRestart(2000)).toBe(false);
    expect(window.tryRestart(11_500)).toBe(true);
    expect(window.count(11_500)).toBe(1);
  });
});
