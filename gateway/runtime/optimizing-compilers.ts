// V8 compiles hot functions twice over: Sparkplug (baseline) and TurboFan (optimizing). The first time they run,
// ~4 MB more of node's own machine code is paged in and ~5 MB of compiler memory and optimized code stays
// behind (docs/benchmarks.md, Core). A gateway at rest gains nothing from them: start-up code runs once, and its
// timers (availability, metrics) run a few times a second, which still makes some function "hot" after minutes.
// So they stay off until the gateway has work to do, and then are turned on for good: when the event loop is
// busy for BUSY or more of a second five seconds running (an idle gateway, compilers off: 2-4 %; 1,000 LwM2M devices
// notifying every 10 s: 6-8 %), or for VERY_BUSY of one second (a burst of traffic). What an idle gateway does
// now and then does not count: the first /metrics scrape (~40 ms while its code is cold), or V8's memory
// reducer, whose three collections ~9 s after start-up took 8-12 % of three seconds running.
// The flags are read whenever V8 decides to tier a function up, so setting them at run time takes effect.
import { performance } from 'node:perf_hooks';
import { setFlagsFromString } from 'node:v8';

const BUSY = 0.05;
const BUSY_WINDOWS = 5;
const VERY_BUSY = 0.2;
const WINDOW_MS = 1000;

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

/**
 * Resumes them once the event loop is busy for `busy` (0-1) of `windowMs` in `windows` windows running, or for
 * `veryBusy` of one window.
 */
export function resumeOptimizingCompilersUnderLoad(
  { busy, windows, veryBusy, windowMs } = {
    busy: BUSY,
    windows: BUSY_WINDOWS,
    veryBusy: VERY_BUSY,
    windowMs: WINDOW_MS,
  },
): void {
  if (!paused || watch) return;
  let last = performance.eventLoopUtilization();
  let streak = 0;
  watch = setInterval(() => {
    const now = performance.eventLoopUtilization();
    const { utilization } = performance.eventLoopUtilization(now, last);
    last = now;
    streak = utilization >= busy ? streak + 1 : 0;
    if (streak >= windows || utilization >= veryBusy) resumeOptimizingCompilers();
  }, windowMs);
  watch.unref();
}

export function optimizingCompilersPaused(): boolean {
  return paused;
}
