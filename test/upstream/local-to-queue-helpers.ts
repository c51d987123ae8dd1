// A LocalToQueue wired as the bridge wires it (base topic zephyr2mqtt, gateway site-12), over a queue the test fakes.
import type { UpstreamConfig } from '../../gateway/upstream/config.js';
import { LocalToQueue, type LocalToQueueDeps } from '../../gateway/upstream/local-to-queue.js';
import { OwnReports } from '../../gateway/upstream/own-reports.js';
import type { DiskQueue } from '../../gateway/upstream/queue/disk-queue.js';
import { resolveMappings } from '../../gateway/upstream/topic-map.js';

export function localToQueueFor(
  config: UpstreamConfig,
  queue: DiskQueue,
  refusedTopic?: LocalToQueueDeps['refusedTopic'],
): LocalToQueue {
  const mappings = resolveMappings(config, 'zephyr2mqtt', 'site-12');
  return new LocalToQueue({
    own: new OwnReports('zephyr2mqtt', mappings),
    fromUpstream: () => false,
    config: () => config,
    mappings: () => mappings,
    stateTopic: () => 'site-12/bridge/state',
    queue: () => queue,
    queueOpening: () => Promise.resolve(),
    markOwnDropped: () => {},
    ...(refusedTopic ? { refusedTopic } : {}),
  });
}
