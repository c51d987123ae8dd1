// The module `adapters.ble.binding` points at in tests, demos and benchmarks. Its default export is a factory,
// so each adapter start gets a fresh binding attached to the one shared simulated world.
import { SimWorld } from './sim-world.js';

export const world = new SimWorld();

export default function createSimBinding() {
  return world.createBinding();
}
