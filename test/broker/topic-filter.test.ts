import { describe, expect, it } from 'vitest';
import { filterCovers, filterMatchesTopic, isValidFilter } from '../../gateway/broker/topic-filter.js';

describe('filterMatchesTopic', () => {
  it.each([
    ['a/b', 'a/b', true],
    ['a/+', 'a/b', true],
    ['a/+', 'a/b/c', false],
    ['a/#', 'a', true],
    ['a/#', 'a/b/c', true],
    ['#', 'a/b', true],
    ['+/+', '/x', true],
    ['+', '', true],
    ['a/b', 'a/c', false],
    ['a/b/c', 'a/b', false],
    ['#', '$SYS/x', false],
    ['+/x', '$foo/x', false],
    ['$SYS/#', '$SYS/broker/x', true],
  ])('%s vs %s -> %s', (filter, topic, expected) => {
    expect(filterMatchesTopic(filter, topic)).toBe(expected);
  });
});

describe('filterCovers', () => {
  it.each([
    ['#', 'a/#', true],
    ['#', '#', true],
    ['a/#', 'a/+/c', true],
    ['a/#', 'a', true],
    ['a/+', 'a/b', true],
    ['a/+', 'a/+', true],
    ['a/+', 'a/#', false],
    ['a/b', 'a/+', false],
    ['a/b', 'a/#', false],
    ['a/+', 'a/b/c', false],
    ['a/b/c', 'a/b', false],
    ['+/b', 'x/b', true],
    ['#', '$SYS/#', false],
    ['$SYS/#', '$SYS/broker/+', true],
  ])('%s covers %s -> %s', (outer, inner, expected) => {
    expect(filterCovers(outer, inner)).toBe(expected);
  });
});

describe('isValidFilter', () => {
  it.each([
    ['a/#', true],
    ['#', true],
    ['+/a/+', true],
    ['a/#/b', false],
    ['a#', false],
    ['a+/b', false],
    ['', false],
  ])('%s -> %s', (filter, expected) => {
    expect(isValidFilter(filter)).toBe(expected);
  });
});
