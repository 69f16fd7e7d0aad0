import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runHealthCheck } from './lua.js';

const script = readFileSync(join(dirname(fileURLToPath(import.meta.url)), '..', 'argocd', 'health.lua'), 'utf8');
const at = '2025-01-01T00:00:00Z';
const cond = (type: string, status: 'True' | 'False', reason = 'R', message = '') => ({ type, status, reason, message, lastTransitionTime: at });
const request = (status: unknown, metadata: Record<string, unknown> = {}) => ({ apiVersion: 'traineragent.io/v1alpha1', kind: 'TrainingRequest', metadata: { name: 'spam', generation: 2, ...metadata }, spec: { requirement: 'x' }, status });
const overall = (on: 'Ready' | 'Reconciling' | 'Stalled' | 'AwaitingInput', message: string) =>
  ['Ready', 'Reconciling', 'Stalled', 'AwaitingInput'].map((t) => cond(t, t === on ? 'True' : 'False', t === on ? `${on}Reason` : `${on}Reason`, t === on ? message : ''));

describe('Argo CD health check for TrainingRequest', () => {
  it.each([
    { name: 'being deleted → Progressing', obj: request({ observedGeneration: 2, conditions: overall('Ready', 'ok') }, { deletionTimestamp: at }), status: 'Progressing', message: 'Deleting' },
    { name: 'no status yet → Progressing', obj: request(undefined), status: 'Progressing', message: 'Waiting for the operator to pick up the request' },
    { name: 'stale observedGeneration → Progressing even if Ready', obj: request({ observedGeneration: 1, conditions: overall('Ready', 'Model spam is ready') }), status: 'Progressing', message: 'Waiting for the operator to observe generation 2' },
    { name: 'Stalled → Degraded with the reason', obj: request({ observedGeneration: 2, conditions: overall('Stalled', 'Data job failed: no column text') }), status: 'Degraded', message: 'Data job failed: no column text' },
    { name: 'Ready → Healthy', obj: request({ observedGeneration: 2, conditions: overall('Ready', 'Model spam is ready at http://spam-triton:8000') }), status: 'Healthy', message: 'Model spam is ready at http://spam-triton:8000' },
    { name: 'Reconciling → Progressing', obj: request({ observedGeneration: 2, conditions: overall('Reconciling', 'Training attempt 1 of at most 4') }), status: 'Progressing', message: 'Training attempt 1 of at most 4' },
    { name: 'AwaitingInput → Suspended with the question', obj: request({ observedGeneration: 2, question: 'Please approve the plan', conditions: overall('AwaitingInput', 'NeedsApproval') }), status: 'Suspended', message: 'Please approve the plan' },
    { name: 'rejected (Stalled, reason Rejected) → Degraded, reason when no message', obj: request({ observedGeneration: 2, conditions: [cond('Stalled', 'True', 'Rejected', '')] }), status: 'Degraded', message: 'Rejected' },
    { name: 'conditions without an overall one → Progressing', obj: request({ observedGeneration: 2, conditions: [cond('RequirementParsed', 'True')] }), status: 'Progressing', message: 'Waiting for the operator' },
    { name: 'no generation at all (server-side dry run) uses the conditions', obj: { ...request({ conditions: overall('Ready', 'ok') }), metadata: { name: 'spam' } }, status: 'Healthy', message: 'ok' },
  ])('$name', ({ obj, status, message }) => {
    expect(runHealthCheck(script, obj)).toEqual({ status, message });
  });

  it('uses only Lua 5.1 (gopher-lua) constructs', () => {
    expect(script).not.toMatch(/\bgoto\b|\/\/|&|~=\s*nil\s*and\s*\|/);
  });
});
