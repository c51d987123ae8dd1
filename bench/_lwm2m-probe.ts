// IPC probe for the process bench/lwm2m.ts measures: CPU time, memory (live heap after a full GC), heap snapshots
// and CPU profiles (V8's sampling profiler through the in-process inspector), on request.
// The process must run with --expose-gc and an IPC channel; the probe allocates nothing until asked.
import { writeFileSync } from 'node:fs';
import { Session } from 'node:inspector';
import { getHeapSpaceStatistics, writeHeapSnapshot } from 'node:v8';

export type ProbeRequest =
  | { probe: 'heap' }
  | { probe: 'cpu' }
  | { probe: 'snapshot'; file: string }
  | { probe: 'profile-start' }
  | { probe: 'profile-stop'; file: string };
export type ProbeReply =
  | { probe: 'heap'; memory: NodeJS.MemoryUsage }
  | { probe: 'profile-start' }
  | { probe: 'profile-stop'; file: string }
  | { probe: 'cpu'; micros: number; memory: NodeJS.MemoryUsage; spaces: Record<string, number> }
  | { probe: 'snapshot'; file: string };

export function installProbe(): void {
  const gc = (globalThis as { gc?: () => void }).gc;
  let session: Session | undefined;
  const post = (method: string, params: object = {}) =>
    new Promise<unknown>((resolve, reject) =>
      session?.post(method, params, (err, result) => (err ? reject(err) : resolve(result))),
    );
  process.on('message', (m: ProbeRequest) => {
    if (typeof m !== 'object' || m === null || !('probe' in m)) return;
    if (m.probe === 'heap') {
      gc?.();
      process.send?.({ probe: 'heap', memory: process.memoryUsage() } satisfies ProbeReply);
    } else if (m.probe === 'cpu') {
      const { user, system } = process.cpuUsage();
      const spaces = Object.fromEntries(getHeapSpaceStatistics().map((s) => [s.space_name, s.space_size]));
      process.send?.({
        probe: 'cpu',
        micros: user + system,
        memory: process.memoryUsage(),
        spaces,
      } satisfies ProbeReply);
    } else if (m.probe === 'snapshot') {
      process.send?.({ probe: 'snapshot', file: writeHeapSnapshot(m.file) } satisfies ProbeReply);
    } else if (m.probe === 'profile-start') {
      session = new Session();
      session.connect();
      void post('Profiler.enable')
        .then(() => post('Profiler.setSamplingInterval', { interval: 500 }))
        .then(() => post('Profiler.start'))
        .then(() => process.send?.({ probe: 'profile-start' } satisfies ProbeReply));
    } else if (m.probe === 'profile-stop') {
      void post('Profiler.stop').then((result) => {
        writeFileSync(m.file, JSON.stringify((result as { profile: unknown }).profile));
        session?.disconnect();
        session = undefined;
        process.send?.({ probe: 'profile-stop', file: m.file } satisfies ProbeReply);
      });
    }
  });
  // The IPC channel must not keep a gateway alive that was asked to stop.
  process.channel?.unref();
}
