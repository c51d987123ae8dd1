// The event-loop tty reader's fallback: where it cannot read a tty it resolves undefined (the link then reads
// through the binding) and leaves no descriptor open. Reading real ptys is covered by test/interop/serial-pty.
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openTtyReader } from '../../../adapters/serial/tty-reader.js';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'tty-reader-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const events = { data: () => {}, end: () => {} };
const openFds = (): number => readdirSync('/proc/self/fd').length;

describe.runIf(process.platform === 'linux')('openTtyReader', () => {
  it('resolves undefined for a path that does not exist', async () => {
    await expect(openTtyReader(join(dir, 'ttyNONE'), events)).resolves.toBeUndefined();
  });

  it('resolves undefined for a file that is not a tty and closes the descriptor it opened', async () => {
    const path = join(dir, 'plain');
    writeFileSync(path, 'not a tty\n');
    const before = openFds();
    await expect(openTtyReader(path, events)).resolves.toBeUndefined();
    expect(openFds()).toBe(before);
  });
});
