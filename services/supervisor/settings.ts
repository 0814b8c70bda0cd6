/** Settings of `npm start`'s process supervisor: how many processes of each service, and the dev stack's fate. */
import { s } from '../shared/config/settings.ts';

export const supervisorSettings = {
  collectorProcesses: s.int('COLLECTOR_PROCESSES', 0, 0, 64,
    'HEP collector processes `npm start` runs; they share the HEP ports (one UDP socket read by all, TCP connections '
    + 'spread by the kernel). `0`: one per four cores, at least two (while one is off the CPU the other drains the socket). Packets of one call may then be read by different '
    + 'processes; the analyzer restores capture-time order within `DIALOG_REORDER_WINDOW`.'),
  analyzerProcesses: s.int('ANALYZER_PROCESSES', 0, 0, 64,
    'Analyzer processes `npm start` runs, members of one consumer group (`ANALYZER_GROUP_ID`). `0`: one per two cores, '
    + 'at least one and at most `KAFKA_PARTITIONS`.'),
  collectorNice: s.int('COLLECTOR_NICE', -10, -20, 19,
    'Scheduling priority (nice) of the collector processes: UDP cannot push back, so intake goes before anything '
    + 'that only lags (consumers, the API, Kafka, ClickHouse). The other services run at nice 5. A negative value needs '
    + 'root, CAP_SYS_NICE or RLIMIT_NICE; without, the collectors stay at 0 and the other services and the embedded '
    + 'Kafka/ClickHouse this start brought up step back to nice 10 instead. The log says which applied.'),
  keepStack: s.bool('TOLLGATE_KEEP_STACK', false,
    'With the embedded development stack: leave the Kafka and ClickHouse that `npm start` started running when it stops, '
    + 'so the next start is fast (`npm run stack -- down` stops them). Default: Ctrl-C stops them too.'),
} as const;
