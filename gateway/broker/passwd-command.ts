// `zephyr2mqtt passwd USER`: reads a password (stdin when piped, or typed twice without echo on a terminal)
// and prints its scrypt hash for broker.users[].password_hash.
import { createInterface } from 'node:readline';
import type { Readable, Writable } from 'node:stream';
import { hashPassword } from './password.js';

export interface PasswdIo {
  stdin: Readable & { isTTY?: boolean };
  stdout: Writable;
  stderr: Writable;
}

async function readAll(stream: Readable): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(Buffer.from(chunk as Buffer));
  return Buffer.concat(chunks).toString('utf8');
}

function promptHidden(io: PasswdIo, question: string): Promise<string> {
  return new Promise((resolve) => {
    const rl = createInterface({ input: io.stdin, output: io.stderr, terminal: true });
    const mutable = rl as unknown as { _writeToOutput: (s: string) => void };
    io.stderr.write(question);
    mutable._writeToOutput = () => {}; // no echo
    rl.question('', (answer) => {
      rl.close();
      io.stderr.write('\n');
      resolve(answer);
    });
  });
}

/** Returns the process exit code. */
export async function runPasswd(username: string | undefined, io: PasswdIo): Promise<number> {
  if (!username) {
    io.stderr.write('passwd: missing USER (zephyr2mqtt passwd USER)\n');
    return 2;
  }
  let password: string;
  if (io.stdin.isTTY) {
    password = await promptHidden(io, `Password for ${username}: `);
    const again = await promptHidden(io, 'Repeat password: ');
    if (password !== again) {
      io.stderr.write('passwd: the passwords do not match\n');
      return 1;
    }
  } else {
    // One line from a pipe or file; only the line ending is stripped, other whitespace is part of the password.
    password = (await readAll(io.stdin)).split(/\r?\n/)[0] ?? '';
  }
  if (password.length === 0) {
    io.stderr.write('passwd: empty password refused\n');
    return 1;
  }
  if (/[+#/]/.test(username)) {
    io.stderr.write(`passwd: note: ACL rules using %u never apply to "${username}" (it contains + # or /)\n`);
  }
  const hash = await hashPassword(password);
  io.stdout.write(`${hash}\n`);
  if (io.stdin.isTTY) {
    io.stderr.write(`\nbroker:\n  users:\n    - username: ${username}\n      password_hash: "${hash}"\n`);
  }
  return 0;
}
