/** Where a job writes: one folder per job name, so results of different inputs never mix. */
export function jobOutDir(artifactRoot: string, name: string): string {
  return `${artifactRoot}/jobs/${name}`;
}

/** Where the API document is written. */
export function apiDocPath(artifactRoot: string): string {
  return `${artifactRoot}/api/openapi.json`;
}
