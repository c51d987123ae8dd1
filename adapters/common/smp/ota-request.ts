// `bridge/request/device/ota_update`: uploads an MCUboot image from the adapter's firmware directory (a named
// `file`, else the highest version in the device's own firmware/<id>/) to a device over SMP (any transport:
// serial, BLE, UDP), optionally marks it for a test boot and resets the device; `{"cancel": true}` stops a running
// upload while chunks still go out (not the test mark and reset after it). `ota_update/check` (Zigbee2MQTT's)
// compares that image's version with the one the device runs.
// Progress goes into the device state the Zigbee2MQTT way: {"update": {"state": "updating", "progress", ...}},
// through ctx.deviceStatus: the gateway's report, not a sign of life of the device.
import { z } from 'zod';
import type { AdapterContext } from '../../../gateway/adapter.js';
import { type SmpClient, SmpTimeoutError } from './client.js';
import {
  compareVersions,
  deviceFirmwareDir,
  type FirmwareChoice,
  firmwareDir,
  namedFirmware,
  newestDeviceFirmware,
  readImage,
} from './firmware-files.js';
import {
  findImageByHash,
  type ImageSlot,
  markImageForTest,
  readImageState,
  resetDevice,
  slotsToJson,
} from './image-state.js';
import { ImageUploadError, uploadImage } from './image-upload.js';
import type { McubootImageInfo } from './mcuboot-image.js';
import { SmpRcError } from './rc-error.js';
import { runningSlot, runningSlotWithHash, slotInUseReason } from './slot-check.js';
import { UploadProgressThrottle } from './upload-progress.js';

const target = { device: z.string().optional(), id: z.string().optional() };

export const otaRequestSchema = z.union([
  z.object({ ...target, cancel: z.literal(true) }).strict(),
  z
    .object({
      ...target,
      file: z.string().min(1).max(255).optional(),
      test: z.boolean().default(true),
      reset: z.boolean().default(true),
      image: z.number().int().min(0).max(255).default(0),
    })
    .strict(),
]);

const checkSchema = z
  .object({
    ...target,
    file: z.string().min(1).max(255).optional(),
    image: z.number().int().min(0).max(255).default(0),
  })
  .strict();

/** Whether an adapter's request `name` is one of these: `ota_update`, and Zigbee2MQTT's `ota_update/update` and
 * `ota_update/check`. */
export function isOtaRequestName(name: string): boolean {
  return name === 'ota_update' || name === 'ota_update/update' || name === 'ota_update/check';
}

/** Runs the ota_update request `name` names (see isOtaRequestName). */
export function runOta(name: string, t: OtaTarget, input: Record<string, unknown>): Promise<unknown> {
  return name === 'ota_update/check' ? runOtaCheck(t, input) : runOtaRequest(t, input);
}

export interface OtaTarget {
  ctx: AdapterContext;
  deviceId: string;
  smp: SmpClient;
}

interface RunningUpload {
  file: string;
  controller: AbortController;
  offset: number;
  /** `finishing` once every byte arrived: marking for test and resetting are not cancelled halfway. */
  phase: 'upload' | 'finishing';
}

// Keyed by the device's SMP client: one upload per device link, forgotten with the link.
const running = new WeakMap<SmpClient, RunningUpload>();

export async function runOtaRequest(t: OtaTarget, input: Record<string, unknown>): Promise<unknown> {
  const parsed = otaRequestSchema.safeParse(input);
  if (!parsed.success) {
    throw new Error(
      'invalid ota_update request: expected {"device", "file"?: "<name in the firmware directory>" or ' +
        `"<device id>/<name>", "test"?, "reset"?, "image"?} or {"device", "cancel": true}: ${requestProblem(input)}`,
    );
  }
  const req = parsed.data;
  if ('cancel' in req) return cancel(t);
  const busy = running.get(t.smp);
  if (busy) {
    throw new Error(`device "${t.deviceId}" is already receiving "${busy.file}" (at offset ${busy.offset})`);
  }
  // Claimed before the first await, so that a second request arriving meanwhile is refused.
  const upload: RunningUpload = {
    file: req.file ?? `${t.deviceId}/`,
    controller: new AbortController(),
    offset: 0,
    phase: 'upload',
  };
  running.set(t.smp, upload);
  try {
    const { file, path } = await firmwareFor(t, req.file);
    const { bytes, info } = await readImage(path);
    upload.file = file;
    if (req.test && !info.imageHash) {
      throw new Error(
        `"${file}" has no image hash TLV (SHA-256, SHA-384 or SHA-512): the device could not find it to mark it for test`,
      );
    }
    const slots = await slotsBeforeUpload(t);
    // In every update status, as Zigbee2MQTT has them: Home Assistant's update entity reads them.
    const versions = updateVersions(slots && runningSlot(slots, req.image)?.version, info.version);
    const plan = { file, bytes, info, test: req.test, reset: req.reset, image: req.image, versions };
    if (slots) {
      const inUse = slotInUseReason(slots, req.image);
      if (inUse) throw new Error(`device "${t.deviceId}" cannot take "${file}" now: ${inUse}`);
      if (info.imageHash && runningSlotWithHash(slots, req.image, info.imageHash))
        return alreadyRunning(t, plan, slots);
    }
    // Only an update that started shows in the device state; a refused request is answered, nothing more.
    return await install(t, upload, plan).catch((err: unknown) => {
      logFailure(t, upload, err);
      t.ctx.deviceStatus(t.deviceId, {
        update: { state: 'failed', ...versions, error: err instanceof Error ? err.message : String(err) },
      });
      throw err;
    });
  } finally {
    running.delete(t.smp);
  }
}

/** ota_update/check: the image an update without a file would install, against the version the device runs. */
async function runOtaCheck(t: OtaTarget, input: Record<string, unknown>): Promise<unknown> {
  const parsed = checkSchema.safeParse(input);
  if (!parsed.success) {
    throw new Error(
      `invalid ota_update/check request: expected {"device", "file"?, "image"?}: ${parsed.error.issues[0]?.message}`,
    );
  }
  const req = parsed.data;
  const busy = running.get(t.smp);
  if (busy) throw new Error(`device "${t.deviceId}" is receiving "${busy.file}": check again when it is done`);
  // The version in the image's header is all a check needs: the file is not read whole.
  const { file, version } = await firmwareFor(t, req.file);
  const installed = runningSlot(await readImageState(t.smp), req.image)?.version;
  const update = checkedUpdate(installed, version);
  const available = update.state === 'available';
  t.ctx.deviceStatus(t.deviceId, { update });
  return {
    id: t.deviceId,
    device: t.deviceId,
    update_available: available,
    installed_version: installed ?? null,
    latest_version: version,
    file,
  };
}

/**
 * The device state's `update` after a check: `available` when `latest` is newer than the running version, or that
 * version is not known (the image counts as an update); else `idle`. Also the gateway's start-up check's rule.
 */
export function checkedUpdate(
  installed: string | undefined,
  latest: string,
): { state: 'available' | 'idle'; installed_version?: string; latest_version: string } {
  const available = installed === undefined || compareVersions(latest, installed) > 0;
  return { state: available ? 'available' : 'idle', ...updateVersions(installed, latest) };
}

function updateVersions(
  installed: string | undefined,
  latest: string,
): { installed_version?: string; latest_version: string } {
  return { ...(installed !== undefined ? { installed_version: installed } : {}), latest_version: latest };
}

/** The named file, else the highest version in the device's own directory. */
async function firmwareFor(t: OtaTarget, file: string | undefined): Promise<FirmwareChoice> {
  if (file !== undefined) return namedFirmware(t.ctx, file, t.deviceId);
  const newest = await newestDeviceFirmware(t.ctx, t.deviceId);
  if (newest) return newest;
  throw new Error(
    `no "file" given and no MCUboot image for device "${t.deviceId}" in ${deviceFirmwareDir(t.ctx, t.deviceId)}/: ` +
      `put its images there, or name a file in ${firmwareDir(t.ctx)}`,
  );
}

interface InstallPlan {
  file: string;
  bytes: Buffer;
  info: McubootImageInfo;
  test: boolean;
  reset: boolean;
  image: number;
  versions: { installed_version?: string; latest_version: string };
}

async function install(t: OtaTarget, upload: RunningUpload, plan: InstallPlan): Promise<unknown> {
  const startedAt = performance.now();
  const throttle = new UploadProgressThrottle();
  t.ctx.logger.info(
    { device: t.deviceId, file: plan.file, version: plan.info.version, bytes: plan.bytes.length },
    'firmware update started',
  );
  const fail = (message: string, extra: Record<string, unknown> = {}): Error =>
    Object.assign(new Error(`device "${t.deviceId}": ${message}`), {
      data: { device: t.deviceId, file: plan.file, bytes: plan.bytes.length, ...extra },
    });
  try {
    await uploadImage(t.smp, plan.bytes, {
      image: plan.image,
      ...(plan.info.imageHash ? { imageHash: plan.info.imageHash } : {}),
      signal: upload.controller.signal,
      onProgress: (done, total) => {
        upload.offset = done;
        const progress = throttle.update(done, total);
        if (progress) t.ctx.deviceStatus(t.deviceId, { update: { state: 'updating', ...progress, ...plan.versions } });
      },
    });
  } catch (err) {
    if (!(err instanceof ImageUploadError)) throw err;
    throw fail(`firmware ${err.message}`, { offset: err.offset, ...rcData(err.reason) });
  }
  upload.phase = 'finishing';
  const seconds = Math.round(performance.now() - startedAt) / 1000;
  const { slots, resetConfirmed } = await testAndReset(t.smp, plan).catch((err: unknown) => {
    const why = err instanceof Error ? err.message : String(err);
    throw fail(`uploaded all ${plan.bytes.length} bytes of "${plan.file}", then the ${why}`, {
      offset: plan.bytes.length,
      ...rcData(err instanceof PostUploadError ? err.cause : err),
    });
  });
  t.ctx.logger.info(
    { device: t.deviceId, file: plan.file, version: plan.info.version, seconds, tested: plan.test, reset: plan.reset },
    'firmware update done',
  );
  const active = runningSlot(slots, plan.image);
  t.ctx.deviceStatus(t.deviceId, {
    update: { state: 'idle', ...updateVersions(active?.version, plan.info.version) },
  });
  return {
    device: t.deviceId,
    file: plan.file,
    bytes: plan.bytes.length,
    seconds,
    version: plan.info.version,
    hash: plan.info.imageHash?.toString('hex') ?? null,
    tested: plan.test,
    reset: plan.reset,
    ...(plan.reset ? { reset_confirmed: resetConfirmed } : {}),
    slots: slotsToJson(slots),
  };
}

/** The device's slots before an upload, or undefined when it does not answer image state reads. */
async function slotsBeforeUpload(t: OtaTarget): Promise<ImageSlot[] | undefined> {
  try {
    return await readImageState(t.smp);
  } catch (err) {
    if (err instanceof SmpRcError) return undefined;
    // The first request of an update: a device that never answers it most likely has no SMP server there.
    const hint =
      err instanceof SmpTimeoutError
        ? `; is SMP (mcumgr) enabled in the device's firmware${t.ctx.kind === 'serial' ? ', on this UART' : ''}?`
        : '';
    throw new Error(
      `device "${t.deviceId}": image state read before the upload failed: ${err instanceof Error ? err.message : String(err)}${hint}`,
      {
        cause: err,
      },
    );
  }
}

/** The answer when the file is the firmware the device runs: nothing to upload (its test mark would fail). */
function alreadyRunning(t: OtaTarget, plan: InstallPlan, slots: ImageSlot[]): unknown {
  return {
    device: t.deviceId,
    file: plan.file,
    bytes: plan.bytes.length,
    version: plan.info.version,
    hash: plan.info.imageHash?.toString('hex') ?? null,
    already_running: true,
    uploaded: 0,
    tested: false,
    reset: false,
    slots: slotsToJson(slots),
  };
}

/** A step after the upload failed; the message starts with the step's name. */
class PostUploadError extends Error {
  override readonly name = 'PostUploadError';
}

/**
 * Marks the uploaded image for test and resets the device, as asked: the device's slots after the mark, and whether
 * the device answered the reset (a reset it carried out before answering is not an error).
 */
async function testAndReset(
  smp: SmpClient,
  plan: InstallPlan,
): Promise<{ slots: ImageSlot[]; resetConfirmed: boolean }> {
  let slots: ImageSlot[] = [];
  const step = async <T>(name: string, run: () => Promise<T>): Promise<T> => {
    try {
      return await run();
    } catch (err) {
      throw new PostUploadError(`${name} failed: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
    }
  };
  const hash = plan.info.imageHash;
  if (plan.test && hash) {
    slots = await step('image state read', () => readImageState(smp));
    if (!findImageByHash(slots, hash)) {
      throw new PostUploadError(`image state read failed: the device lists no image with hash ${hash.toString('hex')}`);
    }
    slots = await step('image state write', () => markImageForTest(smp, hash));
  }
  const resetConfirmed = plan.reset ? await step('reset', () => resetDevice(smp)) : false;
  return { slots, resetConfirmed };
}

function cancel(t: OtaTarget): unknown {
  const upload = running.get(t.smp);
  if (!upload) throw new Error(`no firmware upload is running on device "${t.deviceId}"`);
  if (upload.phase === 'finishing') {
    throw new Error(
      `device "${t.deviceId}": the upload of "${upload.file}" is complete; marking it for test and resetting are under way`,
    );
  }
  upload.controller.abort(new Error('cancelled by request'));
  return { device: t.deviceId, file: upload.file, cancelled: true, offset: upload.offset };
}

/** The warning for an update that started and then failed or was cancelled: how far it got and why. */
function logFailure(t: OtaTarget, upload: RunningUpload, err: unknown): void {
  const cancelled = upload.controller.signal.aborted;
  // The offset the error reports (where the device stopped taking chunks), else the last one acknowledged.
  const reported = (err as { data?: { offset?: unknown } } | undefined)?.data?.offset;
  t.ctx.logger.warn(
    {
      device: t.deviceId,
      file: upload.file,
      offset: typeof reported === 'number' ? reported : upload.offset,
      reason: err instanceof Error ? err.message : String(err),
    },
    cancelled ? 'firmware update cancelled' : 'firmware update failed',
  );
}

/**
 * What is wrong with a request the schema refused, judged against the form it was meant as (a cancel when it has
 * `cancel`, else an upload): the union's own message would only say "Invalid input".
 */
function requestProblem(input: Record<string, unknown>): string {
  const form = otaRequestSchema.options['cancel' in input ? 0 : 1];
  const issue = form.safeParse(input).error?.issues[0];
  if (!issue) return 'not a valid request';
  const key = issue.path.join('.');
  if (issue.code === 'invalid_type' && issue.path.length === 1 && input[key] === undefined) return `missing "${key}"`;
  return key ? `"${key}": ${issue.message}` : issue.message;
}

/** A device error's numbers for the error response (not its SMP `version`, which would read as the firmware's). */
function rcData(err: unknown): Record<string, unknown> {
  if (!(err instanceof SmpRcError)) return {};
  const { group, id, rc, rc_name, group_specific } = err.data;
  return { group, id, rc, rc_name, group_specific };
}
