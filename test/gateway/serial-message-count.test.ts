// The serial adapter counts an SMP packet in zephyr2mqtt_messages_total{direction="in"} only when its SMP client
// took it: one it refuses is a decode error (smp_packet) only.
import { SerialPortMock } from 'serialport';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { encodeSmpMessage } from '../../adapters/common/smp/packet.js';
import { encodeSerialFrames } from '../../adapters/common/smp/serial-frame.js';
import { serialAdapterConfigSchema } from '../../adapters/serial/config.js';
import { SerialAdapter } from '../../adapters/serial/serial-adapter.js';
import { RecordingContext } from '../adapters/serial/recording-context.js';

const MockBinding = SerialPortMock.binding;
type MockPortBinding = Awaited<ReturnType<typeof MockBinding.open>>;
const opened: MockPortBinding[] = [];
const binding: typeof MockBinding = {
  ...MockBinding,
  list: () => MockBinding.list(),
  open: async (opts) => {
    const port = await MockBinding.open(opts);
    opened.push(port);
    return port;
  },
};

let adapter: SerialAdapter | undefined;
beforeEach(() => {
  MockBinding.reset();
  opened.length = 0;
});
afterEach(async () => {
  await adapter?.stop();
  adapter = undefined;
});

it('counts an SMP packet its client refuses as a decode error only', async () => {
  MockBinding.createPort('/dev/ttyACM5', {});
  const ctx = new RecordingContext([{ transport: 'serial', id: 'dev1', path: '/dev/ttyACM5' } as never]);
  adapter = new SerialAdapter(serialAdapterConfigSchema.parse({ scan_interval_ms: 100 }), ctx, {
    binding,
    sysRoot: '/nonexistent',
    devRoot: '/nonexistent',
  });
  await adapter.start();
  await adapter.link('dev1')!.opened();
  const smp = (op: 0 | 1) =>
    encodeSerialFrames(encodeSmpMessage({ op, version: 1, group: 0, id: 0, seq: 1, body: {} }));
  // A request (op 0) is not for the gateway to answer: refused. An unsolicited response is taken (and ignored).
  opened[0]!.emitData(Buffer.concat([...smp(0), ...smp(1), Buffer.from('{"ok":1}\n')]));
  await ctx.waitFor('telemetry', (c) => c.values.ok === 1);
  expect(ctx.of('decodeError').map((c) => c.reason)).toEqual(['smp_packet']);
  expect(ctx.counts.in).toBe(2);
});
