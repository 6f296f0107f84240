import { describe, expect, it } from 'vitest';
import { digestProfile, groupOf, renderDigest, type CpuProfile } from '../bench/profile-digest.js';

const frame = (functionName: string, url = '', lineNumber = 0) => ({ functionName, url, lineNumber });

/** A hand-made profile: node ids 1..5, samples every 100 µs from t=1000. */
function profile(samples: number[], deltas?: number[]): CpuProfile {
  return {
    nodes: [
      { id: 1, callFrame: frame('(idle)') },
      { id: 2, callFrame: frame('answerFromMemory', 'file:///tmp/bscups-bench-js-abc/src/http/update-info.js', 37) },
      { id: 3, callFrame: frame('station', 'file:///tmp/bscups-bench-js-abc/src/registry/cache/registry-memory.js', 29) },
      { id: 4, callFrame: frame('writev') },
      { id: 5, callFrame: frame('write', 'file:///work/main/node_modules/pino/lib/proto.js', 200) },
    ],
    startTime: 1000,
    endTime: 1000 + samples.length * 100,
    samples,
    timeDeltas: deltas ?? samples.map(() => 100),
  };
}

describe('bench profile digest', () => {
  it('gives each sample the time to the next one and groups it by script', () => {
    const d = digestProfile(profile([2, 2, 3, 4, 1, 5]));
    // Six samples, the last has no successor: five intervals of 100 µs.
    expect(d.micros).toBe(500);
    expect(d.groups.get('product HTTP handler (src/http)')).toBe(200);
    expect(d.groups.get('registry cache (src/registry/cache)')).toBe(100);
    expect(d.groups.get('syscalls and C++ bindings called from JS (writev, close, …)')).toBe(100);
    expect(d.groups.get('idle')).toBe(100);
    expect(d.groups.has('pino logging')).toBe(false);
    expect(d.functions[0]).toMatchObject({ name: 'answerFromMemory', where: 'src/http/update-info.js:38', micros: 200 });
  });

  it('counts only samples inside the windows', () => {
    // Sample timestamps: 1100, 1200, ..., 1600.
    const d = digestProfile(profile([2, 2, 3, 4, 1, 5, 5]), [{ from: 1250, to: 1450 }]);
    expect(d.micros).toBe(200);
    expect([...d.groups.keys()].sort()).toEqual(['registry cache (src/registry/cache)', 'syscalls and C++ bindings called from JS (writev, close, …)']);
  });

  it('uses the real deltas, not a fixed interval', () => {
    const d = digestProfile(profile([2, 3, 2], [0, 700, 50]));
    expect(d.groups.get('product HTTP handler (src/http)')).toBe(700);
    expect(d.groups.get('registry cache (src/registry/cache)')).toBe(50);
  });

  it('tells dependencies and node apart', () => {
    expect(groupOf(frame('x', 'file:///a/node_modules/prom-client/lib/histogram.js'))).toBe('prom-client');
    expect(groupOf(frame('x', 'file:///a/node_modules/pino/pino.js'))).toBe('pino logging');
    expect(groupOf(frame('x', 'file:///a/node_modules/kysely/dist/esm/index.js'))).toBe('registry database (src/registry, kysely, drivers)');
    expect(groupOf(frame('x', 'node:_tls_wrap'))).toBe('TLS and crypto (node:tls, node:crypto)');
    expect(groupOf(frame('x', 'node:internal/crypto/hash'))).toBe('TLS and crypto (node:tls, node:crypto)');
    expect(groupOf(frame('x', 'node:_http_server'))).toBe('node internals (http, net, streams, events, timers)');
    expect(groupOf(frame('(garbage collector)'))).toBe('garbage collector');
    expect(groupOf(frame('(program)'))).toBe('native, outside JS (libuv, TLS/crypto in C++, syscalls)');
  });

  it('renders percentages and µs per request', () => {
    const d = digestProfile(profile([2, 2, 3, 4, 1, 5]));
    const text = renderDigest('t', [{ label: 'SQLite, keep-alive', digest: d, requests: 10, file: '/x/CPU.1.2.3.4.5.cpuprofile' }]);
    expect(text).toContain('| product HTTP handler (src/http) | 40.0% (20.0 µs) |');
    expect(text).toContain('**80.0% (40.0 µs)**');
    expect(renderDigest('t', [])).toBe('');
  });
});
