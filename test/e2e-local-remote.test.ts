import { execFileSync } from 'node:child_process';
import { once } from 'node:events';
import { X509Certificate } from 'node:crypto';
import { mkdir, mkdtemp, readdir, readFile, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EXIT_CODE } from '../src/cli/exit-codes.js';
import { createSimulatedStation, initStationHome, type ExchangeResult, type SimulatedStation } from '../src/simulator/index.js';
import { runCli, spawnCli } from './support/cli.js';
import { bscupsInProcess, bscupsJson } from './support/cli-in-process.js';
import { startServeProcess, type ServeProcess } from './support/serve-process.js';
import { formatCrc } from '../src/core/crc-format.js';

// The operator's scenarios run twice through the real CLI: once on the server
// host's database (local mode), once from another folder through a real
// `bscups serve` admin listener with an API key (remote mode). Each mode has its
// own server, database and simulated gateway; their --json answers, human
// output and exit codes must be the same, and each gateway must receive what
// was set.
//
// The CLI runs in this process (its real entry point main(), test/support/cli-in-process.ts):
// what is compared is the commands' answers, not process start-up. Reading stdin (the JSON import)
// and one exit code through --server still go through a real child process in each mode; exit
// codes by error kind and the streams of a real process are covered in cli-scripting.test.ts.

const EUI = '0016C001FF10A235';
const SCRIPT_OK = `#!/bin/sh\nprintf '%s\\n' 1.0.1 > "$STATION_HOME/version.txt"\nexit 0\n`;
const SCRIPT_FAIL = '#!/bin/sh\nexit 3\n';

interface Mode {
  readonly name: 'local' | 'remote';
  readonly serve: ServeProcess;
  /** What the CLI is given: the database (local) or the server and key (remote). */
  readonly env: Record<string, string>;
  readonly cwd: string;
  readonly home: string;
  readonly station: SimulatedStation;
  readonly adminKey: string;
  readonly admin: string;
  /** Values that differ by nature between the modes (a certificate made from a random key), with their placeholder. */
  readonly random: Map<string, string>;
}

interface Step {
  readonly code: number;
  /** The --json answer (or error), normalised. */
  readonly json: unknown;
}

let work: string;
let sigKey: { pem: string; key: string; crc: number };
const modes = {} as Record<Mode['name'], Mode>;
const steps = { local: [] as [string, Step][], remote: [] as [string, Step][] };

/** Times: ISO stamps, and the date a simulated station's version string carries. */
const ISO = /\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2}(\.\d+)?Z?/g;

/** Human output: times and the mode's random values replaced by placeholders. */
/** The clock time a health reason gives ("since 14:45 UTC"): the two modes run minutes apart. */
const CLOCK = /\b\d{2}:\d{2} UTC\b/g;
/** The gap a health reason speaks of ("every 0.1 s"): the simulated station's timing, not a result. */
const EVERY = /\bevery [\d.]+ (s|min|h|d)\b/g;

function normalise(mode: Mode, text: string): string {
  let out = text.replace(ISO, '<time>').replace(CLOCK, '<clock>').replace(EVERY, 'every <gap>');
  for (const [value, placeholder] of mode.random) out = out.split(value).join(placeholder);
  return out;
}

/**
 * A parsed --json answer, normalised value by value: a random number equal to a
 * known one becomes its placeholder string, strings as in human output. The size
 * of a random credential varies too (its DER signature is 70 to 72 bytes).
 */
function normaliseJson(mode: Mode, value: unknown): unknown {
  if (typeof value === 'string') return normalise(mode, value);
  if (typeof value === 'number') return mode.random.get(String(value)) ?? value;
  if (Array.isArray(value)) return value.map((v) => normaliseJson(mode, v));
  if (value !== null && typeof value === 'object') {
    // A health record's last gap is the milliseconds between two calls of the simulated station: timing, not a result.
    const out = Object.fromEntries(Object.entries(value).map(([k, v]) => [k, k === 'gapMs' && typeof v === 'number' ? '<gap>' : normaliseJson(mode, v)]));
    if (out['crc'] === '<crc>' && typeof out['size'] === 'number') out['size'] = '<size>';
    return out;
  }
  return value;
}

/** Runs `bscups --json ARGS` in a mode; the answer or the error, normalised. */
async function step(mode: Mode, name: string, args: readonly string[], env: Record<string, string> = {}): Promise<Step> {
  const r = await bscupsInProcess(['--json', ...args], { ...mode.env, ...env }, mode.cwd);
  const text = r.code === 0 ? r.stdout : r.stderr;
  const result = { code: r.code, json: normaliseJson(mode, JSON.parse(text)) };
  steps[mode.name].push([name, result]);
  return result;
}

/** Runs `bscups --json ARGS` (with `stdin` when given) where a failure still answers on stdout: both streams, normalised. */
async function both(mode: Mode, name: string, args: readonly string[], stdin?: string): Promise<{ code: number; stdout: unknown; stderr: unknown }> {
  const r = stdin === undefined ? await bscupsInProcess(['--json', ...args], mode.env, mode.cwd) : await runWithStdin(['--json', ...args], mode, stdin);
  const parse = (text: string) => (text.trim() === '' ? null : normaliseJson(mode, JSON.parse(text)));
  const result = { code: r.code, stdout: parse(r.stdout), stderr: parse(r.stderr) };
  steps[mode.name].push([name, { code: r.code, json: result }]);
  return result;
}

async function runWithStdin(args: readonly string[], mode: Mode, stdin: string): Promise<{ code: number; stdout: string; stderr: string }> {
  const child = spawnCli(args, mode.env, mode.cwd);
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
  child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
  child.stdin.end(stdin);
  const [code] = (await once(child, 'close')) as [number];
  return { code, stdout, stderr };
}

/** The human output of a command in a mode, normalised. */
async function human(mode: Mode, args: readonly string[]): Promise<{ code: number; stdout: string }> {
  const r = await bscupsInProcess(args, mode.env, mode.cwd);
  // A table's column is as wide as its widest value, and a random value (a CRC) varies in length: compare cells, not padding.
  return { code: r.code, stdout: normalise(mode, r.stdout).replace(/ {2,}/g, '  ') };
}

/** What a gateway's exchange did, for comparing the two modes. */
function exchangeView(r: ExchangeResult) {
  return { ok: r.ok, applied: [...r.applied].sort(), nothingToChange: r.nothingToChange, update: r.update === undefined ? null : { outcome: r.update.outcome, ran: r.update.ran, exitCode: r.update.exitCode } };
}

async function startMode(name: Mode['name']): Promise<Mode> {
  const dir = join(work, name);
  const pki = join(dir, 'pki');
  await mkdir(dir, { recursive: true });
  const server = { BSCUPS_DATABASE: join(dir, 'registry.sqlite'), BSCUPS_BLOBS: join(dir, 'blobs'), BSCUPS_PKI_DIR: pki };
  const init = await bscupsJson<{ ca: { fingerprint: string } }>(['pki', 'init', '--dir', pki]);
  const serve = await startServeProcess(server, ['--allow-unauthenticated', '--admin-port', '0']);
  const line = JSON.parse(await serve.waitForLine(/"listening"/)) as { admin: string; firstAdminKey: string };
  expect(line.firstAdminKey).toMatch(/^bsk_/);
  // The remote CLI runs in an empty folder without database settings: it can only work through the API.
  const client = join(dir, 'client');
  await mkdir(client);
  const origin = line.admin.replace(/\/api\/v1$/, '');
  const env = name === 'local' ? server : { BSCUPS_SERVER: origin, BSCUPS_API_KEY: line.firstAdminKey };
  const home = join(dir, 'gateway');
  await initStationHome(home, { cupsUri: serve.url, version: '1.0.0', sigKeys: [await readFile(sigKey.key)] });
  const station = createSimulatedStation({ home, eui: EUI });
  return { name, serve, env, cwd: name === 'local' ? dir : client, home, station, adminKey: line.firstAdminKey, admin: origin, random: new Map([[serve.url, '<cups-url>'], [pki, '<pki>'], [init.ca.fingerprint, '<ca-fingerprint>']]) };
}

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'bscups-local-remote-'));
  execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '30', '-subj', '/CN=lns-ca', '-keyout', join(work, 'lns-ca.key'), '-out', join(work, 'lns-ca.pem')], { stdio: 'ignore' });
  const generated = await bscupsJson<{ privateKey: string; stationKey: string; crc: number }>(['keys', 'generate', '--out', join(work, 'keys')]);
  sigKey = { pem: generated.privateKey, key: generated.stationKey, crc: generated.crc };
  await writeFile(join(work, 'update-1.0.1.sh'), SCRIPT_OK);
  await writeFile(join(work, 'update-1.0.2.sh'), SCRIPT_FAIL);
  await writeFile(
    join(work, 'gateways.csv'),
    ['eui,name,labels,tcUri', '0016C001FF10B001,north-1,site=north;tier=gold,wss://lns.example.com:6887', '0016C001FF10B002,"north, 2",site=north,', '0016C001FF10B003,bad labels,site,', '0016C001FF10B005,,,'].join('\n'),
  );
  const [local, remote] = await Promise.all([startMode('local'), startMode('remote')]);
  modes.local = local;
  modes.remote = remote;
}, 120_000);
afterAll(async () => {
  await Promise.all(Object.values(modes).map((m) => m.serve.stop()));
});

/** The operator's scenario, run the same way in either mode; asserts what the gateway received. */
async function scenario(m: Mode): Promise<Record<string, unknown>> {
  const seen: Record<string, unknown> = {};
  const added = await step(m, 'add', ['station', 'add', EUI, '--name', 'roof', '--label', 'site=north', '--tc-uri', 'wss://127.0.0.1:6092']);
  expect(added.code).toBe(0);

  // Credentials given by hand (token for the LNS), then one issued from the server's station CA.
  const set = await step(m, 'credentials', ['station', 'credentials', EUI, '--tc', '--trust', join(work, 'lns-ca.pem'), '--token', 'Authorization: Bearer tctok']);
  expect(set.code).toBe(0);
  const first = await m.station.exchange();
  seen['exchange 1'] = exchangeView(first);
  expect(first.applied.sort()).toEqual(['tcCred', 'tcUri']);
  expect(await readFile(join(m.home, 'tc.key'), 'latin1')).toBe('Authorization: Bearer tctok\r\n');

  const issued = await bscupsInProcess(['--json', 'station', 'issue-cert', EUI, '--for', 'tc'], m.env, m.cwd);
  expect(issued.code, issued.stderr).toBe(0);
  const cert = (JSON.parse(issued.stdout) as { credentials: { fingerprint: string; crc: number; blob: string }[] }).credentials[0] as { fingerprint: string; crc: number; blob: string };
  m.random.set(cert.fingerprint, '<fingerprint>');
  m.random.set(String(cert.crc), '<crc>');
  // Human output prints CRCs as the station logs them (0x + 8 hex digits, core/crc-format.ts).
  m.random.set(formatCrc(cert.crc), '<crc>');
  m.random.set(cert.blob, '<blob>');
  steps[m.name].push(['issue-cert', { code: issued.code, json: normaliseJson(m, JSON.parse(issued.stdout)) }]);
  const second = await m.station.exchange();
  seen['exchange 2'] = exchangeView(second);
  expect(second.applied).toEqual(['tcCred']);
  // The gateway holds the certificate the operator was told about.
  expect(new X509Certificate(await readFile(join(m.home, 'tc.crt'))).fingerprint256.replaceAll(':', '').toLowerCase()).toBe(cert.fingerprint);

  // The next exchange tells the server which credential the gateway now holds.
  const reported = await m.station.exchange();
  seen['exchange 2 reported'] = exchangeView(reported);
  expect(reported.nothingToChange).toBe(true);
  // Revoking the credential the gateway reports would lock it out: refused.
  const revoke = await step(m, 'revoke', ['station', 'revoke', EUI, '--fingerprint', cert.fingerprint]);
  expect(revoke).toMatchObject({ code: EXIT_CODE.conflict, json: { error: { code: 'credential_in_use', kind: 'conflict' } } });

  // A signed update to this station: signed on the operator's side, verified over the stored bytes by the server.
  const upgrade = await step(m, 'upgrade', ['firmware', 'upgrade', '--station', EUI, '--package', '1.0.1', '--file', join(work, 'update-1.0.1.sh'), '--sign-with', sigKey.pem]);
  expect(upgrade).toMatchObject({ code: 0, json: { package: '1.0.1', uploaded: true, keyCrcs: [sigKey.crc], stations: [EUI] } });
  const offered = await m.station.exchange();
  seen['exchange 3'] = exchangeView(offered);
  expect(offered.update).toMatchObject({ outcome: 'verified', ran: true, exitCode: 0 });
  expect((await readFile(join(m.home, 'version.txt'), 'utf8')).trim()).toBe('1.0.1');
  seen['exchange 4'] = exchangeView(await m.station.exchange());
  const upgraded = await step(m, 'status upgraded', ['firmware', 'status', '--station', EUI]);
  expect(upgraded.json).toMatchObject([{ eui: EUI, firmware: { state: 'upgraded', offers: 1 } }]);

  // An update that fails on the gateway, marked failed after its one offer, then retried.
  await step(m, 'upgrade failing', ['firmware', 'upgrade', '--station', EUI, '--package', '1.0.2', '--file', join(work, 'update-1.0.2.sh'), '--sign-with', sigKey.pem, '--max-offers', '1']);
  const failedRun = await m.station.exchange();
  seen['exchange 5'] = exchangeView(failedRun);
  expect(failedRun.update).toMatchObject({ ran: true, exitCode: 3 });
  seen['exchange 6'] = exchangeView(await m.station.exchange());
  const failed = await step(m, 'status failed', ['firmware', 'status', '--station', EUI]);
  expect(failed.json).toMatchObject([{ firmware: { state: 'failed', package: '1.0.2' } }]);
  const retried = await step(m, 'retry', ['firmware', 'retry', EUI]);
  expect(retried).toEqual({ code: 0, json: { retried: [EUI] } });
  const shown = await step(m, 'show', ['station', 'show', EUI]);
  expect(shown.json).toMatchObject({ firmware: { state: 'pending', offers: 0, package: '1.0.2' }, inSync: false });
  seen['exchange 7'] = exchangeView(await m.station.exchange());

  await step(m, 'list', ['station', 'list']);
  await step(m, 'list filtered', ['station', 'list', '--label', 'site=north', '--state', 'offered,pending-firmware', '--limit', '5']);
  await step(m, 'status', ['status']);
  await step(m, 'auth', ['station', 'auth', EUI]);
  await step(m, 'unknown', ['station', 'unknown']);
  await step(m, 'not found', ['station', 'show', '00000000000000FF']);
  await step(m, 'bad label', ['station', 'set', EUI, '--label', 'bad key=1']);

  // Bulk provisioning: a dry run, the import (a bad row reported with its line and field, exit code 2), the
  // same file again (nothing changes), and an export that imports back unchanged.
  const csv = join(work, 'gateways.csv');
  const exported = join(work, m.name, 'stations.jsonl');
  m.random.set(exported, '<export file>');
  await both(m, 'import dry run', ['station', 'import', csv, '--dry-run']);
  const imported = await both(m, 'import', ['station', 'import', csv, '--batch-size', '2']);
  expect(imported.code).toBe(EXIT_CODE.invalid_argument);
  expect(imported.stdout).toMatchObject({ dryRun: false, complete: true, counts: { rows: 4, create: 3, error: 1 } });
  expect((imported.stdout as { rows: unknown[] }).rows[2]).toMatchObject({ row: 3, line: 4, action: 'error', errors: [{ field: 'labels', code: 'invalid_label' }] });
  expect(imported.stderr).toMatchObject({ error: { code: 'import_rows_rejected', kind: 'invalid_argument' } });
  const again = await both(m, 'import again', ['station', 'import', csv]);
  expect(again.stdout).toMatchObject({ counts: { unchanged: 3, error: 1 } });
  await both(m, 'import json array from stdin', ['station', 'import', '--format', 'json', '-'], JSON.stringify([{ eui: '0016C001FF10B004', labels: { site: 'south' } }]));
  expect(await step(m, 'export', ['station', 'export', '--format', 'jsonl', '-o', exported])).toMatchObject({ code: 0, json: { stations: 5, format: 'jsonl' } });
  const back = await both(m, 'export imported back', ['station', 'import', exported]);
  expect(back).toMatchObject({ code: 0, stdout: { counts: { rows: 5, unchanged: 5 } } });
  seen['human import'] = await human(m, ['station', 'import', csv, '--dry-run']);
  seen['human export'] = await human(m, ['station', 'export']);
  expect((seen['human export'] as { stdout: string }).stdout.split('\r\n')).toHaveLength(7);
  for (const args of [['station', 'list'], ['station', 'show', EUI], ['status'], ['firmware', 'status'], ['station', 'auth', EUI]]) {
    seen[`human ${args.join(' ')}`] = await human(m, args);
  }
  return seen;
}

describe('the CLI locally and through --server gives the same results', () => {
  it('register, credentials, firmware upgrade to a station, retry, revoke refusal, list/show/status: identical JSON, output and exit codes; each gateway receives what was set', async () => {
    const local = await scenario(modes.local);
    const remote = await scenario(modes.remote);
    expect(steps.remote.map(([name]) => name)).toEqual(steps.local.map(([name]) => name));
    for (const [i, [name, result]] of steps.remote.entries()) expect(result, name).toEqual(steps.local[i]?.[1]);
    expect(remote).toEqual(local);
    // The remote CLI worked through the API alone: nothing was written where it ran.
    expect(await readdir(modes.remote.cwd)).toEqual([]);
  }, 600_000);

  it('records remote changes in the audit log under the API key, local ones as local:<user>', async () => {
    type Entry = { action: string; actor: string; via: string; target: string | null; detail: unknown };
    // Changes to the station name it as their target; an upgrade names its package, with the stations in its detail.
    const entries = async (m: Mode) => [
      ...(await bscupsJson<Entry[]>(['audit', '--target', EUI, '--limit', '100'], m.env)),
      ...(await bscupsJson<Entry[]>(['audit', '--action', 'firmware.upgrade', '--limit', '100'], m.env)),
    ];
    const remote = await entries(modes.remote);
    const local = await entries(modes.local);
    const actions = (list: Entry[]) => list.map((e) => e.action).sort();
    expect(actions(remote)).toEqual(actions(local));
    expect(actions(remote)).toEqual(expect.arrayContaining(['station.create', 'credential.set', 'credential.issue_cert', 'firmware.upgrade', 'firmware.retry']));
    for (const upgrade of remote.filter((e) => e.action === 'firmware.upgrade')) expect(upgrade.detail).toMatchObject({ stations: [EUI] });
    expect(new Set(remote.map((e) => `${e.actor} ${e.via}`))).toEqual(new Set(['first-admin api']));
    expect(new Set(local.map((e) => e.via))).toEqual(new Set(['cli']));
    expect(JSON.stringify(remote)).not.toContain('tctok');
  }, 60_000);

  it('refuses a change with a viewer key with the exit code of a permission error, and lets it read', async () => {
    const m = modes.remote;
    const created = await bscupsJson<{ secret: string; role: string }>(['apikey', 'create', '--name', 'auditor', '--role', 'viewer'], m.env);
    expect(created.role).toBe('viewer');
    const viewer = { ...m.env, BSCUPS_API_KEY: created.secret };
    const refused = await bscupsInProcess(['--json', 'station', 'set', EUI, '--name', 'attic'], viewer, m.cwd);
    expect(refused.code).toBe(EXIT_CODE.permission_denied);
    expect(JSON.parse(refused.stderr)).toMatchObject({ error: { code: 'role_required', kind: 'permission_denied' } });
    const upload = await bscupsInProcess(['--json', 'firmware', 'upload', '--package', '9.9.9', '--file', join(work, 'update-1.0.1.sh'), '--sign-with', sigKey.pem], viewer, m.cwd);
    expect(upload.code).toBe(EXIT_CODE.permission_denied);
    const read = await bscupsInProcess(['--json', 'station', 'show', EUI], viewer, m.cwd);
    expect(read.code).toBe(0);
    expect((JSON.parse(read.stdout) as { name: string }).name).toBe('roof');
    const wrongKey = await bscupsInProcess(['--json', 'station', 'list'], { ...m.env, BSCUPS_API_KEY: 'bsk_0000000000000000.nope' }, m.cwd);
    expect(wrongKey.code).toBe(EXIT_CODE.unauthenticated);
  }, 60_000);

  it('says clearly when --server is wrong: nothing listening, not the admin API, not a URL', async () => {
    const closed = await new Promise<number>((resolve) => {
      const s = createServer().listen(0, '127.0.0.1', () => {
        const { port } = s.address() as { port: number };
        s.close(() => resolve(port));
      });
    });
    const key = { BSCUPS_API_KEY: modes.remote.adminKey };
    const nobody = await runCli(['--json', '--server', `http://127.0.0.1:${closed}`, 'station', 'list'], key, modes.remote.cwd);
    expect(nobody.code).toBe(EXIT_CODE.unavailable);
    const error = (JSON.parse(nobody.stderr) as { error: { code: string; kind: string; message: string } }).error;
    expect(error).toMatchObject({ code: 'server_unreachable', kind: 'unavailable' });
    expect(error.message).toContain(`http://127.0.0.1:${closed}`);
    expect(error.message).toContain('ECONNREFUSED');

    const stationPort = await bscupsInProcess(['--server', modes.remote.serve.url, 'station', 'list'], key, modes.remote.cwd);
    expect(stationPort.code).toBe(EXIT_CODE.unavailable);
    expect(stationPort.stderr).toMatch(/not the bscups admin API.*\(unexpected_response\)/);

    const notUrl = await bscupsInProcess(['--server', 'cups.example.com', 'station', 'list'], key, modes.remote.cwd);
    expect(notUrl.code).toBe(EXIT_CODE.invalid_argument);
    expect(notUrl.stderr).toContain('invalid_server');

    const noKey = await bscupsInProcess(['--server', modes.remote.admin, 'station', 'list'], { BSCUPS_API_KEY: '' }, modes.remote.cwd);
    expect(noKey.code).toBe(EXIT_CODE.unauthenticated);
    expect(noKey.stderr).toContain('api_key_required');
  }, 60_000);

  it('refuses the commands that work on the server host itself, and runs local file work without a server', async () => {
    const m = modes.remote;
    const init = await bscupsInProcess(['--json', 'pki', 'init', '--dir', join(work, 'elsewhere')], m.env, m.cwd);
    expect(init.code).toBe(EXIT_CODE.invalid_argument);
    expect(JSON.parse(init.stderr)).toMatchObject({ error: { code: 'not_supported' } });
    const issue = await bscupsInProcess(['--json', 'station', 'issue-token', EUI, '--pki-dir', join(work, 'local', 'pki')], m.env, m.cwd);
    expect(JSON.parse(issue.stderr)).toMatchObject({ error: { code: 'local_only_option' } });
    const crc = await bscupsInProcess(['--json', 'keys', 'crc', sigKey.key], m.env, m.cwd);
    expect(crc.code).toBe(0);
    expect(JSON.parse(crc.stdout)).toMatchObject({ crc: sigKey.crc });
  }, 60_000);
});
