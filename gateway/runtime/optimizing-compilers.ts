// V8 compiles hot functions twice over: Sparkplug (baseline) and TurboFan (optimizing). The first time they run,
// ~4 MB more of node's own machine code is paged in and ~5 MB of compiler memory and optimized code stays
// behind (docs/benchmarks.md, Core). A gateway at rest gains nothing from them: start-up code runs once, and its
// timers (availability, metrics) run a few times a second, which still makes some function "hot" after minutes.
// So they stay off until the gateway has work to do, and then are turned on for good: when the event loop is
// busy for BUSY or more of a second five seconds running (an idle gateway, compilers off: 2-4 %; 1,000 LwM2M devices
// notifying every 10 s: 6-8 %), or for VERY_BUSY of one second (a burst of traffic), or when devices send
// MESSAGES_PER_SECOND or more five seconds running. The last is for steady light traffic that keeps the event loop
// below BUSY: a Zephyr board on a 115200-baud UART (~60 messages/s and 135 log lines/s) cost 5.4-5.6 % of a core
// with the compilers off, 4.2-4.9 % with them on in one pair of runs, within the noise of that in three more
// (docs/benchmarks.md, serial). What an idle gateway does
// now and then does not count: the first /metrics scrape (~40 ms while its code is cold), or V8's memory
// reducer, whose three collections ~9 s after start-up took 8-12 % of three seconds running.
// The flags are read whenever V8 decides to tier a function up, so setting them at run time takes effect.
import { performance } from 'node:perf_hooks';
import { setFlagsFromString } from 'node:v8';

const BUSY = 0.05;
const BUSY_WINDOWS = 5;
const VERY_BUSY = 0.2;
const WINDOW_MS = 1000;
const MESSAGES_PER_SECOND = 20;

let paused = false;
let watch: NodeJS.Timeout | undefined;

export function pauseOptimizingCompilers(): void {
  paused = true;
  setFlagsFromString('--no-opt');
  setFlagsFromString('--no-sparkplug');
}

function resumeOptimizingCompilers(): void {
  clearInterval(watch);
  watch = undefined;
  if (!paused) return;
  paused = false;
  setFlagsFromString('--opt');
  setFlagsFromString('--sparkplug');
}

/** Device messages received since start-up (a counter that only grows). */
export type MessagesReceived = () => number;

/**
 * Resumes them once the event loop is busy for `busy` (0-1) of `windowMs`, or `messagesReceived` grows by
 * `messagesPerSecond` or more, in `windows` windows running; or once it is busy for `veryBusy` of one window.
 */
export function resumeOptimizingCompilersUnderLoad(
  messagesReceived: MessagesReceived = () => 0,
  { busy, windows, veryBusy, windowMs, messagesPerSecond } = {
    busy: BUSY,
    windows: BUSY_WINDOWS,
    veryBusy: VERY_BUSY,
    windowMs: WINDOW_MS,
    messagesPerSecond: MESSAGES_PER_SECOND,
  },
): void {
  if (!paused || watch) return;
  let last = performance.eventLoopUtilization();
  let lastMessages = messagesReceived();
  let streak = 0;
  watch = setInterval(() => {
    const now = performance.eventLoopUtilization();
    const { utilization } = performance.eventLoopUtilization(now, last);
    last = now;
    const messages = messagesReceived();
    const rate = ((messages - lastMessages) * 1000) / windowMs;
    lastMessages = messages;
    streak = utilization >= busy || rate >= messagesPerSecond ? streak + 1 : 0;
    if (streak >= windows || utilization >= veryBusy) resumeOptimizingCompilers();
  }, windowMs);
  watch.unref();
}

export function optimizingCompilersPaused(): boolean {
  return paused;
}
