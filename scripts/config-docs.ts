/** Regenerates the configuration reference in README.md from the settings table (`npm run config-docs`). */
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { settingsSections } from '../services/settings.ts';
import { settingsDocTable } from '../services/shared/config/settings.ts';

const readmePath = fileURLToPath(new URL('../README.md', import.meta.url));
const BEGIN = '<!-- BEGIN generated settings: npm run config-docs -->';
const END = '<!-- END generated settings -->';

const body = settingsSections.map((s) => `### ${s.title}\n\n${settingsDocTable(s.shape)}\n`).join('\n');
const readme = readFileSync(readmePath, 'utf8');
const start = readme.indexOf(BEGIN);
const end = readme.indexOf(END);
if (start === -1 || end === -1) {
  process.stderr.write(`README.md lacks the markers ${BEGIN} ... ${END}\n`);
  process.exit(1);
}
writeFileSync(readmePath, `${readme.slice(0, start + BEGIN.length)}\n\n${body}\n${readme.slice(end)}`);
process.stdout.write(`README.md: ${settingsSections.length} settings sections regenerated\n`);
