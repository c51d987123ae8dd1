// Opening and closing the radio link of one noble peripheral, shared by the device sessions and the serial probe.
import type { NoblePeripheral } from '../noble-types.js';
import { gattOperation } from './operation.js';

/**
 * Connects, or throws (timeout, refusal). A pending attempt is cancelled; any other failure closes the link, as
 * "already connected" means a link nobody uses any more is still up.
 */
export async function openLink(p: NoblePeripheral, timeoutMs: number): Promise<void> {
  try {
    const [error] = await gattOperation<[unknown]>({
      what: 'connect',
      emitter: p,
      event: 'connect',
      start: () => p.connect(),
      timeoutMs,
      link: p,
    });
    if (error) throw error instanceof Error ? error : new Error(String(error));
  } catch (err) {
    closeLink(p);
    throw err;
  }
}

/**
 * Tears the link down in every state but disconnected. noble reports a failed connect as state 'error' even when
 * a link is up ("already connected"): leaving that link open would refuse every later connect. A connection still
 * pending is cancelled: disconnecting it would only mark it 'disconnecting' (noble's HCI binding has no handle to
 * disconnect yet), while the controller went on trying, completed it later for nobody, and made every other
 * connection wait behind it.
 */
export function closeLink(p: NoblePeripheral): void {
  if (p.state === 'disconnected' || p.state === 'disconnecting') return;
  if (p.state === 'connecting') {
    p.cancelConnect();
    return;
  }
  try {
    p.disconnect();
  } catch {
    // No link after all (HCI has no handle for it): nothing to tear down.
  }
}

/** Closes the link and resolves once noble reports it down (or after `timeoutMs`, whichever is first). */
export function closeLinkAndWait(p: NoblePeripheral, timeoutMs: number): Promise<void> {
  if (p.state === 'disconnected') return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      p.off('disconnect', done);
      resolve();
    };
    const timer = setTimeout(done, timeoutMs);
    p.on('disconnect', done);
    closeLink(p);
  });
}
