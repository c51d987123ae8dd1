// Advertised names of the Zephyr Bluetooth samples (protocols.md §1.2, §1.4), to tell an operator what an unknown
// advertiser probably is. A hint only: names are Kconfig defaults that products change.
const SAMPLES: Record<string, string> = {
  'Zephyr Heartrate Sensor': 'peripheral_hr',
  'ESP peripheral': 'peripheral_esp',
  'Zephyr Health Thermometer': 'peripheral_ht',
  'BTHome template': 'bthome_sensor_template',
  'Test IPSP node': 'ipsp',
  Zephyr: 'zephyr_default_name',
};

export function zephyrSample(name: string | undefined): string | undefined {
  return name === undefined ? undefined : SAMPLES[name];
}
