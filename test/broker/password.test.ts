import { describe, expect, it } from 'vitest';
import { hashPassword, parsePasswordHash, verifyPassword } from '../../gateway/broker/password.js';

describe('password hashes', () => {
  it('round-trips and rejects the wrong password', async () => {
    const hash = await hashPassword('s3cret', { N: 1024 });
    expect(hash).toMatch(/^scrypt\$1024\$8\$1\$[A-Za-z0-9+/=]+\$[A-Za-z0-9+/=]+$/);
    expect(await verifyPassword('s3cret', hash)).toBe(true);
    expect(await verifyPassword('s3cret ', hash)).toBe(false);
    expect(await verifyPassword('', hash)).toBe(false);
  });

  it('salts every hash', async () => {
    const a = await hashPassword('same', { N: 1024 });
    const b = await hashPassword('same', { N: 1024 });
    expect(a).not.toBe(b);
  });

  it('uses the default cost when none is given', async () => {
    const hash = await hashPassword('pw');
    expect(parsePasswordHash(hash)).toMatchObject({ N: 16384, r: 8, p: 1 });
    expect(await verifyPassword('pw', hash)).toBe(true);
  });

  it.each([
    ['plain', 'expected scrypt$N$r$p$salt$hash'],
    ['scrypt$1000$8$1$AAAA$AAAAAAAAAAAAAAAAAAAAAA==', 'power of two'],
    ['scrypt$1024$0$1$AAAA$AAAAAAAAAAAAAAAAAAAAAA==', 'r and p'],
    ['scrypt$1024$8$1$!!$AAAAAAAAAAAAAAAAAAAAAA==', 'base64'],
    ['scrypt$1024$8$1$AAAA$AAAA', 'shorter than 16'],
    [`scrypt$${2 ** 24}$8$1$AAAA$AAAAAAAAAAAAAAAAAAAAAA==`, 'power of two'],
  ])('rejects malformed hash %s', async (text, message) => {
    expect(() => parsePasswordHash(text)).toThrow(message);
    expect(await verifyPassword('x', text)).toBe(false);
  });
});
