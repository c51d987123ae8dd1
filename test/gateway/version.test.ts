// Release candidates share a version number: an image adds the commit it was built from.
import { describe, expect, it } from 'vitest';
import { versionWithRevision } from '../../gateway/version.js';

describe('version', () => {
  it('adds the build revision as semver build metadata when the image says which commit it is', () => {
    expect(versionWithRevision('0.1.0', '77106e6d1c2f3a4b5c6d7e8f9a0b1c2d3e4f5a6b')).toBe('0.1.0+77106e6');
    expect(versionWithRevision('0.1.0', undefined)).toBe('0.1.0');
    expect(versionWithRevision('0.1.0', 'unknown')).toBe('0.1.0');
    expect(versionWithRevision('0.1.0', '')).toBe('0.1.0');
  });
});
