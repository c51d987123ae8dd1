// The UDP img_mgmt device as a process of its own, for tests that put it in another network namespace:
// `smp-udp-device-main.ts <bind address> <port>` prints "ready <port>" once bound and runs until SIGTERM.
import { ImgMgmtDevice } from '../../adapters/serial/img-mgmt-sim.js';
import { ImgMgmtUdpDevice } from './smp-udp-device.js';

const [address = '::', port = '1337'] = process.argv.slice(2);
const device = await ImgMgmtUdpDevice.start(new ImgMgmtDevice(), address, Number(port));
process.stdout.write(`ready ${device.port}\n`);
process.once('SIGTERM', () => {
  void device.close().then(() => process.exit(0));
});
