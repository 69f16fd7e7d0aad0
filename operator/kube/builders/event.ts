import { randomBytes } from 'node:crypto';
import type { CoreV1Event } from '@kubernetes/client-node';
import { GROUP, KIND, VERSION } from '../../api/training-request.js';

/** Longest Event message the API server keeps readable (it truncates at 1 KiB in kubectl). */
const MAX_MESSAGE = 1024;

/** A core/v1 Event about a TrainingRequest, reported by `trainer-agent`. */
export function buildEvent(
  involved: { name: string; namespace: string; uid?: string; resourceVersion?: string },
  event: { type: 'Normal' | 'Warning'; reason: string; message: string },
  now: Date,
  instance = 'trainer-agent',
  suffix: string = randomBytes(8).toString('hex'),
): CoreV1Event {
  return {
    apiVersion: 'v1',
    kind: 'Event',
    metadata: { name: `${involved.name}.${suffix}`, namespace: involved.namespace },
    involvedObject: {
      apiVersion: `${GROUP}/${VERSION}`,
      kind: KIND,
      name: involved.name,
      namespace: involved.namespace,
      ...(involved.uid ? { uid: involved.uid } : {}),
      ...(involved.resourceVersion ? { resourceVersion: involved.resourceVersion } : {}),
    },
    type: event.type,
    reason: event.reason,
    message: event.message.length > MAX_MESSAGE ? `${event.message.slice(0, MAX_MESSAGE - 1)}…` : event.message,
    source: { component: 'trainer-agent' },
    reportingComponent: 'trainer-agent',
    reportingInstance: instance,
    firstTimestamp: now,
    lastTimestamp: now,
    count: 1,
  };
}
