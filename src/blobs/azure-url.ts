import { CupsError, invalid } from '../core/errors.js';

const LOOPBACK = new Set(['127.0.0.1', 'localhost', '[::1]']);

/**
 * Checks an Azure account URL and returns it. Only URLs that carry a SAS token
 * (`sig=`) can be used: token auth (DefaultAzureCredential) needs @azure/identity,
 * which this package does not depend on. Messages show the origin only, never the token.
 */
export function checkAzureUrl(raw: string): string {
  let url: URL;
  try {
    url = new URL(raw);
  } catch (e) {
    throw new CupsError('invalid_blob_location', 'invalid_argument', 'Azure account URL is not a URL: use https://ACCOUNT.blob.core.windows.net/?<SAS token>', undefined, {
      cause: e,
    });
  }
  const isLoopback = LOOPBACK.has(url.hostname);
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && isLoopback)) {
    throw invalid('invalid_blob_location', `Azure account URL ${url.origin} must use https (http is accepted only for a local emulator)`);
  }
  if (url.hostname.includes('.blob.core.') && url.pathname !== '/' && url.pathname !== '') {
    throw invalid(
      'invalid_blob_location',
      `Azure URL ${url.origin}${url.pathname} points inside the account: give the account URL https://ACCOUNT.blob.core.windows.net/ with its SAS token`,
    );
  }
  if (!url.searchParams.has('sig')) {
    throw new CupsError(
      'not_supported',
      'invalid_argument',
      `account URL auth needs a connection string or SAS URL for now: ${url.origin} has no SAS token; ` +
        'append an account SAS (…/?sv=…&sig=…) or pass the connection string instead',
    );
  }
  return raw;
}
