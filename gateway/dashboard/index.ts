// Builds the dashboard for a gateway: its login and write permissions are the broker's users and ACLs.
import { ClientAcl } from '../broker/acl.js';
import { verifyPassword } from '../broker/password.js';
import type { EmbeddedBroker } from '../broker/types.js';
import type { BrokerConfig } from '../config/schema.js';
import type { Logger } from '../logger.js';
import { Dashboard, type DashboardAuth } from './server.js';

export function dashboardAuth(broker: BrokerConfig): DashboardAuth {
  const users = new Map(broker.users.map((u) => [u.username, u]));
  return {
    required: !broker.allow_anonymous,
    async verify(username, password) {
      const user = users.get(username);
      return user ? verifyPassword(password, user.password_hash) : false;
    },
    canPublish(username, topic) {
      const rules = username === undefined ? broker.anonymous_acl : users.get(username)?.acl;
      return rules ? new ClientAcl(rules, username, `dashboard-${username ?? 'anonymous'}`).canPublish(topic) : false;
    },
  };
}

export function createDashboard(deps: {
  broker: EmbeddedBroker;
  brokerConfig: BrokerConfig;
  baseTopic: string;
  logger: Logger;
}): Dashboard {
  const dashboard = new Dashboard({
    broker: deps.broker,
    baseTopic: deps.baseTopic,
    logger: deps.logger,
    auth: dashboardAuth(deps.brokerConfig),
  });
  dashboard.start();
  return dashboard;
}
