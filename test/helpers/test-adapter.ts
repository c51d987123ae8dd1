// A transport that exists only in tests: drives the adapter contract from the test (telemetry,
// availability, device seen, crashes) so the core is exercised through MQTT without hardware.
import { z } from 'zod';
import type {
  Adapter,
  AdapterContext,
  AdapterModule,
  AdapterStatus,
  CommandResult,
  DeviceCommand,
} from '../../gateway/adapter.js';

export const testAdapterConfigSchema = z.object({
  enabled: z.boolean().default(true),
  /** Fail this many start() calls before succeeding (exercises restart with back-off). */
  fail_starts: z.number().int().min(0).default(0),
  /** Report every configured device online once started (for child-process tests nobody drives). */
  online_on_start: z.boolean().default(false),
});
export type TestAdapterConfig = z.infer<typeof testAdapterConfigSchema>;

export const testDeviceSchema = z.object({
  transport: z.literal('test'),
  address: z.string().optional(),
});

export interface TestAdapterInstance extends Adapter {
  readonly ctx: AdapterContext;
  readonly config: TestAdapterConfig;
  readonly commands: Array<{ deviceId: string; cmd: DeviceCommand }>;
  devicesChangedCalls: number;
  stopped: boolean;
}

/** A fresh module per test, with the instances it created (one per start, restarts included). */
export function createTestAdapterModule(kind = 'test'): {
  module: AdapterModule<TestAdapterConfig>;
  instances: TestAdapterInstance[];
  current(): TestAdapterInstance;
} {
  const instances: TestAdapterInstance[] = [];
  let startsFailed = 0;
  const module: AdapterModule<TestAdapterConfig> = {
    kind,
    configSchema: testAdapterConfigSchema,
    deviceSchema: kind === 'test' ? testDeviceSchema : testDeviceSchema.extend({ transport: z.literal(kind) }),
    create(config, ctx) {
      let state: AdapterStatus['state'] = 'starting';
      const values = new Map<string, Record<string, unknown>>();
      const instance: TestAdapterInstance = {
        kind,
        ctx,
        config,
        commands: [],
        devicesChangedCalls: 0,
        stopped: false,
        async start() {
          if (startsFailed < config.fail_starts) {
            startsFailed++;
            throw new Error(`test adapter start failure ${startsFailed}`);
          }
          state = 'running';
          if (config.online_on_start) for (const d of ctx.devices()) ctx.availability(d.id, true);
        },
        async stop() {
          instance.stopped = true;
          state = 'stopped';
        },
        status: () => ({ state, details: { devices: ctx.devices().length } }),
        async command(deviceId, cmd): Promise<CommandResult> {
          instance.commands.push({ deviceId, cmd });
          if (cmd.payload.fail !== undefined) throw new Error(`device refused: ${String(cmd.payload.fail)}`);
          if (cmd.kind === 'set') {
            values.set(deviceId, { ...values.get(deviceId), ...cmd.payload });
            return { data: cmd.payload, merge: true };
          }
          const current = values.get(deviceId) ?? {};
          return { data: Object.fromEntries(Object.keys(cmd.payload).map((k) => [k, current[k] ?? null])) };
        },
        async request(name, deviceId, data) {
          if (name === 'echo') return { device: deviceId, data };
          throw new Error(`no request "${name}"`);
        },
        async devicesChanged() {
          instance.devicesChangedCalls++;
        },
      };
      instances.push(instance);
      return instance;
    },
  };
  return {
    module,
    instances,
    current() {
      const last = instances.at(-1);
      if (!last) throw new Error('the test adapter was never created');
      return last;
    },
  };
}
