// The serial adapter counts an SMP packet in zephyr2mqtt_messages_total{direction="in"} only when its SMP client
// took it: one it refuses is a decode error (smp_packet) only.
import { expect, it } from 'vitest';
import { encodeSmpMessage } from '../../adapters/common/smp/packet.js';
import { encodeSerialFrames } from '../../adapters/common/smp/serial-frame.js';
import { MockBinding, mockSerialPorts } from '../adapters/serial/mock-ports.js';
import { RecordingContext } from '../adapters/serial/recording-context.js';

const { opened, start } = mockSerialPorts();

it('counts an SMP packet its client refuses as a decode error only', async () => {
  MockBinding.createPort('/dev/ttyACM5', {});
  const ctx = new RecordingContext([{ transport: 'serial', id: 'dev1', path: '/dev/ttyACM5' } as never]);
  const adapter = await start(ctx);
  await adapter.link('dev1')!.opened();
  const smp = (op: 0 | 1) =>
    encodeSerialFrames(encodeSmpMessage({ op, version: 1, group: 0, id: 0, seq: 1, body: {} }));
  // A request (op 0) is not for the gateway to answer: refused. An unsolicited response is taken (and ignored).
  opened[0]!.emitData(Buffer.concat([...smp(0), ...smp(1), Buffer.from('{"ok":1}\n')]));
  await ctx.waitFor('telemetry', (c) => c.values.ok === 1);
  expect(ctx.of('decodeError').map((c) => c.reason)).toEqual(['smp_packet']);
  expect(ctx.counts.in).toBe(2);
});
