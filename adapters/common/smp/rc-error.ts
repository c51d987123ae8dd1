// A device answered an SMP request with a non-zero rc: the error every SMP caller throws, with the numbers an
// automation needs in `data` (the request router puts `data` into the error response).
import type { SmpResponse } from './client.js';
import type { SmpCommandName } from './commands.js';
import { smpRcName } from './return-codes.js';

/** Which request a response answers, and its return code. */
export interface SmpAnswer {
  command?: SmpCommandName;
  /** For an error: the group the rc belongs to (the v2 `err.group`, else the response's group). */
  group: number;
  id: number;
  seq: number;
  /** SMP version of the response header. */
  version: 1 | 2;
  rc: number;
}

/** What an error response carries in `data`, so that automations need not parse the message. */
export interface SmpRcErrorData extends SmpAnswer {
  rc_name: string;
  /** True for a v2 `{"err": {group, rc}}` (the group's own codes), false for `{"rc": n}` (MGMT_ERR codes). */
  group_specific: boolean;
}

export class SmpRcError extends Error {
  override readonly name = 'SmpRcError';

  constructor(readonly data: SmpRcErrorData) {
    super(`SMP group ${data.group} id ${data.id}: rc ${data.rc} (${data.rc_name})`);
  }

  static from(res: SmpResponse, command?: SmpCommandName): SmpRcError {
    return new SmpRcError({
      ...(command !== undefined ? { command } : {}),
      group: res.errGroup ?? res.header.group,
      id: res.header.id,
      seq: res.header.seq,
      version: res.header.version,
      rc: res.rc,
      rc_name: smpRcName(res.rc, res.errGroup),
      group_specific: res.errGroup !== undefined,
    });
  }
}
