// CONNECT authentication: users with scrypt hashes, optional anonymous access. Each accepted connection gets
// the ACL rules of its user (or anonymous_acl).
import type { BrokerConfig } from '../config/schema.js';
import type { AclRule } from './acl.js';
import { parsePasswordHash, type ScryptHash, verifyPassword } from './password.js';

export type AuthResult =
  | { ok: true; username: string | undefined; rules: readonly AclRule[] }
  | { ok: false; returnCode: 4 | 5; reason: string };

/** Verified against when the user does not exist, so a wrong username costs as long as a wrong password. */
export const DECOY_HASH = parsePasswordHash(
  'scrypt$16384$8$1$AAAAAAAAAAAAAAAAAAAAAA==$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=',
);

export class Authenticator {
  readonly #users = new Map<string, { hash: ScryptHash; rules: readonly AclRule[] }>();

  constructor(private readonly config: BrokerConfig) {
    for (const user of config.users) {
      this.#users.set(user.username, { hash: parsePasswordHash(user.password_hash), rules: user.acl });
    }
  }

  async authenticate(username: string | undefined, password: Buffer | undefined): Promise<AuthResult> {
    if (username === undefined) {
      if (this.config.allow_anonymous) return { ok: true, username: undefined, rules: this.config.anonymous_acl };
      return { ok: false, returnCode: 5, reason: 'anonymous access is disabled' };
    }
    const user = this.#users.get(username);
    const matches = await verifyPassword(password?.toString('utf8') ?? '', user?.hash ?? DECOY_HASH);
    if (!user || !matches) return { ok: false, returnCode: 4, reason: 'bad username or password' };
    return { ok: true, username, rules: user.rules };
  }
}
