// The LwM2M server on the CoAP adapter's transport (see docs/adapters/lwm2m.md).
export {
  type Lwm2mDeviceConfig,
  type Lwm2mServerConfig,
  lwm2mDeviceSchema,
  lwm2mServerConfigSchema,
} from './config.js';
export { createLwm2mServer, type Lwm2mServer, type Lwm2mServerOptions } from './server.js';
