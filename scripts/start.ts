/**
 * `npm start`: the supervisor of every tollgate service (`services/supervisor/`), with the development fallback:
 * whatever of KAFKA_BROKERS / CLICKHOUSE_URL is unset comes from the embedded local stack, brought up first. Ctrl-C
 * stops the services and then the stack parts this run started, unless TOLLGATE_KEEP_STACK=true keeps them for a
 * fast next start (the banner says which).
 */
import { runSupervisor } from '../services/supervisor/run.ts';
import { resolveDevEndpoints } from './stack/endpoints.ts';
import { stackDown, stackStatus } from './stack/index.ts';

const env = process.env;

await runSupervisor({
  env,
  async endpoints(config, progress) {
    const dev = await resolveDevEndpoints(config, env, progress);
    if (!dev.embedded) return dev;
    // Each part runs as its own process group led by the pid the stack recorded.
    const stackProcessGroups = (await stackStatus(env)).parts
      .filter((p) => dev.startedParts.includes(p.name) && p.pid !== undefined).map((p) => p.pid!);
    if (dev.startedParts.length === 0) {
      return { ...dev, stackNote: 'Ctrl-C stops tollgate; the embedded stack was already running and is left running.' };
    }
    if (config.keepStack) {
      return {
        ...dev, stackProcessGroups,
        stackNote: `Ctrl-C stops tollgate; TOLLGATE_KEEP_STACK=true leaves the embedded ${dev.startedParts.join(' and ')} running `
          + '(`npm run stack -- down` stops them).',
      };
    }
    return {
      ...dev, stackProcessGroups,
      stackNote: `Ctrl-C stops everything cleanly, the embedded ${dev.startedParts.join(' and ')} included `
        + '(TOLLGATE_KEEP_STACK=true keeps them for a fast restart).',
      release: () => stackDown(env, progress, dev.startedParts),
    };
  },
});
