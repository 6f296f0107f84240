import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

// The core decides over the model and names the ports; the drivers implement
// them. An import from a driver or an edge back into the core turns that arrow
// around, so it is refused here rather than found in review.

const SRC = resolve(dirname(fileURLToPath(import.meta.url)), '..', 'src');
const CORE = join(SRC, 'core');
const FORBIDDEN = ['registry', 'http', 'cli', 'blobs', 'operations', 'web'];

/** Every module specifier in a source text: static imports and re-exports, dynamic import(). */
function specifiers(text: string): string[] {
  const forms = [
    /\b(?:import|export)\b[^'"`;]*?\bfrom\s*['"]([^'"]+)['"]/g,
    /\bimport\s*['"]([^'"]+)['"]/g,
    /\bimport\s*\(\s*['"]([^'"]+)['"]\s*\)/g,
  ];
  return forms
    .flatMap((form) => [...text.matchAll(form)].map((m) => ({ at: m.index, specifier: m[1]! })))
    .sort((a, b) => a.at - b.at)
    .map((m) => m.specifier);
}

/** The src/ folder a relative specifier of `file` lands in, or null for packages and node: modules. */
function targetFolder(file: string, specifier: string): string | null {
  if (!specifier.startsWith('.')) return null;
  const rel = relative(SRC, resolve(dirname(file), specifier));
  // Test files beside the code may reach test/support; that is not a src folder.
  return rel.startsWith('..') ? null : (rel.split(sep)[0] ?? null);
}

function violations(file: string, text: string): string[] {
  return specifiers(text)
    .filter((s) => {
      const folder = targetFolder(file, s);
      return folder !== null && FORBIDDEN.includes(folder);
    })
    .map((s) => `${relative(SRC, file)} imports ${s}`);
}

function tsFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? tsFiles(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : [],
  );
}

describe('src/core imports', () => {
  it('the scanner finds every form of a forbidden import', () => {
    const file = join(CORE, 'x.ts');
    const text = [
      "import type { Station } from '../registry/types.js';",
      "import {\n  a,\n  b,\n} from '../http/app.js';",
      "export * from '../cli/main.js';",
      "import '../blobs/index.js';",
      "const m = await import('../operations/stations.js');",
      "import { ok } from './model.js';",
      "import semver from 'semver';",
      "import { parseEui } from '../protocol/index.js';",
    ].join('\n');
    expect(violations(file, text)).toEqual([
      'core/x.ts imports ../registry/types.js',
      'core/x.ts imports ../http/app.js',
      'core/x.ts imports ../cli/main.js',
      'core/x.ts imports ../blobs/index.js',
      'core/x.ts imports ../operations/stations.js',
    ]);
  });

  it('no module in src/core imports from registry, http, cli, blobs, operations or web', () => {
    const files = tsFiles(CORE);
    expect(files.length).toBeGreaterThan(5);
    const found = files.flatMap((f) => violations(f, readFileSync(f, 'utf8')));
    expect(found).toEqual([]);
  });
});
