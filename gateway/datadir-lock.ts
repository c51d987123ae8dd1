// <data_dir>/.lock is a Unix socket one gateway listens on while it uses the directory, so a second gateway
// started on it fails before it reads (and compacts) data the first one is writing.
import { lstatSync, unlinkSync } from 'node:fs';
import { unlink } from 'node:fs/promises';
import { createConnection, createServer, type Server } from 'node:net';
import { join, resolve } from 'node:path';
import { DataDirError, errorText } from './datadir-error.js';
import type { Logger } from './logger.js';
import { VERSION } from './version.js';

export const LOCK_FILE = '.lock';

/** sun_path holds 108 bytes with its NUL; Node silently truncates a longer path and binds somewhere else. */
const MAX_SOCKET_PATH = 107;
/** How long a holder that accepted the connection may take to say who it is. */
const PROBE_TIMEOUT_MS = 2000;
/** bind() errors of a filesystem that cannot hold sockets, or of a security policy that forbids one here. */
const NO_SOCKET_CODES = new Set(['EPERM', 'EACCES', 'ENOTSUP', 'EOPNOTSUPP']);

interface HeldLock {
  server: Server;
  path: string;
  ino: number;
}
/** By resolved data dir. Per process: a gateway restarted in the same process takes over its predecessor's lock. */
const held = new Map<string, HeldLock>();
let exitHookInstalled = false;

type Holder = { state: 'held'; pid: number | undefined } | { state: 'stale' } | { state: 'gone' };

/**
 * Listens on <dir>/.lock. A socket file left by a crashed process refuses connections and is replaced; one that
 * accepts belongs to a running gateway, which answers with its pid. Not a PID file: in a container the pid is
 * always 1, so a stale file would look alive, whereas the kernel forgets a listener the moment its process dies.
 * Two gateways starting in the same instant on a stale file can both replace it; anything later is refused.
 */
export async function lockDataDir(dir: string, logger: Logger): Promise<void> {
  const path = join(dir, LOCK_FILE);
  if (holdsLock(resolve(dir))) return;
  if (Buffer.byteLength(path) > MAX_SOCKET_PATH) {
    warnUnlocked(logger, dir, `the path ${path} is too long for a Unix socket`);
    return;
  }
  // Bounded: a lock that keeps changing hands between bind and connect means gateways are racing for the dir.
  for (let attempt = 0; attempt < 3; attempt++) {
    const bound = await listen(path, logger);
    if ('server' in bound) {
      const ino = inodeOf(path);
      if (ino === undefined) break; // removed the instant it was bound: another gateway is taking the dir
      remember(resolve(dir), { server: bound.server, path, ino });
      return;
    }
    const code = bound.error.code ?? '';
    if (NO_SOCKET_CODES.has(code)) {
      warnUnlocked(logger, dir, `a Unix socket cannot be created there (${code})`);
      return;
    }
    if (code !== 'EADDRINUSE') throw new DataDirError(`cannot create the lock ${path}: ${errorText(bound.error)}`);
    const holder = await probe(path, dir);
    if (holder.state === 'held') {
      throw new DataDirError(
        `data_dir ${dir} is in use by another zephyr2mqtt (pid ${holder.pid ?? 'unknown'}); ` +
          'stop it or give this one another gateway.data_dir',
      );
    }
    if (holder.state === 'stale') await removeStale(path, logger);
  }
  throw new DataDirError(
    `cannot take the lock ${path}: it changed hands while starting; is another zephyr2mqtt starting on data_dir ${dir}?`,
  );
}

/** Closes the lock's socket, which removes its file. Safe to call when the lock is not held. */
export async function releaseDataDir(dir: string): Promise<void> {
  const lock = held.get(resolve(dir));
  if (!lock) return;
  held.delete(resolve(dir));
  await closeLock(lock);
}

/** True while this process holds the lock and its socket file is still the one it created. */
function holdsLock(key: string): boolean {
  const lock = held.get(key);
  if (!lock) return false;
  if (isSameFile(lock)) return true;
  // The directory was removed (and maybe created again) under us: that lock protects nothing any more.
  held.delete(key);
  void closeLock(lock);
  return false;
}

function closeLock(lock: HeldLock): Promise<void> {
  // Closing unlinks the path it was bound to, whichever file has that name by now: a socket whose file is no
  // longer its own stays open (unref'd, one descriptor) until the process ends.
  if (!isSameFile(lock)) return Promise.resolve();
  return new Promise((done) => lock.server.close(() => done()));
}

function isSameFile(lock: HeldLock): boolean {
  return inodeOf(lock.path) === lock.ino;
}

function inodeOf(path: string): number | undefined {
  try {
    return lstatSync(path).ino;
  } catch {
    return undefined;
  }
}

function remember(key: string, lock: HeldLock): void {
  held.set(key, lock);
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  // process.exit() skips the close that would remove the file; a file left behind is only taken for stale later.
  process.on('exit', () => {
    for (const l of held.values()) {
      try {
        if (isSameFile(l)) unlinkSync(l.path);
      } catch {
        // left behind: the next start takes it for stale
      }
    }
  });
}

function listen(path: string, logger: Logger): Promise<{ server: Server } | { error: NodeJS.ErrnoException }> {
  return new Promise((done) => {
    const server = createServer((socket) => {
      socket.on('error', () => {}); // a prober that went away early
      socket.end(`${JSON.stringify({ pid: process.pid, version: VERSION })}\n`);
    });
    server.once('error', (error: NodeJS.ErrnoException) => done({ error }));
    server.listen(path, () => {
      server.removeAllListeners('error');
      server.on('error', (err) => logger.warn({ err, path }, 'data dir lock cannot answer a connection'));
      // The lock must never be what keeps the process alive.
      server.unref();
      done({ server });
    });
  });
}

/** Connects to an existing lock socket to learn whether a live process listens on it, and which. */
function probe(path: string, dir: string): Promise<Holder> {
  return new Promise((done, fail) => {
    const socket = createConnection(path);
    let connected = false;
    let reply = '';
    const settle = (holder: Holder) => {
      clearTimeout(timer);
      socket.destroy();
      done(holder);
    };
    // Accepted but silent (a stopped process, or not a zephyr2mqtt): still in use.
    const timer = setTimeout(() => settle({ state: 'held', pid: parsePid(reply) }), PROBE_TIMEOUT_MS);
    socket.on('connect', () => {
      connected = true;
    });
    socket.on('data', (d: Buffer) => {
      reply += d.toString();
    });
    socket.on('end', () => settle({ state: 'held', pid: parsePid(reply) }));
    socket.on('error', (err: NodeJS.ErrnoException) => {
      if (connected) settle({ state: 'held', pid: parsePid(reply) });
      else if (err.code === 'ECONNREFUSED') settle({ state: 'stale' });
      else if (err.code === 'ENOENT') settle({ state: 'gone' });
      else {
        clearTimeout(timer);
        socket.destroy();
        fail(
          new DataDirError(
            `cannot tell whether another zephyr2mqtt uses data_dir ${dir}: connecting to ${path} failed ` +
              `(${errorText(err)}). Fix: if no other zephyr2mqtt runs on it, remove ${path}.`,
          ),
        );
      }
    });
  });
}

function parsePid(reply: string): number | undefined {
  try {
    const pid = (JSON.parse(reply) as { pid?: unknown }).pid;
    return Number.isInteger(pid) ? (pid as number) : undefined;
  } catch {
    return undefined;
  }
}

async function removeStale(path: string, logger: Logger): Promise<void> {
  try {
    await unlink(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw new DataDirError(`cannot remove the stale lock ${path}: ${errorText(err)}`);
  }
  logger.info({ path }, 'removed the lock a gateway that did not stop cleanly left in the data dir');
}

function warnUnlocked(logger: Logger, dir: string, reason: string): void {
  logger.warn(
    { dir },
    `data dir cannot be locked: ${reason}; nothing stops a second zephyr2mqtt from using it at the same time`,
  );
}
