// USB vendor and product ids are hex: lsusb, sysfs and Zephyr's Kconfig all print them so. YAML reads an unquoted
// `vid: 1366` or `pid: 0100` as the decimal numbers 1366 and 100, which became 0x0556 and 0x0064, and the device
// was never found, silently. So an unquoted decimal under `usb:` keeps the digits it was written with (1366 is
// 0x1366); `0x2fe3` and quoted text are read as before.
import { type Document, isMap, isPair, isScalar, visit } from 'yaml';

const ID_KEYS = new Set(['vid', 'pid']);

export function keepUsbIdsAsWritten(doc: Document): void {
  visit(doc, {
    Pair(_key, pair, ancestors) {
      if (!isScalar(pair.key) || !ID_KEYS.has(String(pair.key.value))) return;
      const value = pair.value;
      if (!isScalar(value) || value.type !== 'PLAIN' || typeof value.value !== 'number' || value.format) return;
      if (!/^\d+$/.test(value.source ?? '')) return;
      // The pair's map is the value of a `usb:` pair: [..., usbPair, map].
      const usb = ancestors.at(-2);
      if (isMap(ancestors.at(-1)) && isPair(usb) && isScalar(usb.key) && usb.key.value === 'usb')
        value.value = value.source;
    },
  });
}
