import { afterEach, describe, expect, it, vi } from 'vitest';
import { startAzuriteOrSkip } from './support/azurite.js';

const broken = (): Promise<never> => Promise.reject(new Error('spawn azurite-blob ENOENT'));

describe('Azurite availability policy', () => {
  const ci = process.env.CI;
  afterEach(() => {
    if (ci === undefined) delete process.env.CI;
    else process.env.CI = ci;
    vi.restoreAllMocks();
  });

  it('skips loudly on a developer machine', async () => {
    delete process.env.CI;
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => undefined);
    await expect(startAzuriteOrSkip('demo suite', broken)).resolves.toBeUndefined();
    expect(warn).toHaveBeenCalledWith(expect.stringMatching(/SKIPPING demo suite.*ENOENT/s));
  });

  it('fails under CI=true', async () => {
    process.env.CI = 'true';
    await expect(startAzuriteOrSkip('demo suite', broken)).rejects.toThrow(/demo suite: Azurite could not start, and CI=true forbids skipping: spawn azurite-blob ENOENT/);
  });
});
