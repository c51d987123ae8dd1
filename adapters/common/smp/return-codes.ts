// Names of SMP return codes. SMP v1 `{"rc": n}` (and a v2 response's top-level rc) uses MGMT_ERR_* from
// mgmt_defines.h; an SMP v2 `{"err": {"group": g, "rc": n}}` uses the group's own enum, so rc 3 is "no image" in
// group 1 and "query yields no answer" in group 0. Tables from Zephyr's headers (enums are append-only); a code
// not listed here is named "group-specific rc N" rather than guessed.

/** mgmt_defines.h `enum mcumgr_err_t`. */
const MGMT_ERR = [
  'ok',
  'unknown',
  'no memory',
  'invalid value',
  'timeout',
  'not found',
  'bad state',
  'too large',
  'not supported',
  'corrupt',
  'busy',
  'access denied',
  'unsupported too old',
  'unsupported too new',
];

/** `err.rc` per group id, each from the group's `*_err_code_t` enum. */
const GROUP_ERR: Readonly<Record<number, readonly string[]>> = {
  // os_mgmt.h OS_MGMT_ERR_*
  0: [
    'ok',
    'unknown',
    'invalid format',
    'query yields no answer',
    'RTC not set',
    'RTC command failed',
    'query response value not valid',
  ],
  // img_mgmt.h IMG_MGMT_ERR_*
  1: [
    'ok',
    'unknown',
    'flash config query failed',
    'no image',
    'no TLVs',
    'invalid TLV',
    'multiple hash TLVs',
    'invalid TLV size',
    'hash not found',
    'no free slot',
    'flash open failed',
    'flash read failed',
    'flash write failed',
    'flash erase failed',
    'invalid slot',
    'no free memory',
    'flash context already set',
    'flash context not set',
    'flash area device null',
    'invalid page offset',
    'invalid offset',
    'invalid length',
    'invalid image header',
    'invalid image header magic',
    'invalid hash',
    'invalid flash address',
    'version get failed',
    'current version is newer',
    'image already pending',
    'invalid image vector table',
    'image too large',
    'image data overrun',
    'image confirmation denied',
    'setting test to active denied',
    'active slot not known',
  ],
  // stat_mgmt.h STAT_MGMT_ERR_*
  2: ['ok', 'unknown', 'invalid group', 'invalid stat name', 'invalid stat size', 'walk aborted'],
  // settings_mgmt.h SETTINGS_MGMT_ERR_*
  3: [
    'ok',
    'unknown',
    'key too long',
    'key not found',
    'read not supported',
    'root key not found',
    'write not supported',
    'delete not supported',
  ],
  // fs_mgmt.h FS_MGMT_ERR_*
  8: [
    'ok',
    'unknown',
    'invalid file name',
    'file not found',
    'file is a directory',
    'file open failed',
    'file seek failed',
    'file read failed',
    'file truncate failed',
    'file delete failed',
    'file write failed',
    'file offset not valid',
    'file offset larger than file',
    'checksum/hash type not found',
    'mount point not found',
    'read-only filesystem',
    'file empty',
  ],
  // shell_mgmt.h SHELL_MGMT_ERR_*
  9: ['ok', 'unknown', 'command too long', 'empty command'],
  // enum_mgmt.h ENUM_MGMT_ERR_*
  10: ['ok', 'unknown', 'too many group entries', 'insufficient heap for entries', 'index too large'],
  // zephyr_basic.h ZEPHYRBASIC_MGMT_ERR_* (Zephyr basic group)
  63: ['ok', 'unknown', 'flash open failed', 'flash config query failed', 'flash erase failed'],
};

/**
 * The name of an SMP return code. `errGroup` is the group of an SMP v2 `err` map; without it `rc` is an
 * MGMT_ERR code (v1, or a v2 response that failed before the group handler ran).
 */
export function smpRcName(rc: number, errGroup?: number): string {
  if (errGroup !== undefined) return GROUP_ERR[errGroup]?.[rc] ?? `group-specific rc ${rc}`;
  return MGMT_ERR[rc] ?? (rc >= 256 ? 'group-specific error' : 'unknown error');
}
