import { invalid } from '../core/errors.js';
import { CONTAINERS, type ContainerName } from './types.js';

const NAME_PATTERN = /^[A-Za-z0-9_-][A-Za-z0-9._-]{0,199}$/;
const PREFIX_PATTERN = /^[A-Za-z0-9._-]{0,200}$/;

/** True when `name` is a blob name every driver accepts (see validateBlobName). */
export function isValidBlobName(name: unknown): name is string {
  return typeof name === 'string' && NAME_PATTERN.test(name);
}

/**
 * Returns `name` when it is 1..200 chars of [A-Za-z0-9._-] not starting with '.';
 * otherwise throws invalid_argument `invalid_blob_name`. No separator, no leading
 * dot: a valid name can never leave its container nor hit a driver's temp files.
 */
export function validateBlobName(name: string): string {
  if (isValidBlobName(name)) return name;
  // Callers outside TypeScript can pass anything; describe it without trusting the type.
  const raw: unknown = name;
  throw invalid(
    'invalid_blob_name',
    `blob name ${show(raw)} is invalid: use 1 to 200 characters of A-Z a-z 0-9 . _ - that do not start with "."`,
    { name: typeof raw === 'string' ? raw.slice(0, 210) : typeof raw },
  );
}

/** Returns `container` when it is one of CONTAINERS; otherwise throws invalid_argument `invalid_container`. */
export function validateContainer(container: string): ContainerName {
  if ((CONTAINERS as readonly string[]).includes(container)) return container as ContainerName;
  throw invalid(
    'invalid_container',
    `blob container ${show(container)} is unknown: use one of ${CONTAINERS.join(', ')}`,
    { container: typeof container === 'string' ? container.slice(0, 210) : typeof container },
  );
}

/** Returns the list prefix ('' when absent); throws `invalid_blob_prefix` for characters no blob name can hold. */
export function validateListPrefix(prefix: string | undefined): string {
  if (prefix === undefined) return '';
  if (typeof prefix === 'string' && PREFIX_PATTERN.test(prefix)) return prefix;
  throw invalid(
    'invalid_blob_prefix',
    `list prefix ${show(prefix)} is invalid: use up to 200 characters of A-Z a-z 0-9 . _ -`,
    { prefix: typeof prefix === 'string' ? prefix.slice(0, 210) : typeof prefix },
  );
}

/** Quotes a user-supplied name for a message: escaped, and cut short so a megabyte name stays readable. */
function show(value: unknown): string {
  if (typeof value !== 'string') return `(${typeof value})`;
  const quoted = JSON.stringify(value.length > 60 ? value.slice(0, 60) : value);
  return value.length > 60 ? `${quoted}… (${value.length} characters)` : quoted;
}
