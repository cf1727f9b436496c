import path from 'node:path';

import type { Command } from 'commander';

import type { WitnessSettings } from '../../core/settings/types.js';
import { clientError } from '../client.js';
import { durationFlag, parseList } from '../option-parsers.js';

/** The witness flags of `gwctl redundancy configure` (DESIGN.md section 9). */
export interface WitnessFlagValues {
  witnessEtcd?: string[];
  witnessPrefix?: string;
  witnessTtl?: number;
  witnessCa?: string;
  witnessCert?: string;
  witnessKey?: string;
  /** false after --no-witness (commander's default true otherwise). */
  witness?: boolean;
}

/** Where each witness field comes from, for refusals the daemon names by field. */
export const WITNESS_FLAG_NAMES = {
  '/witness': '--witness-etcd',
  '/witness/endpoints': '--witness-etcd',
  '/witness/prefix': '--witness-prefix',
  '/witness/leaseTtlMs': '--witness-ttl',
  '/witness/tls': '--witness-ca/--witness-cert/--witness-key',
} as const;

export function addWitnessOptions(cmd: Command): Command {
  return cmd
    .option('--witness-etcd <urls>', 'use an etcd cluster as the third vote (section 9): its endpoints, comma separated (http://10.0.0.7:2379,...)', parseList)
    .option('--witness-prefix <prefix>', 'etcd key prefix of this pair, the same on both nodes (e.g. /gwd/line-3)')
    .option('--witness-ttl <ms>', 'lease of the leader key (default 5000 ms; or 5s); a killed Active node is replaced after about this long', durationFlag('ms', 2000, 600_000))
    .option('--witness-ca <file>', "PEM file of the CA that signed etcd's server certificate (with --witness-cert and --witness-key)")
    .option('--witness-cert <file>', "this node's client certificate for etcd (PEM)")
    .option('--witness-key <file>', "this node's client key for etcd (PEM)")
    .option('--no-witness', 'stop using a witness (back to the two-node rules)');
}

/**
 * The witness settings the flags ask for: undefined (no witness flag given), null (--no-witness),
 * or the whole witness (replaced as a whole; flags not given keep the current values, which
 * `current` fetches only then).
 */
export async function witnessUpdate(
  opts: WitnessFlagValues,
  cmd: Command,
  current: () => Promise<WitnessSettings | null>,
): Promise<WitnessSettings | null | undefined> {
  const given = opts.witnessEtcd !== undefined || opts.witnessPrefix !== undefined || opts.witnessTtl !== undefined || tlsGiven(opts);
  if (cmd.getOptionValueSource('witness') === 'cli' && opts.witness === false) {
    if (given) throw clientError('GW_ERR_CLI_USAGE', { detail: '--no-witness cannot be combined with other --witness-* options' });
    return null;
  }
  if (!given) return undefined;
  const existing = await current();
  const endpoints = opts.witnessEtcd ?? existing?.endpoints;
  if (endpoints === undefined || endpoints.length === 0) {
    throw clientError('GW_ERR_CLI_USAGE', { detail: '--witness-etcd is required to add a witness (its endpoints, e.g. http://10.0.0.7:2379)' });
  }
  const prefix = opts.witnessPrefix ?? existing?.prefix;
  if (prefix === undefined) {
    throw clientError('GW_ERR_CLI_USAGE', { detail: '--witness-prefix is required to add a witness: the same key prefix on both nodes of the pair (e.g. /gwd/line-3)' });
  }
  const w: WitnessSettings = { kind: 'etcd', endpoints, prefix, leaseTtlMs: opts.witnessTtl ?? existing?.leaseTtlMs ?? 5000 };
  if (tlsGiven(opts)) {
    if (!opts.witnessCa || !opts.witnessCert || !opts.witnessKey) {
      throw clientError('GW_ERR_CLI_USAGE', { detail: '--witness-ca, --witness-cert and --witness-key go together (all three or none)' });
    }
    // The daemon reads them: paths relative to where gwctl runs would mean something else there.
    w.tls = { ca: path.resolve(opts.witnessCa), cert: path.resolve(opts.witnessCert), key: path.resolve(opts.witnessKey) };
  } else if (existing?.tls) {
    w.tls = existing.tls;
  }
  return w;
}

function tlsGiven(o: WitnessFlagValues): boolean {
  return o.witnessCa !== undefined || o.witnessCert !== undefined || o.witnessKey !== undefined;
}
