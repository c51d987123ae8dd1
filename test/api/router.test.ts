// The request router's envelope: an error's extra data reaches the response, unknown names get a hint.
import { describe, expect, it } from 'vitest';
import { RequestRouter } from '../../gateway/api/router.js';

describe('RequestRouter', () => {
  it("puts an error's data (e.g. an SMP rc and group) in the error response", async () => {
    const router = new RequestRouter<null>().register('smp', () => {
      throw Object.assign(new Error('rc 3 (no image)'), { data: { rc: 3, group: 1, group_specific: true } });
    });
    expect(await router.dispatch(null, 'smp', Buffer.from('{"transaction":7}'))).toEqual({
      status: 'error',
      data: { rc: 3, group: 1, group_specific: true },
      error: 'rc 3 (no image)',
      transaction: 7,
    });
    const plain = new RequestRouter<null>().register('x', () => {
      throw new Error('boom');
    });
    expect(await plain.dispatch(null, 'x', Buffer.from(''))).toEqual({ status: 'error', data: {}, error: 'boom' });
  });

  it('names the closest known request for a misspelt one', async () => {
    const router = new RequestRouter<null>().register('health_check', () => ({}));
    expect(await router.dispatch(null, 'health_chek', Buffer.from('{}'))).toMatchObject({
      error: 'unknown request "health_chek" (did you mean "health_check"?)',
    });
  });
});
