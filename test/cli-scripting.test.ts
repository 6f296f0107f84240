import { once } from 'node:events';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Command } from 'commander';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildProgram } from '../src/cli/main.js';
import { allCommands, commandPath, EXAMPLES } from '../src/cli/examples.js';
import { createRegistry } from '../src/registry/index.js';
import { runCli, spawnCli } from './support/cli.js';

let dir: string;
let env: Record<string, string>;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'bscups-scripting-'));
  env = { BSCUPS_DATABASE: join(dir, 'registry.sqlite'), BSCUPS_BLOBS: join(dir, 'blobs') };
});
afterAll(async () => rm(dir, { recursive: true, force: true }));

interface JsonError {
  error: { code: string; kind: string; message: string };
}

function jsonError(stderr: string): JsonError {
  expect(stderr.trim().split('\n')).toHaveLength(1);
  return JSON.parse(stderr) as JsonError;
}

describe('with --json, errors are JSON on stderr with the usual exit codes', () => {
  it('a project error: code, kind and message, exit code by kind', async () => {
    const r = await runCli(['--json', 'station', 'show', '0016C001FF10A235'], env);
    expect(r.code).toBe(3);
    expect(r.stdout).toBe('');
    expect(jsonError(r.stderr)).toEqual({ error: { code: 'station_not_found', kind: 'not_found', message: expect.stringContaining('0016C001FF10A235') } });
    const human = await runCli(['station', 'show', '0016C001FF10A235'], env);
    expect(human.code).toBe(3);
    expect(human.stderr).toMatch(/^error: .*\(station_not_found\)\n$/);
  });

  it('a usage error from the argument parser, given --json after the subcommand', async () => {
    const r = await runCli(['station', 'add', '--json'], env);
    expect(r.code).toBe(2);
    expect(jsonError(r.stderr).error).toMatchObject({ code: 'missing_argument', kind: 'invalid_argument', message: expect.stringContaining("'eui'") });
    const unknown = await runCli(['--json', 'station', 'launch'], env);
    expect(unknown.code).toBe(2);
    expect(jsonError(unknown.stderr).error).toMatchObject({ code: 'unknown_command', kind: 'invalid_argument' });
    const group = await runCli(['--json', 'station'], env);
    expect(group.code).toBe(2);
    expect(jsonError(group.stderr).error).toMatchObject({ code: 'missing_command', kind: 'invalid_argument' });
  });
});

describe('version and help', () => {
  it('bscups --version prints the package version', async () => {
    const pkg = JSON.parse(await readFile(new URL('../package.json', import.meta.url), 'utf8')) as { version: string };
    const r = await runCli(['--version']);
    expect(r.code).toBe(0);
    expect(r.stdout.trim()).toBe(pkg.version);
  });

  it('a subcommand help lists the global flags and ends with examples', async () => {
    const r = await runCli(['station', 'add', '--help']);
    expect(r.code).toBe(0);
    const global = r.stdout.slice(r.stdout.indexOf('Global Options:'));
    for (const flag of ['--json', '--database <url>', '--blobs <location>']) expect(global).toContain(flag);
    expect(r.stdout).toMatch(/\nExamples:\n( {2}bscups station add .+\n){1,2}$/);
  });

  it('every command, group and the program itself ends its help with one or two examples', () => {
    const program = buildProgram();
    const missing: string[] = [];
    for (const cmd of allCommands(program)) {
      const help = helpOf(cmd);
      const examples = /\nExamples:\n((?: {2}bscups.*\n)+)$/.exec(help);
      const count = examples?.[1]?.trimEnd().split('\n').length ?? 0;
      if (count < 1 || count > 2) missing.push(`"${commandPath(cmd) || 'bscups'}" (${count} examples)`);
    }
    expect(missing, 'add examples in src/cli/examples.ts').toEqual([]);
  });
});

describe('the examples in help', () => {
  it('every example parses against the real command definitions (options, arguments, required flags)', async () => {
    const examples = Object.entries(EXAMPLES).flatMap(([path, lines]) => lines.map((line) => ({ path, line })));
    expect(examples.length).toBeGreaterThan(30);
    for (const { path, line } of examples) {
      const program = buildProgram();
      program.configureOutput({ writeErr: () => undefined, writeOut: () => undefined });
      let ran = '';
      // Every action replaced: parsing checks the example without running it.
      for (const cmd of allCommands(program)) {
        cmd.configureOutput({ writeErr: () => undefined, writeOut: () => undefined });
        if (cmd.commands.length === 0) cmd.action((...args: unknown[]) => void (ran = commandPath(args.at(-1) as Command)));
      }
      const words = shellWords(line);
      expect(words[0], line).toBe('bscups');
      await expect(program.parseAsync(words.slice(1), { from: 'user' }), line).resolves.toBeDefined();
      const leaf = allCommands(program).find((c) => commandPath(c) === path && c.commands.length === 0);
      if (leaf !== undefined) expect(ran, line).toBe(path);
    }
  });
});

/** Splits a one-line shell command: single and double quotes, and a trailing # comment. */
function shellWords(line: string): string[] {
  const words: string[] = [];
  const re = /"([^"]*)"|'([^']*)'|(#.*$)|(\S+)/g;
  for (let m = re.exec(line); m !== null; m = re.exec(line)) {
    if (m[3] !== undefined) break;
    words.push(m[1] ?? m[2] ?? m[4] ?? '');
  }
  return words;
}

function helpOf(cmd: Command): string {
  let text = '';
  cmd.configureOutput({ writeOut: (s) => (text += s) });
  cmd.outputHelp();
  return text;
}

describe('a reader that stops early (bscups ... | head -1)', () => {
  it('the CLI drops the rest of its output quietly and exits 0', async () => {
    const registry = await createRegistry(env.BSCUPS_DATABASE ?? '');
    await registry.migrate();
    for (let i = 0; i < 100; i++) {
      await registry.createStation({ eui: `0016C001FF${i.toString(16).padStart(6, '0').toUpperCase()}`, name: `station-${i}` });
    }
    await registry.close();

    // The reader is gone before the CLI has opened its registry, so its first write meets a closed pipe.
    const child = spawnCli(['station', 'list'], env);
    child.stdout.destroy();
    let stderr = '';
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    const [code] = (await once(child, 'exit')) as [number | null];
    expect(stderr).not.toMatch(/EPIPE|Error|error/);
    expect(code).toBe(0);
  });
});
