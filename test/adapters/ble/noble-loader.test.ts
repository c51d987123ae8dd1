import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { explainHciError, loadNoble, NobleUnavailableError } from '../../../adapters/ble/noble-loader.js';

const BINDING_BODY = `
import { EventEmitter } from 'node:events';
export class Binding extends EventEmitter {
  init() { setImmediate(() => this.emit('stateChange', 'poweredOn')); }
}
`;

describe('noble loader', () => {
  let dir = '';
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'ble-loader-'));
    await writeFile(join(dir, 'object.mjs'), `${BINDING_BODY}export default new Binding();\n`);
    await writeFile(join(dir, 'class.mjs'), `${BINDING_BODY}export default Binding;\n`);
    await writeFile(join(dir, 'factory.mjs'), `${BINDING_BODY}export default () => new Binding();\n`);
    await writeFile(join(dir, 'named.mjs'), `${BINDING_BODY}export const binding = new Binding();\n`);
    await writeFile(join(dir, 'bad.mjs'), 'export default 42;\n');
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it.each(['object', 'class', 'factory', 'named'])(
    'loads a binding exported as %s under the real noble',
    async (kind) => {
      const noble = await loadNoble(`${kind}.mjs`, dir);
      const state = await new Promise<string>((resolve) => noble.once('stateChange', resolve));
      expect(state).toBe('poweredOn');
      expect(noble.state).toBe('poweredOn');
    },
  );

  it('explains a module without a binding, and a missing module', async () => {
    await expect(loadNoble('bad.mjs', dir)).rejects.toThrow(/does not export a noble binding object/);
    await expect(loadNoble('missing.mjs', dir)).rejects.toBeInstanceOf(NobleUnavailableError);
  });

  it('turns HCI socket errors into reasons that say what to do', async () => {
    // On this machine the real main entry fails to open the HCI socket; elsewhere it may load.
    const result = await loadNoble('hci').then(
      () => 'loaded',
      (err: unknown) => err,
    );
    if (result !== 'loaded') {
      expect(result).toBeInstanceOf(NobleUnavailableError);
      expect((result as NobleUnavailableError).code).toBeDefined();
    }
    const code = (c: string) => Object.assign(new Error(c), { code: c });
    expect(explainHciError(code('EPERM'))).toContain('CAP_NET_RAW and CAP_NET_ADMIN');
    expect(explainHciError(code('EAFNOSUPPORT'))).toMatch(/^EAFNOSUPPORT: .*host network namespace/);
    expect(explainHciError(code('ENODEV'))).toContain('no HCI controller');
    expect(explainHciError(code('EBUSY'))).toContain('bluetoothd');
  });
});
