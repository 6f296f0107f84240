import { describe, expect, it } from 'vitest';
import { streamImportRows, type ImportSource } from '../src/operations/import-stream.js';
import { parseImportText, type ImportFormat, type SourceRow } from '../src/operations/station-import-format.js';

// The streaming reader gives the rows the whole-text reader gives, however the
// file is cut into pieces (records, quoted newlines, escapes and multi-byte
// characters across the cuts), and refuses the same malformed files.

const CSV = [
  '\uFEFFEUI,Name,Labels,CUPS_URI,tc-uri,authMode',
  '0016C001FF200001,"roof, north",site=north;note=a\\;b=c\\\\d,https://cups.example.com:443,wss://lns.example.com:6887,token',
  '',
  '0016C001FF200002,"two\r\nlines ""quoted"" é",,,,',
  '16:c001:ff20:0003,,tier=gold,,wss://lns.example.com:6887,mtls',
  '0016C001FF200004,short',
].join('\r\n');
const JSONL = '{"eui":"0016C001FF200001","name":"a\\nb ü"}\n\n  \r\n{"eui":"0016C001FF200002","labels":{"k":"v"}}\r\nnot json\n[1]\n{"eui":"x"}';
const JSON_ARRAY = '\uFEFF [\n {"eui":"0016C001FF200001","name":"[,]\\"}"},\n  "text",\n\n{"eui":"0016C001FF200002","labels":{"a":"{"}} , {"eui":"é"}\n]\n';

async function collect(source: ImportSource): Promise<SourceRow[]> {
  const rows: SourceRow[] = [];
  for await (const row of streamImportRows(source)) rows.push(row);
  return rows;
}

function inBytes(text: string, size: number): ImportSource {
  const bytes = Buffer.from(text);
  return {
    async *open() {
      for (let i = 0; i < bytes.length; i += size) yield bytes.subarray(i, i + size);
    },
  };
}

describe('streamImportRows', () => {
  for (const [format, text] of [['csv', CSV], ['jsonl', JSONL], ['json', JSON_ARRAY]] as const) {
    it(`reads ${format} as the whole-text reader does, at every piece size`, async () => {
      const whole = parseImportText(text.replace(/^\uFEFF/, ''), format as ImportFormat);
      expect(whole.length).toBeGreaterThan(2);
      for (const size of [1, 2, 3, 5, 7, 64, 100_000]) {
        expect(await collect(inBytes(text, size)), `pieces of ${size} bytes`).toEqual(whole);
      }
    });
  }

  it('refuses the malformed files the whole-text reader refuses, with the same codes', async () => {
    const bad: [string, string][] = [
      ['eui,name\n0016C001FF200001,"never closed\n', 'import_malformed_csv'],
      ['eui,name\n0016C001FF200001,a"b\n', 'import_malformed_csv'],
      ['eui,colour\n', 'import_unknown_column'],
      ['[{"eui":"0016C001FF200001"},', 'import_malformed_json'],
      ['[{"eui":"0016C001FF200001"},]', 'import_malformed_json'],
      ['[{"eui":"0016C001FF200001"} {"eui":"0016C001FF200002"}]', 'import_malformed_json'],
      ['[{"eui":"0016C001FF200001"}] x', 'import_malformed_json'],
    ];
    for (const [text, code] of bad) {
      const format = text.startsWith('[') ? 'json' : 'csv';
      expect(() => parseImportText(text, format), text).toThrow();
      for (const size of [1, 4, 1000]) await expect(collect(inBytes(text, size)), text).rejects.toMatchObject({ code });
    }
  });
});
