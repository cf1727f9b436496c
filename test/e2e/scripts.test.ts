/**
 * gwctl run as scripts run it: through `bash -o pipefail -c`, into pipes, files and `jq`, on a node
 * of real size (RESOURCES resources written on disk before its first start). DESIGN.md section 8:
 * every byte reaches a pipe or file of any size before gwctl exits; a reader that closes early ends
 * gwctl quietly (exit 141, as `cat`); exit codes are a contract.
 */
import { spawn } from 'node:child_process';
import { mkdirSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { GWCTL, spawnGwd, type GwdProcess } from '../helpers/processes.js';
import { makeTempDir } from '../helpers/temp-dir.js';

/** 10,000 on disk before the start: the daemon's startup scan journals them all (~10 s here). */
const RESOURCES = 10_000;

interface ShResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** `bash -o pipefail -c script`, with `gwctl` on PATH and $S the node's socket. */
function sh(script: string, env: NodeJS.ProcessEnv, timeoutMs = 30_000): Promise<ShResult> {
  return new Promise((resolve, reject) => {
    const child = spawn('bash', ['-o', 'pipefail', '-c', script], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`bash -c '${script}' did not finish in ${timeoutMs} ms; stderr: ${stderr}`));
    }, timeoutMs);
    child.once('error', reject);
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

function writeResources(dataDir: string, count: number): void {
  const dir = path.join(dataDir, 'config', 'resources', 'core', 'opcua', 'opc-connection');
  for (let i = 0; i < count; i++) {
    const res = path.join(dir, `plc-${String(i).padStart(5, '0')}`);
    mkdirSync(res, { recursive: true });
    writeFileSync(path.join(res, 'config.json'), JSON.stringify({ endpointUrl: `opc.tcp://10.0.${(i >> 8) & 255}.${i & 255}:4840` }));
  }
}

describe(`gwctl in scripts, on a node with ${RESOURCES} resources`, () => {
  const temp = makeTempDir('gwd-scripts-');
  const dataDir = path.join(temp.dir, 'node');
  const binDir = path.join(temp.dir, 'bin');
  let gwd: GwdProcess;
  let env: NodeJS.ProcessEnv;
  let failed = false;

  beforeAll(async () => {
    writeResources(dataDir, RESOURCES);
    // `gwctl` as an installed command; node from this test's own runtime.
    mkdirSync(binDir);
    writeFileSync(path.join(binDir, 'gwctl'), `#!/bin/sh\nexec '${process.execPath}' '${GWCTL}' "$@"\n`, { mode: 0o755 });
    gwd = spawnGwd(dataDir, ['--port', '0', '--ssl-port', '0', '--bind', '127.0.0.1', '--system-name', 'plant-s']);
    env = {
      ...process.env,
      PATH: `${binDir}:${path.dirname(process.execPath)}:${process.env.PATH ?? '/usr/bin:/bin'}`,
      S: gwd.socket,
      GWD_SOCKET: '',
      GWD_DATA_DIR: '',
      NO_COLOR: '1',
    };
    const up = await sh('gwctl --socket "$S" wait --ready --timeout 80', env, 90_000);
    if (up.code !== 0) throw new Error(`gwd did not start: ${up.stderr}\n${gwd.output()}`);
  }, 120_000);

  afterAll(async () => {
    if (failed) process.stderr.write(`\n----- gwd (${dataDir}) -----\n${gwd?.output() ?? ''}`);
    await gwd?.stop();
    temp.cleanup();
  });

  const expectCode = (r: ShResult, code: number): void => {
    if (r.code !== code) failed = true;
    expect(r.code, `stdout: ${r.stdout.slice(0, 2000)}\nstderr: ${r.stderr}`).toBe(code);
  };

  describe('output reaches a pipe of any size', () => {
    it('config list --json through a pipe is every byte written to a file (not 65536)', async () => {
      const file = path.join(temp.dir, 'list.json');
      expectCode(await sh(`gwctl --socket "$S" --json config list > '${file}'`, env), 0);
      const bytes = statSync(file).size;
      expect(bytes).toBeGreaterThan(1_000_000);
      const piped = await sh('gwctl --socket "$S" --json config list | wc -c', env);
      expectCode(piped, 0);
      expect(Number(piped.stdout.trim())).toBe(bytes);
      expect(piped.stderr).toBe('');
    });

    it('the human table through a pipe is every byte too', async () => {
      const file = path.join(temp.dir, 'list.txt');
      expectCode(await sh(`gwctl --socket "$S" config list > '${file}'`, env), 0);
      const piped = await sh('gwctl --socket "$S" config list | wc -c', env);
      expectCode(piped, 0);
      expect(Number(piped.stdout.trim())).toBe(statSync(file).size);
      expect(statSync(file).size).toBeGreaterThan(65_536);
    });

    it('a slow reader (one that starts reading after a second) gets every byte', async () => {
      const file = path.join(temp.dir, 'list-slow.json');
      expectCode(await sh(`gwctl --socket "$S" --json config list > '${file}'`, env), 0);
      const slow = await sh('gwctl --socket "$S" --json config list | (sleep 1; cat) | wc -c', env);
      expectCode(slow, 0);
      expect(Number(slow.stdout.trim())).toBe(statSync(file).size);
    });

    it('events --json | head -1 ends gwctl quietly: exit 141 as cat, nothing on stderr', async () => {
      // The startup scan logged one config.changed event per resource: megabytes, far more than a
      // pipe holds, so gwctl is surely still writing when head closes the pipe.
      const r = await sh('gwctl --socket "$S" --json events | head -1', env);
      expectCode(r, 141);
      expect(r.stderr).toBe('');
      const lines = r.stdout.trim().split('\n');
      expect(lines).toHaveLength(1);
      expect(JSON.parse(lines[0]!)).toMatchObject({ seq: expect.any(Number), type: expect.any(String) });
      // Without pipefail the pipeline is head's: what a script without it sees.
      const plain = await sh('set +o pipefail; gwctl --socket "$S" events | head -1 >/dev/null', env);
      expectCode(plain, 0);
      expect(plain.stderr).toBe('');
    });
  });
  describe('every --json command parses in jq and has the documented fields', () => {
    /** jq: the object has at least these keys. */
    const has = (keys: string[], at = '.'): string => `((${JSON.stringify(keys)} - (${at} | keys)) == [])`;
    const cases: Array<[string, string, string]> = [
      [
        'status',
        'gwctl --socket "$S" --json status',
        `${has(['node', 'redundancy', 'daemon', 'config'])} and ${has(['uuid', 'systemName', 'edition', 'version', 'certFingerprint'], '.node')}` +
          ` and ${has(['role', 'activity', 'epoch', 'since', 'peer', 'sync'], '.redundancy')}` +
          ` and ${has(['state', 'revision', 'peerRevision'], '.redundancy.sync')}` +
          ' and .redundancy.peer == null and .redundancy.role == "Independent" and .redundancy.activity == "Active"',
      ],
      ['node show', 'gwctl --socket "$S" --json node show', `${has(['uuid', 'systemName', 'edition', 'version', 'certFingerprint', 'createdAt'])} and .systemName == "plant-s"`],
      ['node cert', 'gwctl --socket "$S" --json node cert', `${has(['fingerprint', 'subject', 'notBefore', 'notAfter', 'pem', 'path'])} and (.fingerprint | test("^[0-9a-f]{64}$"))`],
      ['redundancy show', 'gwctl --socket "$S" --json redundancy show', `${has(['settings', 'file'])} and ${has(['role', 'failoverTimeout', 'joinWaitTime', 'master'], '.settings')}`],
      ['network show', 'gwctl --socket "$S" --json network show', `${has(['settings', 'effective', 'overridden', 'listeners', 'path'])} and (.listeners.plain.port | type) == "number"`],
      [
        'certs list (after certs trust of a PEM taken from node cert, through jq)',
        `gwctl --socket "$S" --json node cert | jq -r .pem > "$T/own.pem" && gwctl --socket "$S" certs trust --direction outgoing --file "$T/own.pem" >/dev/null && gwctl --socket "$S" --json certs list`,
        `type == "array" and length >= 1 and all(.[]; ${has(['fingerprint', 'direction', 'state', 'subject', 'notAfter', 'peer'])} and (.fingerprint | test("^[0-9a-f]{64}$")))`,
      ],
      ['connections list', 'gwctl --socket "$S" --json connections list', `type == "array" and all(.[]; ${has(['id', 'direction', 'state', 'status', 'peer', 'lastError'])})`],
      [
        'config list',
        'gwctl --socket "$S" --json config list',
        `${has(['revision', 'role', 'resources', 'invalid'])} and (.resources | length) == ${RESOURCES + 1} and .invalid == []` +
          ` and all(.resources[]; ${has(['resource', 'type', 'name', 'module', 'collection', 'hasBackup', 'effective', 'enabled', 'lastModification', 'invalid'])})`,
      ],
      [
        'config get',
        'gwctl --socket "$S" --json config get opc-connection/plc-01234',
        `${has(['resource', 'type', 'name', 'collection', 'requested', 'version', 'content', 'meta', 'revision'])} and .content.endpointUrl == "opc.tcp://10.0.4.210:4840"`,
      ],
      [
        'config check',
        'gwctl --socket "$S" --json config check',
        `${has(['revision', 'ok', 'invalid', 'changes', 'resources', 'settings'])} and .ok and .resources == ${RESOURCES + 1} and .changes == []`,
      ],
      [
        'config set from a pipe, backup add, backup remove, delete',
        `echo '{"endpointUrl": "opc.tcp://10.9.0.1:4840"}' | gwctl --socket "$S" --json config set opc-connection/scripted --file - && ` +
          'gwctl --socket "$S" --json config backup add opc-connection/scripted && gwctl --socket "$S" --json config backup remove opc-connection/scripted && ' +
          'gwctl --socket "$S" --json config delete opc-connection/scripted',
        `${has(['resource', 'collection', 'version', 'op', 'changed', 'revision', 'applies', 'note'])} and .changed and .resource == "opc-connection/scripted"`,
      ],
      ['config rescan', 'gwctl --socket "$S" --json config rescan', `${has(['revision', 'changes', 'invalid'])} and .changes == [] and .invalid == []`],
      [
        'events (NDJSON, one object a line)',
        'gwctl --socket "$S" --json events --type config | jq -s .',
        // The log keeps the newest 10,000 events: nearly all of them the startup scan's.
        `length >= ${RESOURCES / 2} and all(.[]; ${has(['seq', 'time', 'type', 'data'])} and (.type | startswith("config")))`,
      ],
      ['wait', 'gwctl --socket "$S" --json wait --ready --timeout 5', `${has(['node', 'redundancy', 'daemon', 'config'])}`],
      [
        'redundancy pause and resume',
        'gwctl --socket "$S" --json redundancy pause --for 1m --reason scripted && gwctl --socket "$S" --json redundancy resume',
        '(.paused == null and .ended == true) or (.paused.reason == "scripted")',
      ],
    ];

    for (const [name, command, predicate] of cases) {
      it(name, async () => {
        const r = await sh(`set -e; { ${command}; } | jq -s -e '(length >= 1) and all(.[]; ${predicate.replace(/'/g, "'\\''")})'`, { ...env, T: temp.dir });
        expectCode(r, 0);
        expect(r.stdout.trim()).toBe('true');
        expect(r.stderr).toBe('');
      });
    }

    it("config list --json | jq '.resources | length' is every resource, not a cut", async () => {
      const r = await sh(`gwctl --socket "$S" --json config list | jq '.resources | length'`, env);
      expectCode(r, 0);
      expect(Number(r.stdout.trim())).toBe(RESOURCES + 1); // and gateway-settings
    });
  });

  describe('config export: every resource in one document, streamed', () => {
    const COUNT = RESOURCES + 1; // and gateway-settings

    it('NDJSON through a pipe: one line per resource (wc -l), each a whole resource (jq)', async () => {
      const r = await sh('gwctl --socket "$S" config export | wc -l', env);
      expectCode(r, 0);
      expect(Number(r.stdout.trim())).toBe(COUNT);
      expect(r.stderr).toBe('');
      const parsed = await sh(
        'gwctl --socket "$S" config export | jq -s -e \'length as $n | all(.[]; (keys == ["collection", "content", "name", "resource", "type", "version"]) and .version == "primary" and .collection == "core") and $n == ' +
          `${COUNT}' >/dev/null`,
        env,
      );
      expectCode(parsed, 0);
    });

    it("--json through jq: '.resources | length' is every resource, --json before or after the command", async () => {
      for (const command of ['gwctl --socket "$S" config export --json', 'gwctl --socket "$S" --json config export']) {
        const r = await sh(`${command} | jq '.resources | length'`, env);
        expectCode(r, 0);
        expect(Number(r.stdout.trim())).toBe(COUNT);
        expect(r.stderr).toBe('');
      }
      const head = await sh('gwctl --socket "$S" config export --json | jq -c \'del(.resources)\'', env);
      expectCode(head, 0);
      const list = await sh('gwctl --socket "$S" --json config list | jq .revision', env);
      expect(JSON.parse(head.stdout)).toEqual({ revision: Number(list.stdout.trim()), role: 'Independent', requested: 'effective' });
    });

    it('the same bytes through a slow reader as into a file', async () => {
      const file = path.join(temp.dir, 'export.ndjson');
      expectCode(await sh(`gwctl --socket "$S" config export > '${file}'`, env), 0);
      expect(statSync(file).size).toBeGreaterThan(COUNT * 100);
      const slow = await sh(`gwctl --socket "$S" config export | (sleep 1; cat) | cmp - '${file}' && echo same`, env);
      expectCode(slow, 0);
      expect(slow.stdout.trim()).toBe('same');
    });

    it('| head -1 ends gwctl quietly: exit 141 as cat, nothing on stderr, the first resource whole', async () => {
      const r = await sh('gwctl --socket "$S" config export | head -1', env);
      expectCode(r, 141);
      expect(r.stderr).toBe('');
      expect(JSON.parse(r.stdout)).toMatchObject({ resource: 'gateway-settings', version: 'primary', content: { systemName: 'plant-s' } });
      const json = await sh('gwctl --socket "$S" config export --json | head -1', env);
      expectCode(json, 141);
      expect(json.stderr).toBe('');
      const plain = await sh('set +o pipefail; gwctl --socket "$S" config export | head -1 >/dev/null', env);
      expectCode(plain, 0);
      expect(plain.stderr).toBe('');
    });

    it('the content of a resource exported is what config get prints for it', async () => {
      for (const name of ['gateway-settings', 'opc-connection/plc-00000', 'opc-connection/plc-01234', 'opc-connection/plc-09999']) {
        const r = await sh(
          `diff <(gwctl --socket "$S" config export | jq -S 'select(.resource == "${name}") | .content') ` +
            `<(gwctl --socket "$S" config get ${name} 2>/dev/null | jq -S .) && echo same`,
          env,
        );
        expectCode(r, 0);
        expect(r.stdout.trim(), name).toBe('same');
      }
    });

    it('--version backup: only the resources with a Backup version; effective stays Primary on this Independent node', async () => {
      const names = ['opc-connection/plc-00042', 'opc-connection/plc-07000'];
      for (const name of names) {
        const add = await sh(`echo '{"endpointUrl": "opc.tcp://10.99.0.1:4840"}' | gwctl --socket "$S" config backup add ${name} --file - >/dev/null`, env);
        expectCode(add, 0);
      }
      try {
        const backup = await sh('gwctl --socket "$S" config export --version backup | jq -r \'[.resource, .version, .content.endpointUrl] | @tsv\'', env);
        expectCode(backup, 0);
        expect(backup.stdout.trim().split('\n')).toEqual(names.map((n) => `${n}\tbackup\topc.tcp://10.99.0.1:4840`));
        const effective = await sh(`gwctl --socket "$S" config export | jq -r 'select(.resource == "${names[0]}") | .version'`, env);
        expectCode(effective, 0);
        expect(effective.stdout.trim()).toBe('primary');
        const primary = await sh('gwctl --socket "$S" config export --version primary | wc -l', env);
        expect(Number(primary.stdout.trim())).toBe(COUNT);
      } finally {
        for (const name of names) await sh(`gwctl --socket "$S" config backup remove ${name} >/dev/null`, env);
      }
    });

    it('a bad --version is a usage error (exit 2) naming the flag and its choices; under --json the error body', async () => {
      const r = await sh('gwctl --socket "$S" config export --version x', env);
      expectCode(r, 2);
      expect(r.stdout).toBe('');
      expect(r.stderr).toContain("option '--version <version>' argument 'x' is invalid. Allowed choices are primary, backup, effective.");
      const json = await sh('gwctl --socket "$S" config export --json --version x 2>&1 >/dev/null | jq -r \'.code + " " + .message\'', env);
      expect(json.stdout.trim()).toBe("GW_ERR_CLI_USAGE option '--version <version>' argument 'x' is invalid. Allowed choices are primary, backup, effective.");
      // Choices are case-insensitive, as everywhere in gwctl.
      const upper = await sh('gwctl --socket "$S" config export --version BACKUP | wc -l', env);
      expectCode(upper, 0);
      expect(Number(upper.stdout.trim())).toBe(0);
    });
  });

  describe('exit codes, and --json errors on stderr as the error body', () => {
    /** The script's exit code is gwctl's; jq checks gwctl's stderr as a coded error body first. */
    const withErrorBody = (command: string, code: string): string =>
      `err=$(${command} 2>&1 >/dev/null); status=$?; ` +
      `printf '%s' "$err" | jq -e '((["statusCode", "code", "error", "message"] - keys) == []) and .code == "${code}" and (.statusCode | type) == "number"' >/dev/null || { echo "not the error body: $err" >&2; exit 99; }; ` +
      'exit $status';

    it('0: success', async () => {
      expectCode(await sh('gwctl --socket "$S" status >/dev/null', env), 0);
    });

    it('1: the daemon refused (the coded body on stderr with --json, the code without)', async () => {
      expectCode(await sh(withErrorBody('gwctl --socket "$S" --json config get opc-connection/nope', 'GW_ERR_CONFIG_NOT_FOUND'), env), 1);
      const text = await sh('gwctl --socket "$S" config get opc-connection/nope', env);
      expectCode(text, 1);
      expect(text.stderr).toContain('GW_ERR_CONFIG_NOT_FOUND');
      expect(text.stdout).toBe('');
    });

    it('2: usage errors', async () => {
      const missing = await sh('gwctl --socket "$S" config get', env);
      expectCode(missing, 2);
      expect(missing.stderr).toContain("gwctl: error: missing required argument 'resource'");
      expectCode(await sh('gwctl --socket "$S" wait --activity sleepy --timeout 1', env), 2);
    });

    it('3: the daemon is not reachable (a hint without --json, the coded body with it)', async () => {
      const text = await sh(`gwctl --socket '${temp.dir}/nobody.sock' status`, env);
      expectCode(text, 3);
      expect(text.stderr).toContain('GW_ERR_CLI_DAEMON_UNREACHABLE');
      expect(text.stderr).toContain('# is gwd running?');
      expectCode(await sh(withErrorBody(`gwctl --socket '${temp.dir}/nobody.sock' --json status`, 'GW_ERR_CLI_DAEMON_UNREACHABLE'), env), 3);
    });

    it('4: wait timed out (no gwd on that socket comes up)', async () => {
      expectCode(await sh(withErrorBody(`gwctl --socket '${temp.dir}/nobody.sock' --json wait --ready --timeout 1`, 'GW_ERR_CLI_WAIT_TIMEOUT'), env), 4);
    });

    it('1: wait for what the role rules out is refused at once (an Independent node is never Cold)', async () => {
      expectCode(await sh(withErrorBody('gwctl --socket "$S" --json wait --activity cold --timeout 30', 'GW_ERR_CLI_WAIT_IMPOSSIBLE'), env), 1);
    });
  });
});

describe('gwctl config export on a node whose role is Backup', () => {
  const temp = makeTempDir('gwd-export-');
  const dataDir = path.join(temp.dir, 'node');
  let gwd: GwdProcess;
  let env: NodeJS.ProcessEnv;

  beforeAll(async () => {
    writeResources(dataDir, 3);
    gwd = spawnGwd(dataDir, ['--port', '0', '--ssl-port', '0', '--bind', '127.0.0.1', '--system-name', 'plant-b']);
    env = { ...process.env, S: gwd.socket, GWD_SOCKET: '', GWD_DATA_DIR: '', NO_COLOR: '1', PATH: `${path.dirname(process.execPath)}:${process.env.PATH ?? '/usr/bin:/bin'}` };
    const gw = `'${process.execPath}' '${GWCTL}' --socket "$S"`;
    // Backup versions are written where core is writable (an Independent node), then the node
    // becomes a Backup (of a master that is not there: the role is what `effective` follows).
    const setup = await sh(
      `set -e; ${gw} wait --ready --timeout 30 >/dev/null; ` +
        `echo '{"endpointUrl": "opc.tcp://10.1.0.1:4840"}' | ${gw} config backup add opc-connection/plc-00001 --file - >/dev/null; ` +
        `echo '{"systemName": "never-applied"}' | ${gw} config backup add gateway-settings --file - >/dev/null; ` +
        `${gw} redundancy configure --mode backup --master-address 127.0.0.1:9 >/dev/null`,
      env,
    );
    if (setup.code !== 0) throw new Error(`setup failed: ${setup.stderr}\n${gwd.output()}`);
    env.GW = gw;
  }, 60_000);

  afterAll(async () => {
    await gwd?.stop();
    temp.cleanup();
  });

  it('effective is the Backup version where there is one, Primary for the rest and for a protected type', async () => {
    const r = await sh('eval "$GW config export" | jq -r \'[.resource, .version, .content.endpointUrl // .content.systemName] | @tsv\'', env);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout.trim().split('\n')).toEqual([
      'gateway-settings\tprimary\tplant-b',
      'opc-connection/plc-00000\tprimary\topc.tcp://10.0.0.0:4840',
      'opc-connection/plc-00001\tbackup\topc.tcp://10.1.0.1:4840',
      'opc-connection/plc-00002\tprimary\topc.tcp://10.0.0.2:4840',
    ]);
    const same = await sh(
      `diff <(eval "$GW config export" | jq -S 'select(.resource == "opc-connection/plc-00001") | .content') ` +
        '<(eval "$GW config get opc-connection/plc-00001" 2>/dev/null | jq -S .) && echo same',
      env,
    );
    expect(same.stdout.trim()).toBe('same');
    const doc = await sh('eval "$GW config export --json" | jq -c \'{role, requested, n: (.resources | length)}\'', env);
    expect(JSON.parse(doc.stdout)).toEqual({ role: 'Backup', requested: 'effective', n: 4 });
  });

  it('--version backup: the Backup versions only, the protected one included; --version primary: every Primary', async () => {
    const backup = await sh('eval "$GW config export --version backup" | jq -r \'[.resource, .version] | @tsv\'', env);
    expect(backup.code, backup.stderr).toBe(0);
    expect(backup.stdout.trim().split('\n')).toEqual(['gateway-settings\tbackup', 'opc-connection/plc-00001\tbackup']);
    const primary = await sh('eval "$GW config export --version primary" | jq -r \'[.resource, .version] | @tsv\'', env);
    expect(primary.stdout.trim().split('\n')).toEqual([
      'gateway-settings\tprimary',
      'opc-connection/plc-00000\tprimary',
      'opc-connection/plc-00001\tprimary',
      'opc-connection/plc-00002\tprimary',
    ]);
  });
});
