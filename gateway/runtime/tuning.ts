// How `zephyr2mqtt run` tunes V8 for a small gateway (docs/troubleshooting.md, Memory): the young generation
// held at its initial size, the old generation collected before much garbage piles up, no optimizing compilers
// until the gateway has work to do, and start-up's garbage compacted away once it has started.
// `ZEPHYR2MQTT_HEAP_TUNING=off` runs with V8's defaults; an operator's own heap flags win over ours.
import { limitOldGenerationGrowth } from './old-generation.js';
import {
  type MessagesReceived,
  pauseOptimizingCompilers,
  resumeOptimizingCompilersUnderLoad,
} from './optimizing-compilers.js';
import { compactAfterStartUp } from './start-up-garbage.js';
import { holdYoungGeneration } from './young-generation.js';

export const HEAP_TUNING_ENV = 'ZEPHYR2MQTT_HEAP_TUNING';

/** Flags by which the operator sizes the young generation himself. */
const YOUNG_GENERATION_FLAGS = /--(?:max|min)[-_]semi[-_]space[-_]size|--semi[-_]space[-_]growth[-_]factor/;
/** Flags by which the operator sizes the old generation's growth himself. */
const OLD_GENERATION_FLAGS = /--heap[-_]growing[-_]percent/;
/** Flags by which the operator chooses how V8 compacts the heap himself. */
const COMPACTION_FLAGS = /--(?:no[-_])?compact/;
/** Flags by which the operator chooses V8's compilers himself. */
const COMPILER_FLAGS = /--(?:no[-_])?(?:opt|turbofan|sparkplug|maglev)\b|--jitless|--max[-_]opt/;

export interface RuntimeTuning {
  /** Call once the gateway has started, with its count of device messages received. */
  started(messagesReceived?: MessagesReceived): void;
}

/** Call before the gateway's modules load. */
export function tuneRuntime(
  env: NodeJS.ProcessEnv = process.env,
  execArgv: readonly string[] = process.execArgv,
): RuntimeTuning {
  if (env[HEAP_TUNING_ENV] === 'off') return { started() {} };
  const flags = [...execArgv, env.NODE_OPTIONS ?? ''];
  const operatorSets = (pattern: RegExp) => flags.some((f) => pattern.test(f));
  if (!operatorSets(YOUNG_GENERATION_FLAGS)) holdYoungGeneration();
  if (!operatorSets(OLD_GENERATION_FLAGS)) limitOldGenerationGrowth();
  const compilers = !operatorSets(COMPILER_FLAGS);
  if (compilers) pauseOptimizingCompilers();
  const compaction = !operatorSets(COMPACTION_FLAGS);
  return {
    started(messagesReceived) {
      if (compaction) compactAfterStartUp();
      if (compilers) resumeOptimizingCompilersUnderLoad(messagesReceived);
    },
  };
}
