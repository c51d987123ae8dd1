import { describe, expect, it } from 'vitest';
import { receivedStringProblem, upstreamTopicProblem } from '../../gateway/broker/topic-validity.js';

/** What mqtt-packet hands aedes for these bytes, and the check on it. */
function check(bytes: Buffer): string | undefined {
  return receivedStringProblem(bytes.toString('utf8'), () => bytes);
}

describe('receivedStringProblem (MQTT-1.5.3-1/-2)', () => {
  it('refuses U+0000', () => {
    expect(check(Buffer.from('zephyr2mqtt/bad\0x'))).toBe('contains U+0000');
  });

  it('refuses ill-formed UTF-8, which decodes to U+FFFD', () => {
    expect(check(Buffer.from([0x61, 0x2f, 0xff, 0xfe]))).toBe('is not well-formed UTF-8');
    // An encoded surrogate (ED A0 80), an overlong '/' (C0 AF), a truncated sequence.
    expect(check(Buffer.from([0x61, 0xed, 0xa0, 0x80]))).toBe('is not well-formed UTF-8');
    expect(check(Buffer.from([0x61, 0xc0, 0xaf]))).toBe('is not well-formed UTF-8');
    expect(check(Buffer.from([0x61, 0xe2, 0x82]))).toBe('is not well-formed UTF-8');
  });

  it('accepts a U+FFFD that was sent as such (EF BF BD), and valid non-ASCII', () => {
    expect(check(Buffer.from('a/\uFFFD'))).toBeUndefined();
    expect(check(Buffer.from('°C/ü/😀'))).toBeUndefined();
  });

  it('reads the bytes only when the decoded text has a U+FFFD', () => {
    let reads = 0;
    const bytes = () => {
      reads++;
      return Buffer.from('°C/ü');
    };
    expect(receivedStringProblem('°C/ü', bytes)).toBeUndefined();
    expect(reads).toBe(0);
  });
});

describe('upstreamTopicProblem', () => {
  it('refuses U+0000 and lone surrogates', () => {
    expect(upstreamTopicProblem('zephyr2mqtt/bad\0x')).toMatch(/^contains U\+0000: /);
    expect(upstreamTopicProblem('a/\uD800')).toMatch(/^contains U\+D800: /);
    expect(upstreamTopicProblem('a/\uDC00b')).toMatch(/^contains U\+DC00: /);
  });

  it('refuses what Mosquitto refuses besides: control characters and non-characters', () => {
    const cases: Array<[string, string]> = [
      ['a/\u0001', 'U+0001'],
      ['a\tb', 'U+0009'],
      ['a/\u007F', 'U+007F'],
      ['a/\u0085', 'U+0085'],
      ['a/\uFDD0', 'U+FDD0'],
      ['a/\uFFFF', 'U+FFFF'],
      ['a/\u{1FFFE}', 'U+1FFFE'],
    ];
    for (const [topic, codePoint] of cases) {
      expect(upstreamTopicProblem(topic), topic).toContain(`contains ${codePoint}`);
    }
  });

  it('accepts valid non-ASCII, surrogate pairs and U+FFFD', () => {
    for (const topic of ['°C/ü', 'zephyr2mqtt/温度', 'a/😀', 'a/\uFFFD', 'site-12/bridge/state']) {
      expect(upstreamTopicProblem(topic), topic).toBeUndefined();
    }
  });
});
