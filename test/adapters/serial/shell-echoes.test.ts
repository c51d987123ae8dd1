// The shell's echo of what we wrote, whole or wrapped at the terminal width, is recognised and nothing else.
import { describe, expect, it } from 'vitest';
import { ShellEchoes } from '../../../adapters/serial/shell-echoes.js';

const LONG = JSON.stringify({ text: 'x'.repeat(150), led: 'blink' });

/** Zephyr's shell echo of `text` after its prompt, wrapped every `width` columns. */
function wrapped(prompt: string, text: string, width = 80): string[] {
  const all = prompt + text;
  const lines: string[] = [];
  for (let i = 0; i < all.length; i += width) lines.push(all.slice(i, i + width));
  return lines;
}

describe('ShellEchoes', () => {
  it('takes a whole echo, with or without the prompt, once', () => {
    const echoes = new ShellEchoes();
    echoes.expect('{"led":true}', 0);
    expect(echoes.isEcho('uart:~$ {"led":true}', 1)).toBe(true);
    expect(echoes.isEcho('{"led":true}', 2)).toBe(false); // the device's own confirmation
  });

  it('takes every piece of an echo the shell wrapped at 80 columns, then the device lines after it', () => {
    const echoes = new ShellEchoes();
    echoes.expect(LONG, 0);
    const pieces = wrapped('uart:~$ ', LONG);
    expect(pieces.length).toBe(3);
    expect(pieces.map((p) => echoes.isEcho(p, 1))).toEqual([true, true, true]);
    expect(echoes.pending).toBe(false);
    expect(echoes.isEcho(LONG, 2)).toBe(false);
  });

  it('does not take a short line or another line for a wrapped echo, nor an echo after its window', () => {
    const echoes = new ShellEchoes();
    echoes.expect(LONG, 0);
    expect(echoes.isEcho('{"text":"x', 1)).toBe(false); // shorter than a wrap's first piece
    expect(echoes.isEcho('{"temperature":21.5,"humidity":40}', 1)).toBe(false);
    const late = new ShellEchoes();
    late.expect(LONG, 0);
    expect(late.isEcho(wrapped('uart:~$ ', LONG)[0] as string, 2001)).toBe(false);
  });
});
