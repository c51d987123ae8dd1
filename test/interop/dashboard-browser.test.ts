// The dashboard in a real browser (Debian's chromium driven by playwright-core): a simulated CoAP
// device appears and its value changes live; an unknown device is onboarded with a click; a device's firmware is
// updated from its page (SMP over UDP to the img_mgmt simulator).
import { createSocket } from 'node:dgram';
import { existsSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import coapPacket from 'coap-packet';
import { type Browser, chromium } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ImgMgmtDevice } from '../adapters/serial/img-mgmt-sim.js';
import { buildImage, imageHashOf } from '../adapters/serial/mcuboot-builder.js';
import { startTestGateway, type TestGateway } from '../helpers/gateway.js';
import { ImgMgmtUdpDevice } from '../sim/coap/smp-udp-device.js';

const CHROMIUM = '/usr/bin/chromium';

/** A device PUT of JSON state to /ps/<id>, answered by the gateway (CON, so we await the ACK). */
function putState(port: number, id: string, state: Record<string, unknown>): Promise<string> {
  const socket = createSocket('udp4');
  const messageId = Math.floor(Math.random() * 0xffff);
  const packet = coapPacket.generate({
    messageId,
    token: Buffer.from([1, 2, 3, 4]),
    code: '0.03',
    confirmable: true,
    options: [
      { name: 'Uri-Path', value: Buffer.from('ps') },
      { name: 'Uri-Path', value: Buffer.from(id) },
      { name: 'Content-Format', value: Buffer.from([50]) },
    ],
    payload: Buffer.from(JSON.stringify(state)),
  });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      socket.close();
      reject(new Error(`no CoAP answer to PUT /ps/${id}`));
    }, 5000);
    socket.on('message', (msg) => {
      const res = coapPacket.parse(msg);
      if (res.messageId !== messageId) return;
      clearTimeout(timer);
      socket.close();
      resolve(res.code);
    });
    socket.send(packet, port, '127.0.0.1');
  });
}

describe('dashboard in a browser', () => {
  let gw: TestGateway;
  let browser: Browser;
  let coapPort: number;

  beforeAll(async () => {
    if (!existsSync(CHROMIUM))
      throw new Error('chromium is missing: apt-get install chromium (npm run test:interop installs it)');
    // last_seen as epoch milliseconds: the dashboard still shows a time.
    gw = await startTestGateway({
      adapters: { coap: { enabled: true, bind: '0.0.0.0', port: 0 } },
      api: { last_seen: 'epoch' },
    });
    const status = gw.gateway.adapterStatuses().coap as { details?: { port?: number } };
    coapPort = status.details?.port ?? 0;
    expect(coapPort).toBeGreaterThan(0);
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: [
        '--no-sandbox',
        '--headless',
        '--disable-gpu',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
        '--no-first-run',
      ],
    });
  });

  afterAll(async () => {
    await browser?.close();
    await gw?.stop();
  });

  it('onboards an unknown device with a click and shows its values change live', async () => {
    const page = await browser.newPage();
    let transferred = 0;
    page.on('response', async (res) => {
      transferred += (await res.body().catch(() => Buffer.alloc(0))).length;
    });
    await page.goto(`${gw.httpUrl}/#/join`);
    await page.getByRole('button', { name: /Permit join/ }).click();
    await expect.poll(() => page.textContent('h2'), { timeout: 5000 }).toContain('Permit join is on');
    expect(transferred).toBeLessThan(200 * 1024);

    expect(await putState(coapPort, 'porch-node', { temperature: 19.5 })).toBe('2.04');
    const row = page.locator('tr[data-unknown]');
    await row.waitFor({ timeout: 5000 });
    await row.getByRole('button', { name: 'Onboard' }).click();
    await page.waitForURL(/#\/devices/);
    await page.locator('tr[data-device="porch-node"]').waitFor({ timeout: 5000 });

    expect(await putState(coapPort, 'porch-node', { temperature: 21.25 })).toBe('2.04');
    const value = page.locator('tr[data-device="porch-node"] [data-property="temperature"] b');
    await expect.poll(() => value.textContent(), { timeout: 5000 }).toBe('21.25');
    expect(await putState(coapPort, 'porch-node', { temperature: 22.5 })).toBe('2.04');
    await expect.poll(() => value.textContent(), { timeout: 5000 }).toBe('22.5');
    const lastSeen = page.locator('tr[data-device="porch-node"] td:nth-child(5)');
    expect(await lastSeen.textContent()).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);

    // The device page: a chart of the values so far, updated live without wiping what the user is typing.
    await page.locator('tr[data-device="porch-node"] a').click();
    await mkdir('test-artifacts', { recursive: true });
    await page.fill('#set-payload', '{"led": true}');
    const caption = page.locator('#device-charts figcaption');
    await expect.poll(() => caption.textContent(), { timeout: 5000 }).toContain('last 22.5');
    expect(await putState(coapPort, 'porch-node', { temperature: 23 })).toBe('2.04');
    await expect.poll(() => caption.textContent(), { timeout: 5000 }).toContain('last 23 ');
    expect(await page.inputValue('#set-payload')).toBe('{"led": true}');
    await page.screenshot({ path: 'test-artifacts/dashboard-device.png', fullPage: true });
    await page.goto(`${gw.httpUrl}/#/devices`);

    await page.locator('tr[data-device="porch-node"]').waitFor();
    await page.screenshot({ path: 'test-artifacts/dashboard-devices.png', fullPage: true });
    await page.close();
  });

  it("updates a device's firmware from its page: file list, Update, progress and the answer", async () => {
    const sim = await ImgMgmtUdpDevice.start(new ImgMgmtDevice(), '127.0.0.1');
    const fw = await startTestGateway({
      adapters: { coap: { enabled: true, bind: '127.0.0.1', port: 0 } },
      devices: [{ id: 'thread-node', transport: 'coap', address: '127.0.0.1', smp: { port: sim.port } }],
    });
    const page = await browser.newPage();
    try {
      const image = buildImage({ body: Buffer.alloc(6000, 0x21), version: [1, 2, 3, 0] });
      const dir = join(fw.dataDir, 'adapters', 'coap', 'firmware');
      await page.goto(`${fw.httpUrl}/#/device/thread-node`);
      // No files yet: the page says where to put them.
      const where = page.locator('#firmware-dir');
      await expect.poll(() => where.textContent(), { timeout: 5000 }).toContain(dir);
      await mkdir(dir, { recursive: true });
      await writeFile(join(dir, 'node-1.2.3.signed.bin'), image);
      await page.getByRole('button', { name: 'Refresh list' }).click();
      await expect.poll(() => page.inputValue('#firmware-file'), { timeout: 5000 }).toBe('node-1.2.3.signed.bin');
      await page.locator('#firmware-start').click();
      const answer = page.locator('#firmware-answer');
      await expect
        .poll(() => answer.textContent(), { timeout: 20_000 })
        .toMatch(/^Uploaded node-1\.2\.3\.signed\.bin \(1\.2\.3/);
      await expect.poll(() => page.locator('[data-update-state]').textContent(), { timeout: 5000 }).toBe('idle');
      expect(sim.device.stored().equals(image)).toBe(true);
      expect(sim.device.testHash?.equals(imageHashOf(image))).toBe(true);
      // The device's own images come first, as <id>/<name> with their versions, the newest marked.
      await mkdir(join(dir, 'thread-node'), { recursive: true });
      const next = buildImage({ body: Buffer.alloc(6000, 0x22), version: [1, 3, 0, 0] });
      await writeFile(join(dir, 'thread-node', 'node-1.3.0.signed.bin'), next);
      await page.getByRole('button', { name: 'Refresh list' }).click();
      await expect
        .poll(() => page.inputValue('#firmware-file'), { timeout: 5000 })
        .toBe('thread-node/node-1.3.0.signed.bin');
      expect(await page.locator('#firmware-file option').first().textContent()).toMatch(
        /\(1\.3\.0, 6 KiB, .*\) · newest$/,
      );
      await page.screenshot({ path: 'test-artifacts/dashboard-firmware.png', fullPage: true });
    } finally {
      await page.close();
      await fw.stop();
      await sim.close();
    }
  });
});
