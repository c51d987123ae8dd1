// prom-client's registry and metric types, loaded from their own files. Its index also loads what the gateway never
// uses: the Pushgateway client (node's http and https, TLS with them), the cluster aggregator, Summary with its
// t-digest, and its default metrics, whose process CPU counters load @opentelemetry/api (51 modules) for exemplars.
// Those cost an idle gateway 1.1 MB of heap (docs/benchmarks.md, twenty-first session); the default metrics the
// gateway exports are registered by process-metrics.ts. Import prom-client's values from here, its types from
// anywhere (test/gateway/prometheus.test.ts checks both).
import { createRequire } from 'node:module';
import type * as PromClient from 'prom-client';

const require = createRequire(import.meta.url);

export const Registry = require('prom-client/lib/registry') as typeof PromClient.Registry;
export const Counter = require('prom-client/lib/counter') as typeof PromClient.Counter;
export const Gauge = require('prom-client/lib/gauge') as typeof PromClient.Gauge;

export type Registry = PromClient.Registry;
export type Counter<T extends string = string> = PromClient.Counter<T>;
export type Gauge<T extends string = string> = PromClient.Gauge<T>;

/** One of prom-client's default metrics: registers its metric(s) on `registry`, named with `prefix`. */
type DefaultMetric = (registry: Registry, config: { prefix: string }) => void;

export function defaultMetric(file: string): DefaultMetric {
  return require(`prom-client/lib/metrics/${file}`) as DefaultMetric;
}
