import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { OperatorConfig, loadOperatorConfig } from './config.js';

describe('operator config', () => {
  it('defaults to watch-driven progress: a slow safety requeue, a long spread resync', () => {
    const config = OperatorConfig.parse({});
    expect([config.requeueWhileRunningSeconds, config.resyncSeconds, config.watchdogSeconds]).toEqual([300, 600, 330]);
    expect(config.leaderElection).toMatchObject({ leaseDurationSeconds: 15, renewDeadlineSeconds: 10, retryPeriodSeconds: 2 });
  });

  it('refuses a renew deadline that is not shorter than the lease', () => {
    expect(() => OperatorConfig.parse({ leaderElection: { leaseDurationSeconds: 10, renewDeadlineSeconds: 10 } })).toThrow(/renewDeadlineSeconds must be shorter/);
  });

  it('reads a YAML file, then lets the environment set images and the namespace', () => {
    const file = join(mkdtempSync(join(tmpdir(), 'ta-cfg-')), 'config.yaml');
    writeFileSync(file, 'workers: 4\nsources:\n  maxDownloadBytes: 1048576\n');
    const config = loadOperatorConfig(file, { TRAINER_AGENT_TRAINER_IMAGE: 'reg/trainer:2', POD_NAMESPACE: 'ops' });
    expect(config.workers).toBe(4);
    expect(config.sources.maxDownloadBytes).toBe(1048576);
    expect(config.images.trainer).toBe('reg/trainer:2');
    expect(config.namespace).toBe('ops');
  });
});
