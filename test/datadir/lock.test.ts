// The data dir lock: <data_dir>/.lock is a Unix socket a running gateway listens on, so a second gateway on the
// same dir is refused before it reads anything, while a socket file left by a killed one is taken over.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdir, mkdtemp, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { createConnection, createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DataDirError, FORMAT_FILE, LOCK_FILE, prepareDataDir, releaseDataDir } from '../../gateway/datadir.js';
import { captureLogger } from '../broker/helpers.js';

/** What the process listening on a lock socket says about itself. */
async function askHolder(path: string): Promise<unknown> {
  const socket = createConnection(path);
  let reply = '';
  socket.on('data', (d: Buffer) => {
    reply += d.toString();
  });
  await once(socket, 'end');
  return JSON.parse(reply);
}

/** Another process's lock, as far as this process can tell: a listener it does not hold itself. */
async function foreignHolder(path: string, reply: string | undefined): Promise<Server> {
  const server = createServer((socket) => {
    if (reply !== undefined) socket.end(reply);
  });
  server.listen(path);
  await once(server, 'listening');
  return server;
}

/** A lock socket whose process was killed: the file stays, nothing listens on it. */
async function staleSocket(path: string): Promise<void> {
  const child = spawn(process.execPath, [
    '-e',
    `require('node:net').createServer().listen(${JSON.stringify(path)}, () => process.kill(process.pid, 'SIGKILL'))`,
  ]);
  await once(child, 'exit');
  expect((await stat(path)).isSocket()).toBe(true);
}

let root: string;
let dir: string;
const servers: Server[] = [];
beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'z2m-lock-'));
  dir = join(root, 'data');
});
afterEach(async () => {
  await releaseDataDir(dir);
  for (const server of servers.splice(0)) server.close();
  await rm(root, { recursive: true, force: true });
});

describe('data dir lock', () => {
  it('is held while the dir is in use and answers with the holder pid', async () => {
    await prepareDataDir(dir, captureLogger('info').logger);
    expect((await stat(join(dir, LOCK_FILE))).isSocket()).toBe(true);
    expect(await askHolder(join(dir, LOCK_FILE))).toMatchObject({ pid: process.pid });
  });

  it('does not count as data: a new dir with only the lock in it is initialised, not migrated', async () => {
    const { logger, lines } = captureLogger('info');
    await prepareDataDir(dir, logger);
    expect(lines.some((l) => l.msg === 'data dir initialised')).toBe(true);
    expect(lines.some((l) => l.msg === 'migrating data dir')).toBe(false);
  });

  it('refuses a dir another process holds, naming its pid, before reading anything in it', async () => {
    await mkdir(dir);
    await writeFile(join(dir, FORMAT_FILE), '{not json'); // would fail the format check if it were read
    servers.push(await foreignHolder(join(dir, LOCK_FILE), '{"pid":4242,"version":"9.9.9"}\n'));
    const attempt = prepareDataDir(dir, captureLogger('info').logger);
    await expect(attempt).rejects.toBeInstanceOf(DataDirError);
    await expect(attempt).rejects.toThrow(
      `data_dir ${dir} is in use by another zephyr2mqtt (pid 4242); stop it or give this one another gateway.data_dir`,
    );
  });

  it('refuses a dir whose lock accepts connections but never answers', async () => {
    servers.push(await foreignHolder(join(root, LOCK_FILE), undefined));
    await expect(prepareDataDir(root, captureLogger('info').logger)).rejects.toThrow(/in use by .*\(pid unknown\)/);
  });

  it('takes over the socket file of a killed gateway', async () => {
    await mkdir(dir);
    await staleSocket(join(dir, LOCK_FILE));
    const { logger, lines } = captureLogger('info');
    await prepareDataDir(dir, logger);
    expect(await askHolder(join(dir, LOCK_FILE))).toMatchObject({ pid: process.pid });
    expect(lines.some((l) => l.level === 30 && String(l.msg).includes('did not stop cleanly'))).toBe(true);
  });

  it('is released: the socket file goes and another process can take the dir', async () => {
    await prepareDataDir(dir, captureLogger('info').logger);
    await releaseDataDir(dir);
    expect(await readdir(dir)).not.toContain(LOCK_FILE);
    servers.push(await foreignHolder(join(dir, LOCK_FILE), '{"pid":4242}\n'));
    await expect(prepareDataDir(dir, captureLogger('info').logger)).rejects.toThrow(/\(pid 4242\)/);
  });

  it('is released when the format check fails', async () => {
    await mkdir(dir);
    await writeFile(join(dir, FORMAT_FILE), '{not json');
    await expect(prepareDataDir(dir, captureLogger('info').logger)).rejects.toThrow(/not valid JSON/);
    expect(await readdir(dir)).not.toContain(LOCK_FILE);
  });

  it('runs unlocked with a warning where no socket can be bound (a path too long for one)', async () => {
    const long = join(root, 'd'.repeat(120));
    const { logger, lines } = captureLogger('info');
    await expect(prepareDataDir(long, logger)).resolves.toMatchObject({ format: expect.any(Number) });
    expect(await readdir(long)).not.toContain(LOCK_FILE);
    // Node would have truncated the path and bound a socket beside the dir.
    expect((await readdir(root)).filter((n) => n !== 'd'.repeat(120))).toEqual([]);
    expect(lines.some((l) => l.level === 40 && String(l.msg).includes('data dir cannot be locked'))).toBe(true);
  });
});
