/**
 * The development fallback of `npm start` and `npm run migrate`: what is configured is used as is; what is unset
 * comes from the embedded local stack, brought up on demand. Reports which parts this call started, so the caller
 * can stop exactly those again.
 */
import { missingEndpoints, type Configured, type EndpointNeed, type Endpoints } from '../../services/endpoints.ts';
import { stackUp, type StackEnv } from './index.ts';

export interface DevEndpoints extends Endpoints {
  /** Parts of the local stack this call started (empty when they were already running or configured). */
  readonly startedParts: readonly string[];
}

export async function resolveDevEndpoints(configured: Configured, env: StackEnv, progress: (line: string) => void, need: EndpointNeed = 'both'): Promise<DevEndpoints> {
  const kafkaBrokers = configured.kafkaBrokers ? [...configured.kafkaBrokers] : undefined;
  const clickhouseUrl = configured.clickhouseUrl?.toString();
  const missing = missingEndpoints(configured, need);
  if (missing.length === 0) return { kafkaBrokers: kafkaBrokers ?? [], clickhouseUrl: clickhouseUrl ?? '', embedded: false, startedParts: [] };
  progress(`${missing.join(' and ')} unset: bringing up the embedded local stack`);
  const local = await stackUp(env, progress);
  return {
    kafkaBrokers: kafkaBrokers ?? [...local.kafkaBrokers],
    clickhouseUrl: clickhouseUrl ?? local.clickhouseUrl,
    embedded: true,
    startedParts: local.started,
  };
}
