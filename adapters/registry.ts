// The transports the gateway knows. The core reaches adapters only through this list.
import { bleAdapterModule } from './ble/index.js';
import { coapAdapterModule } from './coap/index.js';
import { serialAdapterModule } from './serial/index.js';

export const adapterModules = [coapAdapterModule, serialAdapterModule, bleAdapterModule] as const;

export type AdapterKind = (typeof adapterModules)[number]['kind'];
