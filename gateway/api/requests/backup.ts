// bridge/request/backup: `{"zip": "<base64>"}` as Zigbee2MQTT answers, a ZIP of what restores the gateway: the
// config file and its data directory (collect.ts says what is left out), plus the list of files in it.
import { BackupTooLarge, collectBackup } from '../../backup/collect.js';
import { zip } from '../../backup/zip.js';
import type { Gateway } from '../../controller.js';
import { RequestError } from '../router.js';
import type { RequestData } from '../topics.js';

/** The backup being made, per gateway: a request while one runs gets the same answer instead of building a second
 * archive (each holds up to 64 MiB of files, their ZIP and its base64 in memory at once). */
const inFlight = new WeakMap<Gateway, Promise<RequestData['backup']>>();

export function backup(gw: Gateway): Promise<RequestData['backup']> {
  const running = inFlight.get(gw);
  if (running) return running;
  const made = makeBackup(gw).finally(() => inFlight.delete(gw));
  inFlight.set(gw, made);
  return made;
}

async function makeBackup(gw: Gateway): Promise<RequestData['backup']> {
  const configPath = gw.options.configPath;
  if (!configPath)
    throw new RequestError('the gateway runs without a config file: there is nothing to restore it from');
  try {
    const files = await collectBackup({ configPath, dataDir: gw.dataDir });
    const archive = await zip(files);
    gw.logger.info({ files: files.length, bytes: archive.length }, 'backup made');
    return { zip: archive.toString('base64'), files: files.map((f) => f.name) };
  } catch (err) {
    if (err instanceof BackupTooLarge) throw new RequestError(err.message);
    throw err;
  }
}
