// @ts-check
// zephyr2mqtt dashboard: no framework; hash routes, one JSON API, server-sent events for live updates.

/** @typedef {{id: string, name?: string, transport: string, address?: string, availability: string, last_seen: string | null, info?: Record<string, unknown>}} DeviceEntry */

const view = /** @type {HTMLElement} */ (document.getElementById('view'));
/** @type {{devices: DeviceEntry[], states: Record<string, Record<string, unknown>>, availability: Record<string, string>, info: any, bridge_state: any, events: any[], unknown_devices: any[]}} */
let snapshot = {
  devices: [],
  states: {},
  availability: {},
  info: {},
  bridge_state: {},
  events: [],
  unknown_devices: [],
};
/** @type {EventSource | undefined} */
let events;

// A state's last_seen in any of api.last_seen's forms (epoch milliseconds are a number), as text.
/** @param {unknown} value */
function lastSeenText(value) {
  // A number out of Date's range (a client can publish {"last_seen": 1e300}) would throw and blank the page.
  if (typeof value === 'number') return Math.abs(value) <= 8.64e15 ? new Date(value).toISOString() : String(value);
  return typeof value === 'string' ? value : '–';
}

/** @param {string} tag @param {Record<string, string>} [attrs] @param {(Node | string)[]} [children] */
function h(tag, attrs = {}, children = []) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, v);
  for (const c of children) el.append(c);
  return el;
}

/** @param {string} path @param {unknown} [body] */
async function api(path, body) {
  const res = await fetch(
    path,
    body === undefined
      ? {}
      : {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify(body),
        },
  );
  if (res.status === 401) {
    showLogin();
    throw new Error('login required');
  }
  return res.json();
}

async function boot() {
  const session = await (await fetch('/api/session')).json();
  if (session.auth_required && !session.user) return showLogin();
  /** @type {HTMLButtonElement} */ (document.getElementById('logout')).hidden = !session.user;
  snapshot = await api('/api/state');
  connectEvents();
  render();
}

function connectEvents() {
  events?.close();
  events = new EventSource('/api/events');
  events.addEventListener('snapshot', (e) => {
    snapshot = JSON.parse(/** @type {MessageEvent} */ (e).data);
    render();
  });
  events.addEventListener('change', (e) => applyChange(JSON.parse(/** @type {MessageEvent} */ (e).data)));
}

/** @param {{kind: string, device?: string, data: any}} change */
function applyChange(change) {
  switch (change.kind) {
    case 'devices':
      snapshot.devices = change.data;
      break;
    case 'state':
      if (change.device) snapshot.states[change.device] = change.data;
      break;
    case 'availability':
      if (change.device) snapshot.availability[change.device] = change.data.state;
      break;
    case 'info':
      snapshot.info = change.data;
      break;
    case 'bridge_state':
      snapshot.bridge_state = change.data;
      break;
    case 'event':
      snapshot.events.push(change.data);
      if (change.data.type === 'device_seen_unknown') snapshot.unknown_devices.push(change.data.data);
      break;
  }
  render();
}

function showLogin() {
  events?.close();
  const tpl = /** @type {HTMLTemplateElement} */ (document.getElementById('login-template'));
  view.replaceChildren(tpl.content.cloneNode(true));
  const form = /** @type {HTMLFormElement} */ (document.getElementById('login'));
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    const data = Object.fromEntries(new FormData(form));
    const res = await fetch('/api/login', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(data),
    });
    if (res.ok) return boot();
    /** @type {HTMLElement} */ (document.getElementById('login-error')).textContent = (await res.json()).error;
  });
}

function render() {
  const route = location.hash.replace(/^#\//, '') || 'devices';
  const [page, ...rest] = route.split('/');
  for (const a of document.querySelectorAll('nav a')) a.classList.toggle('active', a.getAttribute('data-nav') === page);
  const bs = /** @type {HTMLElement} */ (document.getElementById('bridge-state'));
  // null: this user's ACL does not cover <base>/bridge/state.
  const state = snapshot.bridge_state === null ? 'unknown' : (snapshot.bridge_state?.state ?? 'offline');
  bs.textContent = `bridge ${state}`;
  bs.className = `pill ${state}`;
  if (page === 'device' && rest[0]) {
    const id = decodeURIComponent(rest.join('/'));
    return shownDevice === id ? refreshDeviceLive(id) : renderDevice(id);
  }
  shownDevice = undefined;
  if (page === 'join') return renderJoin();
  if (page === 'status') return renderStatus();
  if (page === 'logs') return renderLogs();
  renderDevices();
}

/** @param {Record<string, unknown>} state */
function values(state) {
  return h(
    'span',
    { class: 'values' },
    Object.entries(state)
      .filter(([k]) => k !== 'last_seen' && k !== 'linkquality')
      .map(([k, v]) => h('span', { 'data-property': k }, [`${k} `, h('b', {}, [fmt(v)])])),
  );
}

/** @param {unknown} v */
function fmt(v) {
  return typeof v === 'object' ? JSON.stringify(v) : String(v);
}

function renderDevices() {
  const rows = snapshot.devices.map((d) => {
    const state = snapshot.states[d.id] ?? {};
    const avail = snapshot.availability[d.id] ?? d.availability;
    return h('tr', { 'data-device': d.id }, [
      h('td', {}, [
        h('a', { href: `#/device/${encodeURIComponent(d.id)}` }, [d.name ?? d.id]),
        h('div', { class: 'muted' }, [d.id]),
      ]),
      h('td', {}, [d.transport]),
      h('td', {}, [d.address ?? '']),
      h('td', {}, [h('span', { class: `pill ${avail}` }, [avail])]),
      h('td', {}, [lastSeenText(state.last_seen ?? d.last_seen)]),
      h('td', {}, [state.linkquality === undefined ? '–' : String(state.linkquality)]),
      h('td', {}, [values(state)]),
    ]);
  });
  const head = h(
    'tr',
    {},
    ['Device', 'Transport', 'Address', 'Availability', 'Last seen', 'Link', 'Values'].map((t) => h('th', {}, [t])),
  );
  view.replaceChildren(
    h('section', { class: 'card' }, [
      h('h2', {}, [`Devices (${snapshot.devices.length})`]),
      snapshot.devices.length
        ? h('table', { id: 'devices' }, [head, ...rows])
        : h('p', { class: 'muted' }, ['No devices yet: turn on permit join to find some.']),
    ]),
  );
}

/** The device shown on the device page; live changes refresh only its values and charts, never its forms. */
/** @type {string | undefined} */
let shownDevice;
let liveRefresh = 0;

/** @param {string} id */
async function renderDevice(id) {
  shownDevice = id;
  const detail = await api(`/api/devices/${encodeURIComponent(id)}`);
  if (detail.error) return view.replaceChildren(h('section', { class: 'card' }, [detail.error]));
  const entry = /** @type {DeviceEntry | null} */ (detail.entry);
  const setBox = /** @type {HTMLTextAreaElement} */ (h('textarea', { id: 'set-payload' }, ['{}']));
  const setResult = h('p', { class: 'muted' });
  const nameInput = /** @type {HTMLInputElement} */ (h('input', { value: entry?.name ?? '' }));
  view.replaceChildren(
    h('section', { class: 'card', id: 'device-live' }),
    h('section', { class: 'grid', id: 'device-charts' }),
    h('section', { class: 'card' }, [
      h('h3', {}, ['Send a command (/set)']),
      setBox,
      button(
        'Send',
        async () => {
          try {
            await api(`/api/devices/${encodeURIComponent(id)}/set`, JSON.parse(setBox.value));
            setResult.textContent = 'sent';
          } catch (e) {
            setResult.textContent = String(e);
          }
        },
        'primary',
      ),
      setResult,
    ]),
    ...(detail.firmware_update ? [firmwareSection(id)] : []),
    h('section', { class: 'card' }, [
      h('h3', {}, ['Manage']),
      h('label', {}, ['Name ', nameInput]),
      button('Rename', () => request('device/rename', { id, name: nameInput.value })),
      button('Remove', () => confirm(`Remove ${id} from the config?`) && request('device/remove', { id })),
    ]),
    h('section', { class: 'card' }, [
      h('h3', {}, ['Discovered resources / services']),
      h('pre', { id: 'device-info' }, [JSON.stringify(entry?.info ?? {}, null, 2)]),
    ]),
    h('section', { class: 'card' }, [h('h3', {}, ['Raw topics']), h('pre', { id: 'device-topics' })]),
  );
  fillDeviceLive(id, detail);
}

/**
 * The Firmware section (device/ota_update): the update's progress from the device state, a firmware file from the
 * adapter's firmware directory, start and cancel, and the request's answer.
 * @param {string} id
 */
function firmwareSection(id) {
  const file = /** @type {HTMLSelectElement} */ (h('select', { id: 'firmware-file', 'aria-label': 'firmware file' }));
  const test = checkbox('firmware-test');
  const reset = checkbox('firmware-reset');
  const where = h('p', { class: 'muted', id: 'firmware-dir' });
  const answer = h('p', { id: 'firmware-answer' });
  const start = button(
    'Update',
    () => sendUpdate(id, { file: file.value, test: test.checked, reset: reset.checked }, answer),
    'primary',
  );
  start.id = 'firmware-start';
  const cancel = button('Cancel', () => sendUpdate(id, { cancel: true }, answer));
  cancel.id = 'firmware-cancel';
  void loadFirmwareFiles(id, file, where);
  return h('section', { class: 'card', id: 'firmware' }, [
    h('h3', {}, ['Firmware']),
    h('div', { id: 'firmware-status' }),
    h('label', {}, ['File ', file]),
    button('Refresh list', () => loadFirmwareFiles(id, file, where)),
    where,
    h('label', {}, [test, ' Test boot (MCUboot goes back to the old image unless the new one is confirmed)']),
    h('label', {}, [reset, ' Reset the device after the upload']),
    start,
    ' ',
    cancel,
    answer,
  ]);
}

/** @param {string} id */
function checkbox(id) {
  const box = /** @type {HTMLInputElement} */ (h('input', { type: 'checkbox', id }));
  box.checked = true;
  return box;
}

/** The device page's update state, last shown from the device state. */
/** @type {string | undefined} */
let shownUpdateState;
/** Devices whose ota_update upload request awaits its answer (it comes when the upload is done). */
/** @type {Set<string>} */
const uploadsSent = new Set();

/** Update only with a file, and not while an update runs; Cancel only while one does. */
function syncFirmwareButtons() {
  const start = /** @type {HTMLButtonElement | null} */ (document.getElementById('firmware-start'));
  const cancel = document.getElementById('firmware-cancel');
  const file = /** @type {HTMLSelectElement | null} */ (document.getElementById('firmware-file'));
  const busy = shownUpdateState === 'updating' || (shownDevice !== undefined && uploadsSent.has(shownDevice));
  if (start) start.disabled = busy || !file?.value;
  if (cancel) cancel.hidden = !busy;
}

/**
 * Fills the file choice: the device's own images (firmware/<id>/, highest version first, the one an update without
 * a file installs marked), then the adapter's firmware directory, newest first; and says where to copy files.
 * @param {string} id @param {HTMLSelectElement} select @param {HTMLElement} where
 */
async function loadFirmwareFiles(id, select, where) {
  /** @typedef {{name: string, size: number, mtime: string, version?: string, newest?: boolean}} FirmwareFile */
  /** @type {{dir?: string, files?: FirmwareFile[], missing?: boolean, error?: string,
   *   device_dir?: {dir: string, files: FirmwareFile[], missing?: boolean, error?: string}}} */
  const listing = await api(`/api/devices/${encodeURIComponent(id)}/firmware`);
  const own = listing.device_dir?.files ?? []; // highest version first, as the gateway orders them
  const files = [...(listing.files ?? [])].sort((a, b) => b.mtime.localeCompare(a.mtime));
  /** @param {FirmwareFile} f */
  const option = (f) => {
    const about = [f.version, `${Math.ceil(f.size / 1024)} KiB`, f.mtime.slice(0, 16)].filter(Boolean).join(', ');
    return h('option', { value: f.name }, [`${f.name} (${about})${f.newest ? ' · newest' : ''}`]);
  };
  select.replaceChildren(
    ...(own.length > 0 ? [h('optgroup', { label: `Device images (${id}/)` }, own.map(option))] : []),
    ...(files.length > 0 ? [h('optgroup', { label: 'Firmware directory' }, files.map(option))] : []),
  );
  select.disabled = own.length + files.length === 0;
  const problem = listing.error ?? listing.device_dir?.error;
  where.className = problem ? 'error' : 'muted';
  const ownDir = listing.device_dir?.dir ?? `${listing.dir}/${id}`;
  if (problem) where.textContent = problem;
  else if (own.length + files.length > 0) where.textContent = `Files in ${listing.dir} and ${ownDir}`;
  else {
    const missing = listing.missing ? ' (the directory does not exist yet)' : '';
    where.textContent =
      `No firmware files${missing}: copy MCUboot images (zephyr.signed.bin) to ${listing.dir}, or the device's ` +
      `releases to ${ownDir} (an update without a file installs the highest version there)`;
  }
  syncFirmwareButtons();
}

/**
 * Sends device/ota_update and shows its answer.
 * @param {string} id @param {Record<string, unknown>} options @param {HTMLElement} answer
 */
async function sendUpdate(id, options, answer) {
  answer.className = 'muted';
  answer.textContent = options.cancel ? 'Cancelling…' : `Sending ${options.file}; the answer comes when it is done…`;
  if (!options.cancel) uploadsSent.add(id);
  syncFirmwareButtons();
  try {
    const res = await api('/api/request/device/ota_update', { device: id, ...options });
    const failed = res.error !== undefined && res.status !== 'ok';
    answer.className = failed ? 'error' : '';
    answer.textContent = failed ? `Failed: ${res.error}` : updateAnswer(res);
  } catch (e) {
    answer.className = 'error';
    answer.textContent = String(e);
  } finally {
    if (!options.cancel) uploadsSent.delete(id);
    syncFirmwareButtons();
  }
}

/** @param {any} res a successful ota_update answer, or a blind send's */
function updateAnswer(res) {
  if (res.ok === true) return `Sent; response ${res.response}`;
  const d = res.data ?? {};
  if (d.cancelled) return `Cancelled the upload of ${d.file} at byte ${d.offset}`;
  if (d.already_running) return `The device already runs ${d.file} (${d.version}): nothing uploaded`;
  const tested = d.tested ? ', marked for a test boot' : '';
  const after = d.reset ? (d.reset_confirmed === false ? ', reset sent' : ', device reset') : '';
  return `Uploaded ${d.file} (${d.version}, ${d.bytes} bytes) in ${d.seconds} s${tested}${after}`;
}

/**
 * Shows the device state's `update` in the Firmware section, if the page has one.
 * @param {any} update
 */
function showUpdate(update) {
  const status = document.getElementById('firmware-status');
  if (!status) return;
  shownUpdateState = typeof update?.state === 'string' ? update.state : undefined;
  status.replaceChildren(...updateLines(update, shownUpdateState));
  syncFirmwareButtons();
}

/** @param {any} update @param {string | undefined} state */
function updateLines(update, state) {
  if (!state) return [h('p', { class: 'muted' }, ['No firmware update reported for this device.'])];
  const lines = [h('p', {}, ['State ', h('b', { 'data-update-state': state }, [state])])];
  if (state === 'updating' && typeof update.progress === 'number') {
    const bar = /** @type {HTMLProgressElement} */ (h('progress', { max: '100' }));
    bar.value = update.progress;
    const left =
      update.progress >= 100
        ? ': uploaded; marking for test and resetting as asked'
        : typeof update.remaining === 'number'
          ? `, about ${update.remaining} s left`
          : '';
    lines.push(h('p', {}, [bar, ` ${update.progress} %${left}`]));
  }
  if (update.installed_version || update.latest_version) {
    // During and after a failed upload: the version that ran before it and the one sent; else a check's (or the
    // start-up's) comparison with the newest image of the device's directory.
    const upload = state === 'updating' || state === 'failed';
    const versions = [
      `${upload ? 'running before' : 'installed'}: ${update.installed_version ?? '?'}`,
      `${upload ? 'uploaded' : 'latest'}: ${update.latest_version ?? '?'}`,
    ];
    lines.push(h('p', { class: 'muted' }, [versions.join(' · ')]));
  }
  if (state === 'failed') lines.push(h('p', { class: 'error' }, [String(update.error ?? 'failed')]));
  return lines;
}

/** At most one fetch of the device's history per second while changes stream in; the last change always lands. */
/** @type {ReturnType<typeof setTimeout> | undefined} */
let liveTimer;

/** @param {string} id */
function refreshDeviceLive(id) {
  if (liveTimer) return;
  liveTimer = setTimeout(
    () => {
      liveTimer = undefined;
      liveRefresh = Date.now();
      void api(`/api/devices/${encodeURIComponent(id)}`).then((detail) => {
        if (shownDevice === id) fillDeviceLive(id, detail);
      });
    },
    Math.max(0, liveRefresh + 1000 - Date.now()),
  );
}

/** @param {string} id @param {any} detail */
function fillDeviceLive(id, detail) {
  const entry = /** @type {DeviceEntry | null} */ (detail.entry);
  const where = [entry?.transport, entry?.address, `last seen ${lastSeenText(detail.state.last_seen)}`].filter(Boolean);
  document
    .getElementById('device-live')
    ?.replaceChildren(
      h('h2', {}, [entry?.name ?? id, ' ', h('span', { class: `pill ${detail.availability}` }, [detail.availability])]),
      h('p', { class: 'muted' }, [where.join(' · ')]),
      values(detail.state),
    );
  const charts = Object.entries(/** @type {Record<string, {t: number, v: number}[]>} */ (detail.history));
  document
    .getElementById('device-charts')
    ?.replaceChildren(
      ...(charts.length
        ? charts.map(([prop, points]) => h('div', { class: 'card' }, [h('h3', {}, [prop]), chart(points)]))
        : [h('p', { class: 'muted' }, ['No numeric history in the last hour.'])]),
    );
  showUpdate(detail.state.update);
  const info = document.getElementById('device-info');
  if (info) info.textContent = JSON.stringify(entry?.info ?? {}, null, 2);
  const topics = document.getElementById('device-topics');
  if (topics) {
    topics.textContent = Object.entries(detail.topics)
      .map(([t, p]) => `${t}  ${p}`)
      .join('\n');
  }
}

/** A line chart of the points, from the first point (at most an hour back) to now, with min/max/last. */
/** @param {{t: number, v: number}[]} points */
function chart(points) {
  const svg = document.createElementNS('http://www.w3.org/2000/svg', 'svg');
  svg.setAttribute('class', 'chart');
  svg.setAttribute('viewBox', '0 0 300 100');
  svg.setAttribute('preserveAspectRatio', 'none');
  const figure = h('figure', { class: 'chart' }, [svg]);
  if (points.length === 0) return figure;
  const now = Date.now();
  const first = points[0]?.t ?? now;
  const t0 = Math.max(now - 3600_000, Math.min(first, now - 60_000));
  const vs = points.map((p) => p.v);
  const min = Math.min(...vs);
  const max = Math.max(...vs);
  const span = max - min || 1;
  const line = document.createElementNS('http://www.w3.org/2000/svg', 'polyline');
  line.setAttribute(
    'points',
    points
      .map((p) => `${(((p.t - t0) / (now - t0)) * 300).toFixed(1)},${(95 - ((p.v - min) / span) * 90).toFixed(1)}`)
      .join(' '),
  );
  svg.append(line);
  const minutes = Math.round((now - t0) / 60_000);
  figure.append(
    h('figcaption', { class: 'muted' }, [
      `last ${vs.at(-1)} · min ${min} · max ${max} · ${points.length} points over ${minutes} min`,
    ]),
  );
  return figure;
}

/** @param {string} label @param {() => unknown} onClick @param {string} [cls] */
function button(label, onClick, cls = '') {
  const b = h('button', cls ? { class: cls } : {}, [label]);
  b.addEventListener('click', () => {
    void onClick();
  });
  return b;
}

/** @param {string} name @param {Record<string, unknown>} data */
async function request(name, data) {
  const res = await api(`/api/request/${name}`, data);
  // A user who may not read the response topic: the request was sent, its answer is not theirs to see.
  if (res.ok === true) alert(`${name} sent; response ${res.response}`);
  else if (res.status !== 'ok') alert(`${name} failed: ${res.error}`);
  return res;
}

function renderJoin() {
  const on = Boolean(snapshot.info?.permit_join);
  const unknown = snapshot.unknown_devices;
  view.replaceChildren(
    h('section', { class: 'card' }, [
      h('h2', {}, [`Permit join is ${on ? 'on' : 'off'}`]),
      h('p', { class: 'muted' }, [
        'While it is on, devices the gateway does not know are listed here and can be onboarded.',
      ]),
      button(on ? 'Stop' : 'Permit join (254 s)', () => request('permit_join', { value: !on }), 'primary'),
    ]),
    h('section', { class: 'card' }, [
      h('h2', {}, [`Unknown devices seen (${unknown.length})`]),
      unknown.length
        ? h('table', { id: 'unknown' }, unknown.map(onboardRow))
        : h('p', { class: 'muted' }, ['None yet.']),
    ]),
  );
}

/** @param {any} d */
function onboardRow(d) {
  const suggested = { ...(d.suggested_config ?? { transport: d.transport, address: d.address }) };
  const idInput = /** @type {HTMLInputElement} */ (
    h('input', { value: suggested.id ?? slug(d.name ?? d.address), 'aria-label': 'device id' })
  );
  return h('tr', { 'data-unknown': d.address }, [
    h('td', {}, [d.name ?? '(no name)', h('div', { class: 'muted' }, [`${d.transport} · ${d.address}`])]),
    h('td', {}, [idInput]),
    h('td', {}, [
      button(
        'Onboard',
        async () => {
          const res = await request('device/add', {
            ...suggested,
            id: idInput.value,
            ...(d.name ? { name: d.name } : {}),
          });
          if (res.status === 'ok') {
            snapshot.unknown_devices = snapshot.unknown_devices.filter((u) => u !== d);
            location.hash = '#/devices';
          }
        },
        'primary',
      ),
    ]),
  ]);
}

/** @param {string} s */
function slug(s) {
  return (
    String(s)
      .toLowerCase()
      .replace(/[^a-z0-9_-]+/g, '-')
      .replace(/^-+|-+$/g, '')
      .slice(0, 60) || 'device'
  );
}

function renderStatus() {
  const info = snapshot.info ?? {};
  view.replaceChildren(
    h('section', { class: 'card' }, [
      h('h2', {}, ['Adapters']),
      h('pre', { id: 'adapters' }, [JSON.stringify(info.adapters ?? {}, null, 2)]),
    ]),
    h('section', { class: 'card' }, [
      h('h2', {}, ['Upstream bridge']),
      h('pre', { id: 'upstream' }, [JSON.stringify(info.upstream ?? { enabled: false }, null, 2)]),
    ]),
    h('section', { class: 'card' }, [
      h('h2', {}, ['Gateway']),
      h('pre', {}, [
        JSON.stringify({ version: info.version, id: info.gateway_id, listeners: info.listeners }, null, 2),
      ]),
    ]),
    h('section', { class: 'card' }, [
      h('h2', {}, ['Recent events']),
      h('pre', {}, [
        snapshot.events
          .slice(-30)
          .map((e) => JSON.stringify(e))
          .join('\n'),
      ]),
    ]),
  );
}

async function renderLogs() {
  const { lines, error } = await api('/api/logs');
  const text = lines ? lines.slice(-200).join('\n') : error;
  view.replaceChildren(h('section', { class: 'card' }, [h('h2', {}, ['Logs']), h('pre', { id: 'logs' }, [text])]));
}

document.getElementById('logout')?.addEventListener('click', async () => {
  await api('/api/logout', {});
  location.reload();
});
window.addEventListener('hashchange', render);
void boot();
