// Sizes and topics read straight from a queue record, without decoding it.
import type { RecordView } from './queue/record.js';

export const topicOf = (view: RecordView): string => view.buf.toString('utf8', view.topicStart, view.topicEnd);

/** The size of the PUBLISH packet PublishBatch encodes for the record. */
export function packetBytes(view: RecordView, v5: boolean): number {
  const remaining =
    2 + view.topicEnd - view.topicStart + (view.qos > 0 ? 2 : 0) + (v5 ? 1 : 0) + view.payloadEnd - view.topicEnd;
  return 1 + (remaining < 0x80 ? 1 : remaining < 0x4000 ? 2 : remaining < 0x200000 ? 3 : 4) + remaining;
}
