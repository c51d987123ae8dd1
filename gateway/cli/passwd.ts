// `zephyr2mqtt passwd USER`: hash a password for broker.users.
import { createInterface } from 'node:readline';
import { Writable } from 'node:stream';
import { hashPassword } from '../broker/password.js';

export async function passwdCommand(user: string | undefined): Promise<number> {
  if (!user) {
    console.error('passwd: missing USER (zephyr2mqtt passwd --help)');
    return 2;
  }
  const password = process.stdin.isTTY ? await promptTwice() : await firstLine(process.stdin);
  if (password === undefined) {
    console.error('passwd: the passwords do not match');
    return 2;
  }
  if (password.length === 0) {
    console.error('passwd: empty password');
    return 2;
  }
  const hash = await hashPassword(password);
  console.log(hash);
  console.error(`broker.users entry:\n  - { username: ${JSON.stringify(user)}, password_hash: "${hash}" }`);
  return 0;
}

async function firstLine(input: NodeJS.ReadableStream): Promise<string> {
  let text = '';
  for await (const chunk of input) {
    text += String(chunk);
    if (text.includes('\n') || text.length > 4096) break;
  }
  return text.split(/\r?\n/)[0] ?? '';
}

async function promptTwice(): Promise<string | undefined> {
  const first = await promptHidden('Password: ');
  const second = await promptHidden('Again: ');
  return first === second ? first : undefined;
}

function promptHidden(prompt: string): Promise<string> {
  let muted = false;
  const output = new Writable({
    write(chunk, _enc, cb) {
      if (!muted) process.stderr.write(chunk);
      cb();
    },
  });
  const rl = createInterface({ input: process.stdin, output, terminal: true });
  return new Promise((resolve) => {
    rl.question(prompt, (answer) => {
      rl.close();
      process.stderr.write('\n');
      resolve(answer);
    });
    muted = true;
  });
}
