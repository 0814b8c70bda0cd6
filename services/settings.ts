/**
 * Every setting of every service, in one table: `npm start`'s supervisor validates all of them at start-up and the
 * README's configuration reference is generated from it (`npm run config-docs`).
 */
import { analyzerSettings } from './analyzer/settings.ts';
import { apiSettings } from './api/settings.ts';
import { collectorSettings } from './collector/settings.ts';
import { ratingSettings } from './rating/settings.ts';

import { guardSettings } from './guard/settings.ts';
import { commonSettings } from './shared/config/common.ts';
import { parseSettings, type Env, type Parsed } from './shared/config/settings.ts';
import { supervisorSettings } from './supervisor/settings.ts';

export const allSettings = {
  ...commonSettings,
  ...supervisorSettings,
  ...apiSettings,
  ...collectorSettings,
  ...analyzerSettings,
  ...ratingSettings,

  ...guardSettings,
} as const;

export type TollgateConfig = Parsed<typeof allSettings>;

export function loadConfig(env: Env): TollgateConfig {
  return parseSettings(allSettings, env);
}

/** Sections of the configuration reference, in the order the README shows them. */
export const settingsSections = [
  { title: 'Common (every service)', shape: commonSettings },
  { title: 'Process supervisor (`npm start`)', shape: supervisorSettings },
  { title: 'API', shape: apiSettings },
  { title: 'HEP collector', shape: collectorSettings },
  { title: 'Analyzer (SIP analytics into ClickHouse)', shape: analyzerSettings },
  { title: 'Rating (FreeSWITCH event socket, CGRateS, CDRs)', shape: ratingSettings },

  { title: 'Guard (detectors, blocklist, edge push, alert delivery)', shape: guardSettings },
] as const;
