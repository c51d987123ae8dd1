// Loads every native addon the gateway ships, as the gateway would, and fails loudly when one does not load on
// this architecture (a wrong-architecture binary fails here with "wrong ELF class" or "exec format error").
// Usage: node check-addons.cjs [app dir, default /opt/zephyr2mqtt]
'use strict';
const { createRequire } = require('node:module');
const path = require('node:path');

const appDir = path.resolve(process.argv[2] || '/opt/zephyr2mqtt');
const appRequire = createRequire(path.join(appDir, 'package.json'));

const addons = [
  ['@abandonware/bluetooth-hci-socket', (m) => typeof m === 'function'],
  ['@serialport/bindings-cpp/dist/serialport-bindings.js', (m) => typeof m.binding?.open === 'function'],
  ['usb', (m) => typeof m.getDeviceList === 'function'],
  ['cbor-extract', (m) => typeof m.extractStrings === 'function', 'cbor-x'],
];

let failed = 0;
// An addon may be nested under the package that uses it (npm overrides, version conflicts): resolve it from there.
for (const [name, looksRight, usedBy] of addons) {
  try {
    const mod = (usedBy ? createRequire(appRequire.resolve(usedBy)) : appRequire)(name);
    if (!looksRight(mod)) throw new Error('loaded, but its exports are not the native binding');
    console.log(`addon ok: ${name} (${process.platform}-${process.arch})`);
  } catch (err) {
    failed++;
    console.error(`addon FAILED: ${name} (${process.platform}-${process.arch}): ${err?.message}`);
  }
}
process.exit(failed === 0 ? 0 : 1);
