/** Error codes of the rating service (ESL wire, CGRateS, CDR store). */
import { defineError } from '../shared/errors.ts';

export const RatingErrors = {
  eslProtocol: defineError('TG_ESL_PROTOCOL',
    'The event socket sent bytes that are not a valid mod_event_socket frame; the connection is dropped and re-opened.'),
  eslAuth: defineError('TG_ESL_AUTH', 'FreeSWITCH refused the event-socket password.', true),
  eslDisconnected: defineError('TG_ESL_DISCONNECTED',
    'The event-socket connection closed before the command was answered.', true),
  eslTimeout: defineError('TG_ESL_TIMEOUT', 'FreeSWITCH did not answer an event-socket command in time.', true),
  eslCommandFailed: defineError('TG_ESL_COMMAND_FAILED', 'FreeSWITCH answered a command with -ERR.'),
  cgratesUnavailable: defineError('TG_CGRATES_UNAVAILABLE',
    'CGRateS did not answer (connection refused, timeout, or the circuit breaker is open).', true),
  cgratesError: defineError('TG_CGRATES_ERROR', 'CGRateS answered a JSON-RPC call with an error.'),
  cdrStore: defineError('TG_CDR_STORE', 'A CDR could not be written to ClickHouse or Kafka; it stays spooled and is retried.', true),
  jsonCdrInvalid: defineError('TG_JSON_CDR_INVALID', 'A mod_json_cdr post is not a FreeSWITCH JSON CDR.'),
} as const;
