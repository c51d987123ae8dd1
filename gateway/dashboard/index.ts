// Builds the dashboard for a gateway: its logins, what each user sees and may write are the broker's users and ACLs.
import { type AclRule, ClientAcl } from '../broker/acl.js';
import { DECOY_HASH } from '../broker/auth.js';
import { verifyPassword } from '../broker/password.js';
import type { EmbeddedBroker } from '../broker/types.js';
import type { BrokerConfig } from '../config/schema.js';
import type { Logger } from '../logger.js';
import { Dashboard, type DashboardAuth, type FirmwareSource } from './server.js';

export function dashboardAuth(broker: BrokerConfig): DashboardAuth {
  const users = new Map(broker.users.map((u) => [u.username, u]));
  const acls = new Map<string | undefined, ClientAcl | undefined>();
  /** The rules of a user (anonymous: anonymous_acl), bound once like a broker connection's; none for strangers. */
  const aclOf = (username: string | undefined): ClientAcl | undefined => {
    if (!acls.has(username)) {
      const rules: readonly AclRule[] | undefined =
        username === undefined ? broker.anonymous_acl : users.get(username)?.acl;
      acls.set(username, rules && new ClientAcl(rules, username, `dashboard-${username ?? 'anonymous'}`));
    }
    return acls.get(username);
  };
  return {
    required: !broker.allow_anonymous,
    async verify(username, password) {
      const user = users.get(username);
      // An unknown user costs one scrypt run too, so the response time does not tell which usernames exist.
      const matches = await verifyPassword(password, user?.password_hash ?? DECOY_HASH);
      return user !== undefined && matches;
    },
    canPublish: (username, topic) => aclOf(username)?.canPublish(topic) ?? false,
    canRead(username, topic) {
      const acl = aclOf(username);
      if (!acl) return false;
      return /[+#]/.test(topic) ? acl.canSubscribe(topic) : acl.canReceive(topic);
    },
  };
}

export function createDashboard(deps: {
  broker: EmbeddedBroker;
  brokerConfig: BrokerConfig;
  baseTopic: string;
  logger: Logger;
  firmware: FirmwareSource;
  trustedProxies: readonly string[];
}): Dashboard {
  const dashboard = new Dashboard({
    broker: deps.broker,
    baseTopic: deps.baseTopic,
    logger: deps.logger,
    auth: dashboardAuth(deps.brokerConfig),
    firmware: deps.firmware,
    trustedProxies: deps.trustedProxies,
  });
  dashboard.start();
  return dashboard;
}
