// Errors that stop the broker from starting; their messages are shown to the user as they are.
export class BrokerStartError extends Error {
  override name = 'BrokerStartError';
}
