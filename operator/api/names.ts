/**
 * Object names as the API server checks them. A namespace is a DNS-1123 label; a TrainingRequest name
 * is one too (stricter than the subdomain the API server allows for custom resources), because it
 * becomes part of Job, Service and Deployment names. The local backend uses the same rules, so a name
 * that would be refused by a cluster is refused on disk too — and `..`, `/` or an empty name can
 * never become a path.
 */

/** The regular expression the API server uses for a DNS-1123 label. */
export const DNS1123_LABEL_PATTERN = '^[a-z0-9]([-a-z0-9]*[a-z0-9])?$';
const DNS1123_LABEL = new RegExp(DNS1123_LABEL_PATTERN);
/** Longest DNS-1123 label. */
export const DNS1123_LABEL_MAX_LENGTH = 63;

/** Why `value` is not a DNS-1123 label (the API server's wording), or undefined when it is one. */
export function dnsLabelProblem(value: string): string | undefined {
  if (value.length === 0) return 'must not be empty';
  if (value.length > DNS1123_LABEL_MAX_LENGTH) return `must be no more than ${DNS1123_LABEL_MAX_LENGTH} characters`;
  if (!DNS1123_LABEL.test(value)) {
    return "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end " +
      `with an alphanumeric character (e.g. 'my-name', or '123-abc', regex used for validation is '${DNS1123_LABEL_PATTERN.slice(1, -1)}')`;
  }
  return undefined;
}

/** A name or namespace the API server would refuse. */
export class InvalidNameError extends Error {}

/** Throw {@link InvalidNameError} unless `value` is a valid `what` (e.g. "namespace"); returns it. */
export function checkDnsLabel(what: string, value: string): string {
  const problem = dnsLabelProblem(value);
  if (problem) throw new InvalidNameError(`invalid ${what} ${JSON.stringify(value)}: ${problem}`);
  return value;
}
