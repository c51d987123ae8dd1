import { describe, expect, it } from 'vitest';
import { type Migration, migrateConfig } from '../../gateway/config/migrate.js';

describe('config format migration', () => {
  it('leaves a current config alone', () => {
    expect(migrateConfig({ version: 1, gateway: { id: 'a' } })).toEqual({
      raw: { version: 1, gateway: { id: 'a' } },
      notes: [],
    });
  });

  it('flags a newer format instead of guessing', () => {
    expect(migrateConfig({ version: 7 }).tooNew).toBe(7);
  });

  it('runs the steps from the file version up to the current one, with notes', () => {
    const steps: Migration[] = [
      {
        from: 0,
        apply: (raw) => ({ raw: { ...raw, renamed: raw.old, old: undefined }, notes: ['"old" is now "renamed"'] }),
      },
    ];
    expect(migrateConfig({ version: 0, old: 5 }, steps)).toEqual({
      raw: { version: 1, renamed: 5, old: undefined },
      notes: ['config v0 -> v1: "old" is now "renamed"'],
    });
  });
});
