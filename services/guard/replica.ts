/**
 * The blocklist as another process (the API) holds it: its own replica of the compacted topic, manual blocks and
 * unblocks written to it, audit rows to ClickHouse. Wire: `const r = blocklistReplica(...)`, add `r.components` to
 * the supervisor, register `blocklistRoutes` with `{ blocklist: r.blocklist }`.
 */
import type { Kafka } from 'kafkajs';
import type { Logger } from 'pino';
import type { SqlStore } from '../shared/clickhouse/client.ts';
import type { Component } from '../shared/lifecycle.ts';
import { Blocklist } from './blocklist.ts';
import { BlocklistLog } from './blocklist-log.ts';
import { auditRow, BlocklistService } from './blocklist-service.ts';
import { Allowlist } from './detect/allowlist.ts';
import { blockPolicy, blocklistTopic, type GuardConfig } from './service.ts';
import { TableWriter } from './table-writer.ts';

export function blocklistReplica(c: GuardConfig, deps: { kafka: Kafka; store: SqlStore; log: Logger }): { blocklist: BlocklistService; components: Component[] } {
  const state = new Blocklist(blockPolicy(c), Allowlist.parse(c.guardAllowlist));
  const history = new TableWriter(deps.store, deps.log.child({ component: 'blocklist-audit' }));
  const log = new BlocklistLog({ kafka: deps.kafka, topic: blocklistTopic(c.kafkaTopicPrefix), blocklist: state, log: deps.log.child({ component: 'blocklist' }), groupPrefix: `${c.guardGroupId}-api-${c.nodeName}` });
  const blocklist = new BlocklistService(state, log, (row) => history.add('blocklist_audit', auditRow(row, c.nodeName)));
  return { blocklist, components: [history, log] };
}
