// One device, `node`, played by a ScriptedDevice on ::1 and onboarded (with the given resources, if any) into a
// gateway harness; both are stopped after each test of the file that calls scriptedNode().
import { afterEach } from 'vitest';
import { type CoapHarness, startCoapHarness } from './harness.js';
import { type Script, ScriptedDevice } from './scripted-device.js';

export function scriptedNode(resources?: Record<string, unknown>) {
  let device: ScriptedDevice | undefined;
  let h: CoapHarness | undefined;
  afterEach(async () => {
    await h?.stop();
    device?.close();
    h = undefined;
    device = undefined;
  });
  return {
    async start(script: Script, coap: Record<string, unknown> = {}) {
      device = await ScriptedDevice.open(script);
      const node = { id: 'node', transport: 'coap', address: '::1', port: device.port };
      h = await startCoapHarness([resources ? { ...node, resources } : node], coap);
      return { device, h };
    },
    /** The harness of the running test, if it started one. */
    harness: (): CoapHarness | undefined => h,
  };
}
