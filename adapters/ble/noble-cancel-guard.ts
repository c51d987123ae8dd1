// noble's HCI binding (lib/hci-socket/bindings.js cancelConnect, 1.9.2-26, "TODO: check if it was not in the queue")
// sends LE Create Connection Cancel for any peripheral it is asked to cancel, also one only waiting in its queue
// behind the connection the controller is making. The controller then cancels that pending connection: another
// device's, which fails and waits out its back-off. The guard takes a queued peripheral out of the queue alone; the
// HCI command goes out only for the pending one. Other bindings have no such queue: nothing to guard.

interface HciBindings {
  _pendingConnectionUuid?: string | null;
  _connectionQueue?: Array<{ id: string }>;
  cancelConnect?: CancelConnect;
}

type CancelConnect = ((this: HciBindings, peripheralUuid: string, ...rest: unknown[]) => void) & { guarded?: true };

/** Installs the guard once per noble instance (the HCI one is shared by every adapter start). */
export function guardCancelConnect(noble: object): void {
  const bindings = (noble as { _bindings?: HciBindings })._bindings;
  const cancel = bindings?.cancelConnect;
  if (!bindings || typeof cancel !== 'function' || cancel.guarded || !Array.isArray(bindings._connectionQueue)) return;
  const guarded: CancelConnect = function (this: HciBindings, peripheralUuid, ...rest) {
    if (this._pendingConnectionUuid === peripheralUuid) return cancel.call(this, peripheralUuid, ...rest);
    this._connectionQueue = (this._connectionQueue ?? []).filter((c) => c.id !== peripheralUuid);
  };
  guarded.guarded = true;
  bindings.cancelConnect = guarded;
}
