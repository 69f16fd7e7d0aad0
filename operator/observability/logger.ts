import { pino, type Logger } from 'pino';

export type { Logger } from 'pino';

/** Keys whose values never reach a log line, wherever they appear in the logged object. */
const REDACT = ['apiKey', '*.apiKey', 'token', '*.token', 'password', '*.password', 'authorization', '*.authorization', '*.secret'];

/**
 * The operator's JSON logger (pino): one JSON object per line on stderr, `level` as a word, an ISO
 * `time`, `logger`, and messages in Kubernetes style — capitalised, past tense, object named ("Created Job
 * spam-filter-data-1a2b3c") — with `namespace`, `name` and `stage` as fields.
 */
export function createLogger(options: { level?: string; destination?: NodeJS.WritableStream; name?: string } = {}): Logger {
  return pino(
    {
      level: options.level ?? process.env['LOG_LEVEL'] ?? 'info',
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
      redact: { paths: REDACT, censor: '[redacted]' },
      // `logger`, as controller-runtime names it: `name` belongs to the object a line is about.
      base: { logger: options.name ?? 'trainer-agent-operator' },
    },
    (options.destination as pino.DestinationStream | undefined) ?? pino.destination({ dest: 2, sync: true }),
  );
}
