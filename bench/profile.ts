/**
 * CPU profiles of one phase of a run (e.g. only the engine run, not task creation), taken in-process with
 * the inspector, written as .cpuprofile files (open them in Chrome DevTools, or summarise them with
 * `node dist/bench/cpuprofile-top.js FILE`).
 */
import { writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import { join } from 'node:path';

export class PhaseProfiler {
  private session: Session | undefined;

  /** `dir` undefined: every call is a no-op. */
  constructor(
    private readonly dir: string | undefined,
    private readonly prefix: string,
    private readonly intervalUs = 200,
  ) {}

  async start(): Promise<void> {
    if (this.dir === undefined) return;
    const s = new Session();
    s.connect();
    await s.post('Profiler.enable');
    await s.post('Profiler.setSamplingInterval', { interval: this.intervalUs });
    await s.post('Profiler.start');
    this.session = s;
  }

  /** Stop and write `<dir>/<prefix>-<phase>.cpuprofile`; returns its path. */
  async stop(phase: string): Promise<string | undefined> {
    const s = this.session;
    if (!s || this.dir === undefined) return undefined;
    this.session = undefined;
    const { profile } = await s.post('Profiler.stop');
    s.disconnect();
    const path = join(this.dir, `${this.prefix}-${phase}.cpuprofile`);
    writeFileSync(path, JSON.stringify(profile));
    return path;
  }
}
