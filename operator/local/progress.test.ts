import { ProgressReporter } from './progress.js';

/** A non-TTY stream that records what was written. */
function recorder(): { stream: NodeJS.WriteStream; lines: string[] } {
  const lines: string[] = [];
  const stream = { isTTY: false, write: (text: string) => { lines.push(text); return true; } } as unknown as NodeJS.WriteStream;
  return { stream, lines };
}

describe('ProgressReporter', () => {
  it.each([
    {
      name: 'a training job\'s own ETA (from its samples/s) wins over extrapolation, and its learning rate is left out',
      progress: { stage: 'train', step: 40, total: 256, metric: { loss: 0.12345, samplesPerSecond: 14.21, etaSeconds: 312.4, learningRate: 4.86e-5 } },
      elapsedMs: 10_000,
      expected: 'Training attempt 2 train 40/256 loss=0.1235 samplesPerSecond=14.21 ETA 312s\n',
    },
    {
      name: 'without one, the ETA is extrapolated from the fraction done',
      progress: { stage: 'data', step: 1, total: 4, metric: {} as Record<string, number> },
      elapsedMs: 10_000,
      expected: 'Training attempt 2 data 1/4 ETA 30s\n',
    },
  ])('$name', ({ progress, elapsedMs, expected }) => {
    const { stream, lines } = recorder();
    let now = 0;
    const reporter = new ProgressReporter(stream, () => now);
    reporter.jobStarted();
    now = elapsedMs;
    reporter.progress('Training attempt 2', progress);
    expect(lines).toEqual([expected]);
  });
});
