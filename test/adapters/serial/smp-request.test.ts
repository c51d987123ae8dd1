// bridge/request/device/smp error responses: rc names from the right table (MGMT_ERR for v1, the group's own enum
// for v2 `err`) and the codes in the error's data.
import { describe, expect, it } from 'vitest';
import type { CborValue } from '../../../adapters/common/smp/cbor.js';
import { SmpClient } from '../../../adapters/common/smp/client.js';
import { decodeSmpMessage, encodeSmpMessage } from '../../../adapters/common/smp/packet.js';
import { SmpRcError } from '../../../adapters/common/smp/rc-error.js';
import { smpRcName } from '../../../adapters/common/smp/return-codes.js';
import { runSmpRequest } from '../../../adapters/common/smp/smp-request.js';

/** A client whose device answers every request with `body`, in SMP `version`. */
function answering(body: { [key: string]: CborValue }, version: 1 | 2): SmpClient {
  const client: SmpClient = new SmpClient({
    version,
    send: (packet) => {
      const req = decodeSmpMessage(packet);
      if (!req.ok) throw new Error(req.reason);
      const { header } = req.value;
      queueMicrotask(() => client.handlePacket(encodeSmpMessage({ ...header, op: (header.op + 1) as 1 | 3, body })));
    },
  });
  return client;
}

async function rejection(promise: Promise<unknown>): Promise<SmpRcError> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(SmpRcError);
  return err as SmpRcError;
}

describe('SMP return codes', () => {
  it('names an SMP v2 err.rc from its group table, not from MGMT_ERR', () => {
    expect(smpRcName(3, 1)).toBe('no image');
    expect(smpRcName(3, 0)).toBe('query yields no answer');
    expect(smpRcName(3, 3)).toBe('key not found');
    expect(smpRcName(3, 8)).toBe('file not found');
    expect(smpRcName(3, 9)).toBe('empty command');
    expect(smpRcName(4, 10)).toBe('index too large');
    expect(smpRcName(4, 63)).toBe('flash erase failed');
    expect(smpRcName(2, 2)).toBe('invalid group');
    expect(smpRcName(3)).toBe('invalid value');
  });

  it('says "group-specific rc N" for codes and groups it has no table entry for', () => {
    expect(smpRcName(99, 1)).toBe('group-specific rc 99');
    expect(smpRcName(2, 64)).toBe('group-specific rc 2');
    expect(smpRcName(2, 4)).toBe('group-specific rc 2');
  });
});

describe('runSmpRequest errors', () => {
  it('reports a v2 {"err": {group, rc}} with the group name and puts the codes in the error data', async () => {
    const err = await rejection(runSmpRequest(answering({ err: { group: 1, rc: 3 } }, 2), { command: 'image_state' }));
    expect(err.message).toBe('SMP group 1 id 0: rc 3 (no image)');
    expect(err.data).toEqual({
      command: 'image_state',
      group: 1,
      id: 0,
      seq: 0,
      version: 2,
      rc: 3,
      rc_name: 'no image',
      group_specific: true,
    });
  });

  it('reports a v1 {"rc": n} from the MGMT_ERR table', async () => {
    const err = await rejection(runSmpRequest(answering({ rc: 3 }, 1), { group: 0, id: 8, op: 'read' }));
    expect(err.message).toBe('SMP group 0 id 8: rc 3 (invalid value)');
    expect(err.data).toMatchObject({ group: 0, version: 1, rc: 3, group_specific: false });
    expect(err.data).not.toHaveProperty('command');
  });
});
