import { describe, expect, it } from 'vitest';
import { ContentFormat, decodeStatePayload, unreadableContentFormat } from '../../../adapters/coap/content-format.js';

// A Block1 upload is refused at its first block by unreadableContentFormat(), a whole payload by decodeStatePayload():
// the two must agree on every format, or an upload in a format a single datagram may use would be refused.
describe('the formats a /ps upload is refused for at its first block', () => {
  const formats = [undefined, ...Object.values(ContentFormat), 1, 41, 47, 51, 61, 11542, 65535];

  it.each(formats)('Content-Format %s: refused up front exactly when its payload gets 4.15', (format) => {
    const decoded = decodeStatePayload(format, Buffer.from('{"t":1}'));
    const refusedWhole = !decoded.ok && decoded.code === '4.15';
    expect(unreadableContentFormat(format) !== undefined).toBe(refusedWhole);
  });
});
