import { readFile } from 'node:fs/promises';

/** Linux USER_HZ: /proc times are in these ticks. */
const TICKS_PER_S = 100;

const childTimes = async (pid: number): Promise<{ cpuMs: number; rssMb: number } | undefined> => {
  try {
    const [stat, status] = await Promise.all([
      readFile(`/proc/${pid}/stat`, 'utf8'),
      readFile(`/proc/${pid}/status`, 'utf8'),
    ]);
    // The command name (field 2) may contain spaces; fields after its closing parenthesis are fixed.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const ticks = Number(fields[11]) + Number(fields[12]);
    const rssKb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0);
    return { cpuMs: (ticks / TICKS_PER_S) * 1000, rssMb: rssKb / 1024 };
  } catch {
    return undefined;
  }
};

/** CPU (percent of one core, since the last sample) and memory of the agent plus its Freqtrade child. */
export class ProcessStats {
  #lastWallMs: number | undefined;
  #lastCpuMs = 0;
  readonly #now: () => number;

  constructor(now: () => number = () => performance.now()) {
    this.#now = now;
  }

  async sample(childPid: number | undefined): Promise<{ cpuPercent: number; memoryMb: number }> {
    const own = process.cpuUsage();
    let cpuMs = (own.user + own.system) / 1000;
    let memoryMb = process.memoryUsage.rss() / (1024 * 1024);
    if (childPid !== undefined) {
      const child = await childTimes(childPid);
      if (child !== undefined) {
        cpuMs += child.cpuMs;
        memoryMb += child.rssMb;
      }
    }
    const wall = this.#now();
    const cpuPercent =
      this.#lastWallMs === undefined || wall <= this.#lastWallMs
        ? 0
        : Math.max(0, ((cpuMs - this.#lastCpuMs) / (wall - this.#lastWallMs)) * 100);
    this.#lastWallMs = wall;
    this.#lastCpuMs = cpuMs;
    return { cpuPercent: Math.round(cpuPercent * 100) / 100, memoryMb: Math.round(memoryMb * 10) / 10 };
  }
}
