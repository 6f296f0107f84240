import type { Command } from 'commander';

/**
 * One or two examples per command, keyed by the command path without "bscups".
 * Kept in one table so every command's help ends the same way and a test can
 * check that a new command brings its examples.
 */
export const EXAMPLES: Readonly<Record<string, readonly string[]>> = {
  '': ['bscups station list', 'bscups --json --database postgres://cups@db/cups station show 0016C001FF10A235'],
  serve: [
    'bscups serve --allow-unauthenticated                 # local quickstart on http://127.0.0.1:6090',
    'bscups serve --host 0.0.0.0 --tls-cert data/pki/server.pem --tls-key data/pki/server.key --client-ca data/pki/ca.pem --rollouts-need-approval --max-concurrent-downloads 50',
  ],
  station: ['bscups station add 0016C001FF10A235 --name roof-1', 'bscups station list --label site=north'],
  'station add': ['bscups station add 0016C001FF10A235 --name roof-1 --label site=north', 'bscups station add 16:c001:ff10:a235 --tc-uri wss://lns.example.com:6887'],
  'station list': ['bscups station list --label site=north --label tier!=gold --state pending-config,failed', 'bscups station list --compliance behind --model linux --sort lastSeen --limit 100'],
  status: ['bscups status', 'bscups --json status --silent-after 48h'],
  apikey: ['bscups apikey create --name grafana --role viewer', 'bscups apikey list'],
  'apikey create': ['bscups apikey create --name alice --role operator --expires 90d'],
  'apikey list': ['bscups apikey list', 'bscups --json apikey list'],
  'apikey revoke': ['bscups apikey revoke 8f10bc8ea1136dab'],
  webhook: ['bscups webhook add --url https://hooks.example.com/bscups --events all --secret "$WEBHOOK_SECRET"', 'bscups webhook deliveries --failed'],
  'webhook add': ['bscups webhook add --url https://hooks.slack.com/services/T000/B000/XXXX --events station.health_changed,rollout.halted --format slack'],
  'webhook list': ['bscups webhook list', 'bscups --json webhook list'],
  'webhook remove': ['bscups webhook remove 3'],
  'webhook test': ['bscups webhook test 3'],
  'webhook deliveries': ['bscups webhook deliveries --failed', 'bscups webhook deliveries --webhook 3'],
  audit: ['bscups audit --limit 20', 'bscups audit --action station.update --since 2026-11-01T00:00:00Z'],
  'station show': ['bscups station show 0016C001FF10A235', 'bscups station show 0016C001FF10A235 --events 50'],
  'station set': ['bscups station set 0016C001FF10A235 --tc-uri wss://lns2.example.com:6887 --revert-unhealthy', 'bscups station set 0016C001FF10A235 --label site= --name ""'],
  'station credentials': [
    'bscups station credentials 0016C001FF10A235 --tc --trust lns-ca.pem --token "Authorization: Bearer s3cr3t"',
    'bscups station credentials 0016C001FF10A235 --cups --trust ca.pem --cert station.crt --key station.key',
  ],
  'station auth': ['bscups station auth 0016C001FF10A235', 'bscups station auth 0016C001FF10A235 --mode token'],
  'station issue-cert': ['bscups station issue-cert 0016C001FF10A235 --out /path/to/station', 'bscups station issue-cert 0016C001FF10A235 --for both'],
  'station issue-token': ['bscups station issue-token 0016C001FF10A236 --out /path/to/station2', 'bscups --json station issue-token 0016C001FF10A236'],
  'station rotate': ['bscups station rotate 0016C001FF10A235', 'bscups station rotate 0016C001FF10A235 --for tc --tc-trust lns-ca.pem'],
  'station revoke': ['bscups station revoke 0016C001FF10A235 --fingerprint <sha256>', 'bscups station revoke 0016C001FF10A235 --token-id <id> --force'],
  'station remove': ['bscups station remove 0016C001FF10A235'],
  'station unknown': ['bscups station unknown', 'bscups --json station unknown'],
  'station import': ['bscups station import gateways.csv --dry-run     # what each row would change', 'bscups --json station import --format jsonl -     # the file on stdin'],
  'station export': ['bscups station export -o stations.csv', 'bscups --server https://cups.example.com:6091 station export --format jsonl -o stations.jsonl'],
  pki: ['bscups pki init --server-name cups.example.com'],
  'pki init': ['bscups pki init --server-name cups.example.com --server-name 192.0.2.10', 'bscups pki init --force --server-name cups2.example.com   # new server certificate, same CA'],
  keys: ['bscups keys generate --out keys', 'bscups keys add keys/sig-0.key --name prod'],
  'keys generate': ['bscups keys generate --out keys', 'bscups keys generate --out keys --index 1'],
  'keys crc': ['bscups keys crc keys/sig-0.key', 'bscups keys crc keys/sig-0.pem'],
  'keys add': ['bscups keys add keys/sig-0.key --name prod'],
  'keys list': ['bscups keys list', 'bscups --json keys list'],
  'keys remove': ['bscups keys remove 3157685580'],
  firmware: ['bscups firmware upgrade --station 0016C001FF10A235 --package 1.0.1 --file update.sh --sign-with keys/sig-0.pem', 'bscups firmware status'],
  blobs: ['bscups blobs gc', 'bscups blobs gc --delete'],
  'blobs gc': ['bscups blobs gc                     # lists, deletes nothing', 'bscups blobs gc --delete --min-age 1d'],
  'firmware sign': ['bscups firmware sign update.sh --key keys/sig-0.pem   # writes update.sh.sig'],
  'firmware upgrade': [
    'bscups firmware upgrade --station 0016C001FF10A235 --package 1.0.1 --file update.sh --sign-with keys/sig-0.pem',
    'bscups firmware upgrade --label site=north --package 1.4.0   # a package from the firmware library',
  ],
  'firmware status': ['bscups firmware status', 'bscups firmware status --station 0016C001FF10A235'],
  'firmware retry': ['bscups firmware retry 0016C001FF10A235'],
  'firmware upload': [
    'bscups firmware upload --package 1.4.0 --file update.bin --sign-with keys/sig-0.pem --model linux',
    'bscups firmware upload --package 1.4.0 --file update.bin --signature update.bin.sig --key-crc 3157685580',
  ],
  'firmware list': ['bscups firmware list', 'bscups --json firmware list'],
  'firmware show': ['bscups firmware show 1.4.0'],
  'firmware remove': ['bscups firmware remove 1.3.0'],
  rollout: ['bscups rollout create --firmware 1.4.0 --model linux --label region=eu --waves 1,5%,25%,100% --failure-budget 2%', 'bscups rollout list'],
  'rollout create': [
    'bscups rollout create --firmware 1.4.0 --model linux --package 2.0.5 --label region=eu --waves 1,5%,25%,100% --failure-budget 2% --health-soak 30m --revert-unhealthy --require-approval --max-offers-per-minute 20',
    'bscups rollout create --tc-uri wss://lns2.example.com:6887 --label site=north --waves 10,100% --soak 1h --start-at 2h --window "Mon-Fri 01:00-05:00 Europe/Berlin" --pause-after-wave',
  ],
  'rollout list': ['bscups rollout list', 'bscups rollout list --state running --state halted'],
  'rollout members': ['bscups rollout members r1a2b3c4d --state failed', 'bscups rollout members r1a2b3c4d --wave 2 --json'],
  'rollout show': ['bscups rollout show r1a2b3c4d', 'bscups rollout show r1a2b3c4d --events'],
  'rollout pause': ['bscups rollout pause r1a2b3c4d'],
  'rollout resume': ['bscups rollout resume r1a2b3c4d'],
  'rollout abort': ['bscups rollout abort r1a2b3c4d'],
  'rollout approve': ['bscups rollout approve r1a2b3c4d   # by an operator other than its creator'],
  'rollout deny': ['bscups rollout deny r1a2b3c4d'],
  'rollout retry': ['bscups rollout retry r1a2b3c4d', 'bscups rollout retry r1a2b3c4d --station 0016C001FF10A235 0016C001FF10A236'],
  'rollout rollback': ['bscups rollout rollback r1a2b3c4d', 'bscups rollout rollback r1a2b3c4d --allow-downgrade   # firmware: back to the previous package'],
  simulate: [
    'bscups simulate --home /tmp/st1 --eui 0016C001FF10A235 --init http://127.0.0.1:6090 --package 1.0.0',
    'bscups simulate --home /tmp/st1 --eui 0016C001FF10A235 --loop --max-exchanges 5',
  ],
};

/** The command's path below the program, e.g. "station add"; "" for the program itself. */
export function commandPath(cmd: Command): string {
  const names: string[] = [];
  for (let c: Command | null = cmd; c?.parent != null; c = c.parent) names.unshift(c.name());
  return names.join(' ');
}

/** Every command under (and including) `root`, depth first. */
export function allCommands(root: Command): Command[] {
  return [root, ...root.commands.flatMap(allCommands)];
}

/** Appends each command's examples to the end of its help. */
export function addExamples(program: Command): void {
  for (const cmd of allCommands(program)) {
    const examples = EXAMPLES[commandPath(cmd)];
    if (examples === undefined || examples.length === 0) continue;
    cmd.addHelpText('after', `\nExamples:\n${examples.map((e) => `  ${e}`).join('\n')}`);
  }
}
