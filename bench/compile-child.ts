import { mkdir, mkdtemp, readdir, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
/** The bench files the server child needs besides src/. */
const CHILD_FILES = ['bench/server-child.ts', 'bench/cups-config.ts', 'bench/server-spec.ts'];

/** The server child as plain JavaScript, and how to remove it. */
export interface CompiledChild {
  /** Path of the child's entry point, runnable with plain `node`. */
  readonly entry: string;
  dispose(): Promise<void>;
}

/**
 * Transpiles src/ and the server child into a temp folder so servers run under
 * plain `node`, as a deployment runs `dist/`: a tsx loader in the server would
 * add its hooks thread (~50 MB RSS) to the memory being measured. Type checking
 * is `npm run typecheck`'s job; this only strips types. The folder gets a
 * package.json (ESM) and a node_modules link so imports resolve as in the repo.
 */
export async function compileServerChild(): Promise<CompiledChild> {
  const out = await mkdtemp(join(tmpdir(), 'bscups-bench-js-'));
  try {
    const files = [...(await sourceFiles(join(ROOT, 'src'))), ...CHILD_FILES.map((f) => join(ROOT, f))];
    for (const file of files) {
      const { outputText } = ts.transpileModule(await readFile(file, 'utf8'), {
        fileName: file,
        compilerOptions: { module: ts.ModuleKind.ES2022, target: ts.ScriptTarget.ES2022, verbatimModuleSyntax: true, sourceMap: false },
      });
      const target = join(out, relative(ROOT, file)).replace(/\.ts$/, '.js');
      await mkdir(dirname(target), { recursive: true });
      await writeFile(target, outputText);
    }
    await writeFile(join(out, 'package.json'), '{ "type": "module" }\n');
    await symlink(join(ROOT, 'node_modules'), join(out, 'node_modules'), 'dir');
    return { entry: join(out, 'bench', 'server-child.js'), dispose: () => rm(out, { recursive: true, force: true }) };
  } catch (e) {
    await rm(out, { recursive: true, force: true });
    throw e;
  }
}

async function sourceFiles(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true, recursive: true });
  return entries
    .filter((e) => e.isFile() && e.name.endsWith('.ts') && !e.name.endsWith('.test.ts') && !e.name.endsWith('.d.ts'))
    .map((e) => join(e.parentPath, e.name));
}
