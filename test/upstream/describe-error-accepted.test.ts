import { describe, expect, it } from 'vitest';
import { describeConnectError } from '../../gateway/upstream/describe-error.js';

describe('describeConnectError after CONNACK', () => {
  const reset = { code: 'ECONNRESET', message: 'read ECONNRESET' };

  it('hints at TLS only when the upstream never answered CONNECT on that connection', () => {
    expect(describeConnectError(reset, 'mqtt://broker:1883')).toMatch(/does the port expect TLS\? use mqtts:\/\//);
    expect(describeConnectError(reset, 'mqtt://broker:1883', true)).toBe(
      'upstream mqtt://broker:1883 closed the connection (ECONNRESET) after accepting it',
    );
  });
});
