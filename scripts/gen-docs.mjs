#!/usr/bin/env node
// Regenerate docs/cli.md from gwctl's command tree (run after `npm run build`).
import { writeFileSync } from 'node:fs';

import { renderCliDoc } from '../dist/cli/cli-doc.js';
import { buildProgram } from '../dist/cli/program.js';

const io = { stdout: { write() {} }, stderr: { write() {} }, env: {}, cwd: process.cwd() };
writeFileSync(new URL('../docs/cli.md', import.meta.url), renderCliDoc(buildProgram(io, [])));
console.log('wrote docs/cli.md');
