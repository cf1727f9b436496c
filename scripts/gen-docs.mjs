#!/usr/bin/env node
// Regenerate docs/cli.md from gwctl's command tree and the route table of docs/api.md from the
// daemon's router (run after `npm run build`).
import { readFileSync, writeFileSync } from 'node:fs';

import { renderCliDoc } from '../dist/cli/cli-doc.js';
import { buildProgram } from '../dist/cli/program.js';
import { renderRouteTable, replaceRouteTable } from '../dist/daemon/api/route-docs.js';
import { Router } from '../dist/daemon/api/router.js';
import { registerAllRoutes } from '../dist/daemon/api/routes/index.js';

const io = { stdout: { write() {} }, stderr: { write() {} }, env: {}, cwd: process.cwd() };
writeFileSync(new URL('../docs/cli.md', import.meta.url), renderCliDoc(buildProgram(io, [])));
console.log('wrote docs/cli.md');

// Registering never calls a service, so empty ones do to read the table.
const router = new Router();
const none = {};
registerAllRoutes(router, { status: none, events: none, metrics: none, network: none, redundancy: none, trust: none, config: none });
const apiDoc = new URL('../docs/api.md', import.meta.url);
writeFileSync(apiDoc, replaceRouteTable(readFileSync(apiDoc, 'utf8'), renderRouteTable(router.list())));
console.log('wrote the route table of docs/api.md');
