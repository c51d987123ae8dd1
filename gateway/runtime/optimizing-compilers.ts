// V8 compiles hot functions twice over: Sparkplug (baseline) and TurboFan (optimizing). During start-up the
// gateway runs a lot of code once (module bodies, the config schema, YAML parsing), and the compilers kick in
// anyway: that pages ~4 MB more of node's own machine code in and leaves ~5 MB of compiler memory and optimized
// code behind, all of it kept by an idle gateway (docs/benchmarks.md, Core). The flags are read whenever V8
// decides to tier a function up, so turning them off at run time takes effect; once the gateway has started
// they are turned back on, and the code that then runs hot under load is optimized as usual.
import { setFlagsFromString } from 'node:v8';

let paused = false;

export function pauseOptimizingCompilers(): void {
  paused = true;
  setFlagsFromString('--no-opt');
  setFlagsFromString('--no-sparkplug');
}

export function resumeOptimizingCompilers(): void {
  if (!paused) return;
  paused = false;
  setFlagsFromString('--opt');
  setFlagsFromString('--sparkplug');
}
