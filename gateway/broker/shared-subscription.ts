// Shared subscriptions (`$share/<group>/<filter>`, MQTT 5; Mosquitto offers them to 3.1.1 clients too) do not
// exist in aedes: it would take the filter literally, grant it and deliver nothing. They are refused instead.
export const SHARED_SUBSCRIPTION_REFUSED =
  'shared subscriptions ($share/...) are not supported by the embedded broker: subscribe to the topic itself, ' +
  'or connect the app to a broker that has them (Mosquitto) and forward the topics there with the upstream bridge';

export function isSharedSubscription(filter: string): boolean {
  return filter.startsWith('$share/');
}
