#!/usr/bin/env node
// Regenerate schemas/protocol/*.schema.json from the TypeScript schemas (run after `npm run build`).
// Every file there is generated: one that no schema produces any more is removed.
import { readdirSync, rmSync, writeFileSync } from 'node:fs';

import { PROTOCOL_SCHEMAS, protocolSchemaFile, renderSchemaFile } from '../dist/core/protocol-schemas.js';

const dir = new URL('../schemas/protocol/', import.meta.url);
const written = new Set();
for (const schema of PROTOCOL_SCHEMAS) {
  const file = protocolSchemaFile(schema);
  writeFileSync(new URL(file, dir), renderSchemaFile(schema));
  written.add(file);
}
for (const file of readdirSync(dir)) {
  if (file.endsWith('.schema.json') && !written.has(file)) {
    rmSync(new URL(file, dir));
    console.log(`removed schemas/protocol/${file}`);
  }
}
console.log(`wrote ${written.size} files in schemas/protocol`);
