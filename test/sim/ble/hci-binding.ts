// A module `adapters.ble.binding` can point at: noble's own HCI binding (lib/hci-socket/bindings.js) on top of
// FakeHciSocket instead of the kernel's HCI socket, so tests reach what `binding: hci` runs, byte parsing included.
import Module, { createRequire } from 'node:module';
import { FakeHciSocket } from './hci-controller.js';

const require = createRequire(import.meta.url);
const hciPath = require.resolve('@abandonware/noble/lib/hci-socket/hci.js');
const bindingsPath = require.resolve('@abandonware/noble/lib/hci-socket/bindings.js');
const socketPath = createRequire(hciPath).resolve('@abandonware/bluetooth-hci-socket');

const fake = new Module(socketPath);
fake.exports = FakeHciSocket;
fake.loaded = true;
require.cache[socketPath] = fake;
// Loaded earlier with the real socket (noble's main entry): load them again over the fake one.
delete require.cache[hciPath];
delete require.cache[bindingsPath];
const NobleBindings = require(bindingsPath) as new (options: object) => unknown;

/** The bindings made, newest last (tests look into what they keep). */
export const made: unknown[] = [];

export default function createHciBinding(): unknown {
  const binding = new NobleBindings({});
  made.push(binding);
  return binding;
}
