// The compiled gateway CLI (`zephyr2mqtt run --config <file>`) in a process bench/lwm2m.ts can probe over IPC.
//   node --expose-gc <build>/bench/_lwm2m-gateway.js run --config <file>
import { installProbe } from './_lwm2m-probe.js';

installProbe();
process.argv.splice(1, 1, new URL('../gateway/cli.js', import.meta.url).pathname);
await import('../gateway/cli.js');
