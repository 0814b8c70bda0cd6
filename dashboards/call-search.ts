/**
 * Call search: calls filtered by number, Call-ID, IP and state, each row linking to the API's ladder diagram and call
 * page; the captured SIP messages of a Call-ID beneath. Free-text boxes reach SQL only as decoded string literals.
 */
import * as dashboard from '@grafana/grafana-foundation-sdk/dashboard';
import {
  apiUrlVariable, baseDashboard, CALL_NODE, callLink, DOMAIN, domainVariable, finish, ladderLink, NODE, nodeVariable, sqlTable,
  tablePanel, TENANT, tenantVariable, textBox, textFilterVariable,
} from './lib/common.ts';

export const UID = 'tollgate-call-search';

export const CALL_STATES = ['answered', 'timeout_without_bye', 'busy', 'cancelled', 'no_answer', 'rejected', 'auth_failed',
  'redirected', 'failed', 'no_final_response'] as const;

const stateVariable = () => new dashboard.CustomVariableBuilder('state')
  .label('State')
  .values(CALL_STATES.join(','))
  .multi(true)
  .includeAll(true)
  .allowCustomValue(false)
  .current({ selected: true, text: ['All'], value: ['$__all'] })
  .options(CALL_STATES.map((s) => ({ selected: false, text: s, value: s })));

const FILTERS = `WITH ${textBox('number')} AS q_number, ${textBox('call_id')} AS q_call_id, ${textBox('ip')} AS q_ip`;

export function build() {
  return finish(baseDashboard(UID, 'tollgate / Call search',
    'Find calls by number, Call-ID, IP or state and open their SIP ladder.', ['calls', 'search'])
    .time({ from: 'now-24h', to: 'now' })
    .refresh('')
    .withVariable(tenantVariable())
    .withVariable(nodeVariable())
    .withVariable(domainVariable())
    .withVariable(textFilterVariable('number', 'Number', 'Caller, callee or Request-URI user starting with this (e.g. +4930 or alice)'))
    .withVariable(textFilterVariable('call_id', 'Call-ID', 'Exact Call-ID of a leg or of its correlated leg'))
    .withVariable(textFilterVariable('ip', 'IP', 'Exact source or destination address'))
    .withVariable(stateVariable())
    .withVariable(apiUrlVariable())
    .withPanel(tablePanel('Calls', 'Newest first, 500 at most; the Call-ID opens the SIP ladder, the state opens the call in the API.',
      sqlTable(`${FILTERS}
SELECT setup_ts AS time, call_id, from_user AS caller, ruri_user AS callee, src_ip, dst_ip, state, final_status,
  pdd_ms, duration_ms / 1000 AS duration_s, arrayStringConcat(nodes, ',') AS capture_nodes, tenant, domain
FROM calls
WHERE $__timeFilter(setup_ts) AND ${TENANT} AND ${CALL_NODE} AND ${DOMAIN}
  AND (q_number = '' OR startsWith(from_user, q_number) OR startsWith(to_user, q_number) OR startsWith(ruri_user, q_number))
  AND (q_call_id = '' OR call_id = q_call_id OR linked_call_id = q_call_id)
  AND (q_ip = '' OR src_ip = q_ip OR dst_ip = q_ip)
  AND $__conditionalAll(state IN (\${state:sqlstring}), $state)
ORDER BY setup_ts DESC, call_id
LIMIT 500`), { w: 24, h: 14 }, [{ field: 'call_id', links: [ladderLink(), callLink()] }, { field: 'state', links: [callLink()] }]))
    .withPanel(tablePanel('SIP messages of the Call-ID', 'Every captured message of the Call-ID in the Call-ID box, in capture order.',
      sqlTable(`${FILTERS}
SELECT ts AS time, call_id, if(kind = 'request', method, concat(toString(status), ' ', reason)) AS message, cseq_num, cseq_method,
  concat(src_ip, ':', toString(src_port)) AS source, concat(dst_ip, ':', toString(dst_port)) AS destination, transport, node
FROM sip_messages
WHERE $__timeFilter(ts) AND ${TENANT} AND ${NODE} AND ${DOMAIN} AND q_call_id != '' AND call_id = q_call_id
ORDER BY ts, kafka_partition, kafka_offset
LIMIT 1000`), { w: 24, h: 12 }, [{ field: 'call_id', links: [ladderLink()] }])));
}
