import { parseLabelAssignments } from '../../../operations/label-args.js';
import { parseEui, validateCupsUri, validateTcUri } from '../../../protocol/index.js';

/** Parses an EUI argument in any accepted spelling to the canonical form. */
export function euiArg(value: string): string {
  return parseEui(value, 'EUI');
}

/** Parses repeated --label k=v (and k= to remove, where allowed). */
export const parseLabels = parseLabelAssignments;

export function cupsUriOption(value: string | undefined): string | undefined {
  return value === undefined ? undefined : validateCupsUri(value, '--cups-uri');
}

export function tcUriOption(value: string | undefined): string | undefined {
  return value === undefined ? undefined : validateTcUri(value, '--tc-uri');
}
