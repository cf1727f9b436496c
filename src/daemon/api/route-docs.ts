/**
 * The local API's route table as docs/api.md shows it: one line per registered route, in the order
 * they are registered, with what it takes and answers. The method, path and body schema come from
 * the router itself; only the prose is written here. test/unit/api-doc.test.ts fails when a route
 * has no line here, a line has no route, or docs/api.md differs from renderRouteTable (run
 * `npm run docs` to rewrite it).
 */
import type { Router } from './router.js';

export interface RouteDoc {
  /** Query parameters, as shown after the path (`since=SEQ&limit=N`). */
  readonly query?: string;
  /** What the body is, when the route takes one (its schema, if any, is added from the route). */
  readonly body?: string;
  readonly answer: string;
}

/** Keyed by `METHOD pattern`, exactly as the route is registered. */
export const ROUTE_DOCS: Readonly<Record<string, RouteDoc>> = {
  'GET /v0/status': {
    answer:
      '`StatusResponse`: `node`, `redundancy` {role, activity, epoch, since, reason, peer, sync, paused, hold, witness}, `daemon` {pid, startedAt, uptimeSecs, ready, dataDir, socket, eventSeq}, `config` {revision, invalid}; the fields below (Status)',
  },
  'GET /v0/node': { answer: '`NodeInfo`: uuid, systemName, label, edition, version, certFingerprint, createdAt' },
  'PUT /v0/node': {
    body: "`{label}`: this machine's local name, 1 to 64 printable characters (no `|`, no leading or trailing space), written to `node.json` and never synced",
    answer: '`NodeInfo` after the change; a bad label: `GW_ERR_NODE_LABEL_INVALID`; event `node.settings.changed`',
  },
  'GET /v0/node/cert': { answer: '`NodeCert`: fingerprint, subject, notBefore, notAfter, pem, path' },
  'GET /v0/events': {
    query: 'since=SEQ&limit=N&type=PREFIX&follow=1',
    answer: 'NDJSON, one `{seq, time, type, data}` per line; with `follow=1` the stream stays open',
  },
  'GET /metrics': {
    answer:
      "Prometheus text: gwd's own `gwd_*` (role, activity, epoch, peer, sync, approvals, activations, hook failures, `gwd_paused`, `gwd_witness_*`: [operations.md](operations.md#monitoring)) and the standard process and runtime metrics under their standard names (`process_resident_memory_bytes`, `nodejs_heap_size_used_bytes`, ...)",
  },
  'GET /v0/network': { answer: 'Gateway Network settings and listeners, `NetworkView` (below)' },
  'PUT /v0/network': {
    body: 'any subset of `gateway-network.json`',
    answer: '`NetworkView` after the change (below); a change whose listeners cannot bind is undone (`GW_ERR_GAN_LISTEN_FAILED`)',
  },
  'GET /v0/redundancy': { answer: 'redundancy settings (below)' },
  'PUT /v0/redundancy': { body: 'any subset of the redundancy settings, `force?`', answer: 'the settings after the change (below)' },
  'POST /v0/redundancy/failover': {
    body: '`{force?: boolean, to?}`',
    answer:
      '`{failoverId, seq}`: follow `/v0/events?since=seq&type=failover` for `failover.completed` or `failover.failed` with that id. Refusals: `GW_ERR_REDUNDANCY_NO_PEER`, `GW_ERR_REDUNDANCY_NOT_REDUNDANT`, `GW_ERR_REDUNDANCY_FAILOVER_IN_PROGRESS`',
  },
  'POST /v0/redundancy/resync': {
    answer:
      '`{kind: "full", side: "backup"|"master", seq}` once a full snapshot is under way (a backup asks its master for one, a master pushes one): follow `/v0/events?since=seq&type=sync` for `sync.completed` with `kind` full. Refusals: `GW_ERR_SYNC_NOT_APPLICABLE` (Independent), `GW_ERR_SYNC_NO_PEER`',
  },
  'POST /v0/redundancy/pause': {
    body: '`{forMs?, reason?}`',
    answer: '`{paused}`, what status shows as `redundancy.paused` (below)',
  },
  'POST /v0/redundancy/resume': { answer: '`{paused: null, ended}` (`ended` false: nothing was paused)' },
  'GET /v0/certs': { query: 'state=S&direction=D', answer: 'trust stores: `CertEntry[]` (below)' },
  'POST /v0/certs': { body: '`{direction, pem}`', answer: 'the `CertEntry`, approved: pre-approval from PEM (below)' },
  'POST /v0/certs/:id/approve': {
    query: 'direction=D',
    answer: "`CertEntry[]`; `:id` is a fingerprint or a unique prefix of 8+ characters, or the peer's label, UUID or UUID prefix of 8+ (below)",
  },
  'POST /v0/certs/:id/deny': { query: 'direction=D', answer: '`CertEntry[]` (below)' },
  'DELETE /v0/certs/:id': { query: 'direction=D', answer: '`CertEntry[]` removed (below)' },
  'GET /v0/connections': { answer: 'Gateway Network connections, `ConnectionEntry[]` (below)' },
  'POST /v0/connections/:id/approve': {
    answer: "the `ConnectionEntry`, approved; `:id` is the peer's label, its UUID or a unique prefix, or `<systemname>|<uuid>` or a unique prefix (below)",
  },
  'POST /v0/connections/:id/deny': { answer: 'the `ConnectionEntry`, denied (below)' },
  'GET /v0/config/resources': {
    answer: '`ConfigListResponse`: revision, role, resources (hasBackup, effective, collection, …), invalid files',
  },
  'GET /v0/config/resources/*address': {
    query: 'version=primary|backup|effective&collection=core|local',
    answer: '`ConfigResourceResponse`: content, meta, the version answered',
  },
  'GET /v0/config/export': {
    query: 'version=effective|primary|backup&collection=core|local&format=ndjson|json',
    answer: 'every resource in one answer, streamed (below)',
  },
  'PUT /v0/config/resources/*address': {
    body: '`{content, version?: primary|backup, collection?: core|local}`',
    answer: '`ConfigWriteResponse`',
  },
  'DELETE /v0/config/resources/*address': { query: 'collection=core|local', answer: '`ConfigWriteResponse`' },
  'POST /v0/config/backup/*address': {
    body: '`{content?, collection?}` (no content: a copy of Primary)',
    answer: '`ConfigWriteResponse`',
  },
  'DELETE /v0/config/backup/*address': { query: 'collection=core|local', answer: '`ConfigWriteResponse`' },
  'GET /v0/config/check': {
    answer:
      '`ConfigCheckResponse`, read from disk and changing nothing (what a rescan or the next start would find): revision, ok (no bad file), invalid (every bad file: `{path, collection, resource, problems: [{pointer, message}]}`; settings files have collection and resource null), changes (what a rescan would journal: `{op, collection, resource, version}`), resources (valid resources on disk), settings (`{file, path, state: ok|missing|invalid}` for node.json, redundancy.json, gateway-network.json, connections.json, pki/gwd.key, pki/gwd.crt, pki/trust)',
  },
  'GET /v0/config/archives': {
    answer:
      "`ConfigArchivesResponse`, read from disk: dir (`var/archive`), keep (`syncArchiveKeep`), archives oldest first, each `{name, path, time, reason, sourceRevision, peer, files, bytes}`: time (ISO 8601) from the folder's name; reason from its `archive.json` (`first-sync`, `resync-requested`, `resync-by-master`, `journal-behind`, `sync-broken`; `unknown` without a readable record); files and bytes count the regular files in it. Only folders named as a time are listed (and pruned); anything else in `var/archive` is left alone",
  },
  'POST /v0/config/rescan': { answer: '`ConfigRescanResponse`: revision, changes journaled, invalid files' },
};

/** A route as Router.list() gives it. */
export type RouteRow = ReturnType<Router['list']>[number];

export const ROUTE_TABLE_BEGIN = '<!-- route table: generated from the router by `npm run docs` -->';
export const ROUTE_TABLE_END = '<!-- end of route table -->';

/** Markdown cells: a `|` inside one would end the cell. */
function cell(text: string): string {
  return text.replace(/\|/g, '\\|');
}

/** The table, or an error naming every route without a line and every line without a route. */
export function renderRouteTable(routes: readonly RouteRow[]): string {
  const keys = routes.map((r) => `${r.method} ${r.pattern}`);
  const undocumented = keys.filter((k) => !Object.hasOwn(ROUTE_DOCS, k));
  const stale = Object.keys(ROUTE_DOCS).filter((k) => !keys.includes(k));
  if (undocumented.length > 0 || stale.length > 0) {
    throw new Error(
      `route docs out of step with the router: no line for [${undocumented.join(', ')}]; no route for [${stale.join(', ')}]`,
    );
  }
  const lines = ['| method | path | body | answer |', '|---|---|---|---|'];
  for (const r of routes) {
    const doc = ROUTE_DOCS[`${r.method} ${r.pattern}`]!;
    const path = doc.query ? `${r.pattern}?${doc.query}` : r.pattern;
    let body = doc.body ?? (r.rawBody ? 'the file as it is' : '');
    if (r.bodySchema) body = `${body} (schema \`${r.bodySchema}\`)`.trim();
    lines.push(`| ${r.method} | \`${cell(path)}\` | ${cell(body)} | ${cell(doc.answer)} |`);
  }
  return `${ROUTE_TABLE_BEGIN}\n${lines.join('\n')}\n${ROUTE_TABLE_END}`;
}

/** docs/api.md with its route table replaced by `table`; the markers must be there once. */
export function replaceRouteTable(page: string, table: string): string {
  const start = page.indexOf(ROUTE_TABLE_BEGIN);
  const end = page.indexOf(ROUTE_TABLE_END);
  if (start < 0 || end < start) throw new Error('docs/api.md has no route table markers');
  return page.slice(0, start) + table + page.slice(end + ROUTE_TABLE_END.length);
}
