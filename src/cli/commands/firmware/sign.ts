import { createReadStream } from 'node:fs';
import { writeFile, rename } from 'node:fs/promises';
import type { Command } from 'commander';
import { keyCrc, loadPrivateKey, sigKeyFromPublicKey, signStream } from '../../../signing/index.js';
import { commandContext } from '../../context.js';
import { readFileArg } from '../../read-file-arg.js';
import { statFile } from './firmware-file.js';
import { formatCrc } from '../../../core/crc-format.js';

export function register(parent: Command): void {
  parent
    .command('sign')
    .description('sign an update file: DER ECDSA P-256 over SHA-512, the same as "openssl dgst -sha512 -sign sig-N.pem FILE"')
    .argument('<file>', 'the update file')
    .requiredOption('--key <pem>', 'private signing key (sig-N.pem)')
    .option('--out <file>', 'where to write the signature (default FILE.sig)')
    .action(async (path: string, opts: { key: string; out?: string }, cmd: Command) => {
      const { out } = commandContext(cmd);
      await statFile(path);
      const key = loadPrivateKey(await readFileArg(opts.key, '--key'));
      const signature = await signStream(createReadStream(path), key);
      const target = opts.out ?? `${path}.sig`;
      const tmp = `${target}.tmp-${process.pid}`;
      await writeFile(tmp, signature);
      await rename(tmp, target);
      const crc = keyCrc(sigKeyFromPublicKey(key));
      out.result({ file: path, signature: target, keyCrc: crc, bytes: signature.length }, () =>
        out.line(`wrote ${target} (${signature.length} bytes); key CRC ${formatCrc(crc)}`),
      );
    });
}
