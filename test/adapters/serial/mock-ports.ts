// The serial adapter in-process on @serialport/binding-mock: the mock ports are reset before each test, the ports
// the adapter opens are kept in the order it opened them, and the adapter a test started is stopped after it.
import { SerialPortMock } from 'serialport';
import { afterEach, beforeEach } from 'vitest';
import { serialAdapterConfigSchema } from '../../../adapters/serial/config.js';
import { SerialAdapter } from '../../../adapters/serial/serial-adapter.js';
import type { AdapterContext } from '../../../gateway/adapter.js';

export const MockBinding = SerialPortMock.binding;
export type MockPortBinding = Awaited<ReturnType<typeof MockBinding.open>>;

export interface MockSerialPorts {
  /** The ports the adapter opened in this test, first opened first. */
  readonly opened: MockPortBinding[];
  /**
   * A started SerialAdapter for `ctx` (scan_interval_ms 100 unless `config` says otherwise) that looks for ports
   * through `binding` (by default the mock, recording into `opened`) and not in the real /sys or /dev.
   */
  start(ctx: AdapterContext, config?: Record<string, unknown>, binding?: typeof MockBinding): Promise<SerialAdapter>;
}

/** Registers the hooks; call once at the top of a test file. */
export function mockSerialPorts(): MockSerialPorts {
  const opened: MockPortBinding[] = [];
  const recording: typeof MockBinding = {
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
  return {
    opened,
    async start(ctx, config = {}, binding = recording) {
      adapter = new SerialAdapter(serialAdapterConfigSchema.parse({ scan_interval_ms: 100, ...config }), ctx, {
        binding,
        sysRoot: '/nonexistent',
        devRoot: '/nonexistent',
      });
      await adapter.start();
      return adapter;
    },
  };
}
