/**
 * `npm run import`: the capture import command (services/importer/main.ts) with the development fallback of
 * `npm start`: when KAFKA_BROKERS is unset, the embedded local stack's Kafka is brought up and used.
 */
import { runImportCommand } from '../services/importer/main.ts';
import { resolveDevEndpoints } from './stack/endpoints.ts';

runImportCommand((configured, progress) => resolveDevEndpoints(configured, process.env, progress, 'kafka'));
