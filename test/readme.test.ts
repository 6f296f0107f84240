import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { main } from '../src/cli/main.js';
import { certificateFingerprint } from '../src/pki/index.js';
import { cliEntryArgs } from './support/cli-entry.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const sh = promisify(execFile);

/** Lines of the README's ```sh blocks, in order, without blank and comment-only lines. */
function readmeCommands(text: string): string[] {
  const lines: string[] = [];
  for (const block of text.matchAll(/^```sh\n([\s\S]*?)^```$/gm)) {
    for (const line of (block[1] as string).split('\n')) if (line.trim() !== '' && !line.trim().startsWith('#')) lines.push(line.trim());
  }
  return lines;
}

/** The words of a command line as sh splits them (quotes, comments), from a real shell. */
async function words(line: string): Promise<string[]> {
  const { stdout } = await sh('sh', ['-c', `set -- ${line}\nprintf '%s\\0' "$@"`]);
  return stdout.split('\0').slice(0, -1);
}

/** What the line's trailing comment promises; "refused…" means the command must fail with a conflict (exit 4). */
function promisesRefusal(line: string): boolean {
  return /\s#\s*refused\b/.test(line);
}

interface Server {
  readonly url: string;
  readonly child: ChildProcess;
  /** What it logged so far (warnings and up). */
  readonly log: () => string;
}

/** `bscups serve …` as a real process in the scratch folder, on a free loopback port. */
async function startServer(args: readonly string[], cwd: string): Promise<Server> {
  const child = spawn(process.execPath, [...cliEntryArgs(), '--json', ...args, '--port', '0', '--admin-port', '0'], {
    cwd,
    env: { ...cleanEnv(), BSCUPS_LOG_LEVEL: 'warn' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  let logged = '';
  child.stderr?.on('data', (c: Buffer) => (stderr += c.toString()));
  const url = await new Promise<string>((resolve, reject) => {
    createInterface({ input: child.stdout! }).on('line', (line) => {
      logged += `${line}\n`;
      const listening = /"listening":"([^"]+)"/.exec(line)?.[1];
      if (listening !== undefined) resolve(listening);
    });
    child.once('exit', (code) => reject(new Error(`bscups ${args.join(' ')} exited ${code}: ${stderr}`)));
  });
  return { url, child, log: () => logged + stderr };
}

/** The environment without BSCUPS_ settings, so the README's defaults (./data/…) apply. */
function cleanEnv(): NodeJS.ProcessEnv {
  return Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('BSCUPS_')));
}

/** Runs the real CLI entry point in this process, in `cwd`, capturing what it prints. */
async function bscups(argv: readonly string[], cwd: string): Promise<{ code: number; stdout: string; stderr: string }> {
  const saved = { cwd: process.cwd(), env: process.env, out: process.stdout.write, err: process.stderr.write };
  let stdout = '';
  let stderr = '';
  process.stdout.write = ((chunk: string | Uint8Array) => ((stdout += chunk.toString()), true)) as typeof process.stdout.write;
  process.stderr.write = ((chunk: string | Uint8Array) => ((stderr += chunk.toString()), true)) as typeof process.stderr.write;
  process.env = { ...cleanEnv(), BSCUPS_LOG_LEVEL: 'silent' };
  process.chdir(cwd);
  try {
    return { code: await main(argv), stdout, stderr };
  } finally {
    process.chdir(saved.cwd);
    process.env = saved.env;
    process.stdout.write = saved.out;
    process.stderr.write = saved.err;
  }
}

const servers: Server[] = [];
let scratch = '';

afterAll(async () => {
  for (const s of servers) {
    s.child.kill('SIGTERM');
    if (s.child.exitCode === null) await once(s.child, 'exit');
  }
  if (scratch !== '') await rm(scratch, { recursive: true, force: true });
});

describe('README.md, run in order as written', () => {
  it('every ```sh command works against a scratch data folder, with the simulator as the gateway', async () => {
    scratch = await mkdtemp(join(tmpdir(), 'bscups-readme-'));
    // The station home folders the README names exist on a gateway; here they are folders in the scratch space.
    const homes: Record<string, string> = { '/path/to/station2': join(scratch, 'station2'), '/path/to/station': join(scratch, 'station'), '/tmp/st1': join(scratch, 'st1') };
    for (const dir of Object.values(homes)) await mkdir(dir, { recursive: true });
    const pkg = JSON.parse(await readFile(join(ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> };

    const lines = readmeCommands(await readFile(join(ROOT, 'README.md'), 'utf8'));
    expect(lines.length).toBeGreaterThan(15);
    let quickstart: Server | undefined;
    let tls: Server | undefined;
    const skipped: string[] = [];
    const ran: string[] = [];
    for (const original of lines) {
      let line = original;
      for (const [from, to] of Object.entries(homes)) line = line.split(from).join(to);
      // Addresses the README uses for the server become the servers this test started (on free loopback ports).
      line = line.replace(/http:\/\/[\w.-]+:6090/g, () => quickstart?.url ?? 'http://127.0.0.1:6090');
      line = line.replace(/https:\/\/[\w.-]+:6090/g, () => tls?.url ?? 'https://127.0.0.1:6090');
      if (line.includes('<sha256>')) {
        // The certificate `issue-cert --out` wrote to the station.
        line = line.replace('<sha256>', certificateFingerprint(await readFile(join(homes['/path/to/station'] as string, 'cups.crt'))));
      }
      const context = `README line: ${original}`;

      if (/^npm ci && npm test\b/.test(line)) {
        skipped.push(original); // the suite this test belongs to
        continue;
      }
      if (/^npm ci && npm start\b/.test(line)) {
        // npm start builds, then runs its start script; the same command through the source here.
        const start = (pkg.scripts.start as string).replace(/^node dist\/cli\/bin\.js /, '');
        quickstart = await startServer(start.split(' '), scratch);
        servers.push(quickstart);
        ran.push(original);
        continue;
      }
      const argv = line.startsWith('bscups ') ? (await words(line)).slice(1) : undefined;
      if (argv?.[0] === 'serve') {
        tls = await startServer(argv.map((a) => (a === '0.0.0.0' ? '127.0.0.1' : a)), scratch);
        expect(tls.url, context).toMatch(/^https:/);
        // The stations tried on the quickstart are in auth mode none: the TLS server says they will be refused, and what to do.
        expect(tls.log(), context).toMatch(/1 station\(s\) in auth mode none will be refused.*bscups station issue-cert EUI --out DIR/);
        servers.push(tls);
        ran.push(original);
        continue;
      }
      if (argv !== undefined) {
        const r = await bscups(argv, scratch);
        if (promisesRefusal(original)) {
          expect({ code: r.code, stderr: r.stderr }, context).toMatchObject({ code: 4 });
        } else {
          expect({ code: r.code, stderr: r.stderr }, context).toMatchObject({ code: 0, stderr: expect.not.stringContaining('error') });
        }
      } else {
        await sh('sh', ['-c', line], { cwd: scratch }).catch((e: unknown) => {
          throw new Error(`${context}\n${String(e)}`);
        });
      }
      ran.push(original);
    }
    expect(skipped).toEqual(['npm ci && npm test      # installs and runs the whole test suite']);
    expect(ran.length + skipped.length).toBe(lines.length);

    // What the README says happened, did: the token station moved to token auth, the gateway ran the update.
    const auth = await bscups(['--json', 'station', 'auth', '0016C001FF10A236'], scratch);
    expect(JSON.parse(auth.stdout)).toMatchObject({ mode: 'token' });
    const status = await bscups(['--json', 'firmware', 'status'], scratch);
    expect(JSON.parse(status.stdout)).toEqual([expect.objectContaining({ eui: '0016C001FF10A235', reportedPackage: '1.0.1', firmware: expect.objectContaining({ state: 'upgraded' }) })]);
  });
});
