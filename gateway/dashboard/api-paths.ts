// Dashboard API paths to device ids and MQTT topics. Names taken from a URL become topic levels, so they must not
// carry MQTT wildcards or NUL (forbidden in topic names, [MQTT-3.3.2-2]) nor, for a device id, extra levels.

const UNSAFE_REQUEST_NAME = /[+#\0]/;
const UNSAFE_DEVICE_ID = /[+#\0/]/;

export type PathResult<T> = { ok: true; value: T } | { ok: false; status: 400 | 404; error: string };

/** A percent-encoded path segment, decoded; undefined when the encoding is malformed. */
export function decodeSegment(segment: string): string | undefined {
  try {
    return decodeURIComponent(segment);
  } catch (err) {
    if (err instanceof URIError) return undefined;
    throw err;
  }
}

/** The device id of `/api/devices/<id>`. */
export function deviceIdOf(segment: string): PathResult<string> {
  const id = decodeSegment(segment);
  if (id === undefined) return bad('malformed percent-encoding in the device id');
  if (UNSAFE_DEVICE_ID.test(id)) return bad('a device id must not contain +, #, / or NUL');
  return { ok: true, value: id };
}

/** The topic a POST to `path` publishes to: `<base>/<id>/set` or `<base>/bridge/request/<name>`. */
export function writeTopic(base: string, path: string): PathResult<string> {
  if (path.startsWith('/api/request/')) {
    const name = path.slice('/api/request/'.length);
    if (name === '' || UNSAFE_REQUEST_NAME.test(name)) return bad('a request name must not contain +, # or NUL');
    return { ok: true, value: `${base}/bridge/request/${name}` };
  }
  const set = /^\/api\/devices\/([^/]+)\/set$/.exec(path);
  if (!set) return { ok: false, status: 404, error: 'not found' };
  const id = deviceIdOf(set[1] ?? '');
  if (!id.ok) return id;
  return { ok: true, value: `${base}/${id.value}/set` };
}

function bad(error: string): PathResult<never> {
  return { ok: false, status: 400, error };
}
