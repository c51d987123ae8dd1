// noble's HCI binding parses advertising data in GAP (lib/hci-socket/gap.js parseServices, 1.9.2-26) and throws on
// some malformed AD structures: Service Data without a UUID, Tx Power without a byte. hci.js catches that with a
// console.warn per report, unthrottled, and drops the whole report and every later one of the same HCI event: one
// broken advertiser in range writes a line to stderr for each of its adverts, and its good data is lost too. The
// guard leaves out only the structures that cannot be parsed and reports the advert, so it is counted and logged
// rate-limited like every other undecodable input. Other bindings have no GAP object: nothing to guard.

type ParseServices = (
  address: string,
  eir: Buffer,
  previouslyDiscovered: boolean,
  type: number,
  txpower?: number,
) => unknown;

type Lists = Record<'serviceData' | 'serviceUuids' | 'serviceSolicitationUuids', unknown[] | undefined>;

interface Gap {
  parseServices?: ParseServices & { onMalformed?: MalformedHandler };
  _discoveries?: Record<string, { advertisement?: Lists } | undefined>;
}

export type MalformedHandler = (address: string, eir: Buffer, error: unknown) => void;

const LISTS = ['serviceData', 'serviceUuids', 'serviceSolicitationUuids'] as const;

/** Installs the guard once per noble instance (the HCI one is shared by every adapter start); `onMalformed` is
 * the current adapter's. */
export function guardAdvertParsing(noble: object, onMalformed: MalformedHandler): void {
  const gap = (noble as { _bindings?: { _gap?: Gap } })._bindings?._gap;
  const parse = gap?.parseServices;
  if (!gap || typeof parse !== 'function') return;
  if (parse.onMalformed) {
    parse.onMalformed = onMalformed;
    return;
  }
  const guarded: ParseServices & { onMalformed?: MalformedHandler } = function (
    this: Gap,
    address,
    eir,
    previouslyDiscovered,
    type,
    txpower,
  ) {
    // A scan response adds to the lists GAP keeps for the address: what a failed parse added must not count twice.
    const kept = this._discoveries?.[address]?.advertisement;
    const lengths = LISTS.map((key) => kept?.[key]?.length ?? 0);
    try {
      return parse.call(this, address, eir, previouslyDiscovered, type, txpower);
    } catch (err) {
      LISTS.forEach((key, i) => {
        const list = kept?.[key];
        if (list && list.length > lengths[i]!) list.length = lengths[i]!;
      });
      guarded.onMalformed?.(address, eir, err);
      const parsable = structures(eir).filter((s) => {
        try {
          parse.call(this, address, s, false, type, txpower);
          return true;
        } catch {
          return false;
        }
      });
      return parse.call(this, address, Buffer.concat(parsable), previouslyDiscovered, type, txpower);
    }
  };
  guarded.onMalformed = onMalformed;
  gap.parseServices = guarded;
}

/** The AD structures (length, type, data) of advertising data, up to the first one that does not fit. */
function structures(eir: Buffer): Buffer[] {
  const out: Buffer[] = [];
  for (let i = 0; i + 1 < eir.length; ) {
    const length = eir[i]!;
    if (length < 1 || i + length + 1 > eir.length) break;
    out.push(eir.subarray(i, i + length + 1));
    i += length + 1;
  }
  return out;
}
