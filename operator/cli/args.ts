import { parseArgs, type ParseArgsConfig } from 'node:util';

/** A usage error: printed with the usage text, exit code 64 (EX_USAGE). */
export class UsageError extends Error {}

/** Parse a subcommand's arguments strictly; unknown flags are a usage error, not ignored. */
export function parseCommandArgs<T extends NonNullable<ParseArgsConfig['options']>>(args: string[], options: T) {
  try {
    return parseArgs({ args, options, allowPositionals: true, strict: true });
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
}
