import { afterEach, describe, expect, it, vi } from 'vitest';
import { type DashboardChange, DashboardModel, MAX_STATE_TEXT } from '../../gateway/dashboard/model.js';

const msg = (topic: string, payload: string) => ({
  topic,
  payload: Buffer.from(payload),
  qos: 0 as const,
  retain: false,
});

describe('dashboard model', () => {
  afterEach(() => vi.restoreAllMocks());

  it('keeps /log lines as raw text without parsing them', () => {
    const model = new DashboardModel('z2m');
    const changes: DashboardChange[] = [];
    model.on('change', (c) => changes.push(c));
    const parse = vi.spyOn(JSON, 'parse');
    model.ingest(msg('z2m/dev1/log', '[00:00:01.000] <inf> main: hello'));
    model.ingest(msg('z2m/dev1/log', '{"looks":"like json"}'));
    expect(parse).not.toHaveBeenCalled();
    expect(changes).toEqual([]);
    expect(model.device('dev1').topics).toEqual({ 'dev1/log': '{"looks":"like json"}' });
  });

  it('does not read the bridge topics it does not keep (responses, a backup of up to 85 MB among them; logging)', () => {
    const model = new DashboardModel('z2m');
    const decode = vi.spyOn(Buffer.prototype, 'toString');
    const parse = vi.spyOn(JSON, 'parse');
    model.ingest(msg('z2m/bridge/response/backup', `{"status":"ok","data":{"zip":"${'QUJD'.repeat(1000)}"}}`));
    model.ingest(msg('z2m/bridge/logging', '{"level":"info","message":"config reloaded"}'));
    expect(parse).not.toHaveBeenCalled();
    expect(decode).not.toHaveBeenCalled();
    decode.mockRestore();
    model.ingest(msg('z2m/bridge/info', '{"version":"1"}'));
    expect(parse).toHaveBeenCalledTimes(1);
    expect(model.info).toEqual({ version: '1' });
  });

  it('still parses state, availability and bridge payloads', () => {
    const model = new DashboardModel('z2m');
    const changes: DashboardChange[] = [];
    model.on('change', (c) => changes.push(c));
    model.ingest(msg('z2m/dev1', '{"temperature":21.5}'));
    model.ingest(msg('z2m/dev1', 'not json'));
    model.ingest(msg('z2m/dev1/availability', '{"state":"online"}'));
    model.ingest(msg('z2m/bridge/state', '{"state":"online"}'));
    // Only `<base>/<id>/availability` is availability; deeper topics ending so are raw subtopics.
    model.ingest(msg('z2m/dev1/x/availability', '{"state":"offline"}'));
    expect(changes.map((c) => c.kind)).toEqual(['state', 'availability', 'bridge_state']);
    expect(model.device('dev1').topics).toMatchObject({ 'dev1/x/availability': '{"state":"offline"}' });
    expect(model.states.get('dev1')).toEqual({ temperature: 21.5 });
    expect(model.availability.get('dev1')).toBe('online');
    expect(model.bridgeState).toEqual({ state: 'online' });
  });

  it('keeps at most 2000 devices, forgetting the one that published longest ago: any client may publish below the base topic', () => {
    const model = new DashboardModel('z2m');
    for (let i = 0; i < 2400; i++) {
      model.ingest(msg(`z2m/d${i}`, `{"v":${i}}`));
      model.ingest(msg(`z2m/d${i}/availability`, '{"state":"online"}'));
      // A device that keeps reporting through the flood stays, although it came first.
      if (i % 400 === 0 && i < 2000) model.ingest(msg('z2m/d0', `{"v":${i}}`));
    }
    expect(model.states.get('d0')).toEqual({ v: 1600 });
    expect(model.states.size).toBe(2000);
    expect(model.availability.size).toBe(2000);
    expect(model.rawTopics.size).toBe(2000);
    expect(model.states.has('d399')).toBe(false);
    expect(model.states.get('d2399')).toEqual({ v: 2399 });
    expect(model.history.of('d399')).toEqual({});
  });

  it('keeps a state over 16 KiB as a note of its size, and raw payloads cut short', () => {
    const model = new DashboardModel('z2m');
    const big = JSON.stringify({ blob: 'x'.repeat(MAX_STATE_TEXT) });
    model.ingest(msg('z2m/junk', big));
    expect(model.states.get('junk')).toEqual({ _too_large: `${big.length} characters, not kept` });
    expect(JSON.stringify(model.snapshot()).length).toBeLessThan(2000);
    expect(model.rawTopics.get('junk')?.get('junk')?.length).toBe(501);
  });
});
