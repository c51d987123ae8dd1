import { describe, expect, it } from 'vitest';
import type { DeviceConfig } from '../../gateway/config/schema.js';
import { DeviceRegistry } from '../../gateway/devices/registry.js';

const device = (id: string) => ({ id, transport: 'serial' }) as unknown as DeviceConfig;

describe('DeviceRegistry availability', () => {
  it('reports a new device told offline as a change once, so its first offline gets published', () => {
    const reg = new DeviceRegistry();
    reg.configure([device('a')]);
    expect(reg.setOnline('a', false)).toBe(true);
    expect(reg.setOnline('a', false)).toBe(false);
    expect(reg.setOnline('a', true)).toBe(true);
    expect(reg.setOnline('a', true)).toBe(false);
  });

  it('keeps what was already published for devices that stay or are renamed, and starts afresh for added ones', () => {
    const reg = new DeviceRegistry();
    reg.configure([device('a')]);
    reg.setOnline('a', false);
    const diff = reg.configure([device('a'), device('b'), device('c')], { c: 'a' });
    expect(diff.added).toEqual(['b', 'c']);
    expect(reg.setOnline('a', false)).toBe(false);
    expect(reg.setOnline('c', false)).toBe(false); // inherits a's state
    expect(reg.setOnline('b', false)).toBe(true);
    expect(reg.setOnline('missing', false)).toBe(false);
  });
});
