/** `npm run docs:config`: rewrite docs/configuration.md's generated tables from the settings tables. */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { spliceSettingsTables } from '../src/config/docs.js';
import { packageInfo } from '../src/package-root.js';

const path = join(packageInfo().root, 'docs', 'configuration.md');
const before = readFileSync(path, 'utf8');
const after = spliceSettingsTables(before);
if (after !== before) writeFileSync(path, after);
console.log(after === before ? `${path} is up to date` : `${path} rewritten`);
