// bridge/request/health_check: the same verdict as /readyz.
import type { Gateway } from '../../controller.js';

export function healthCheck(gw: Gateway): { healthy: boolean; reasons: string[] } {
  const { ready, reasons } = gw.ready();
  return { healthy: ready, reasons };
}
