import { GPU_SPEEDUP } from './hyperparameters.js';
import { isDistributed, sizeTraining, totalGpus, type SizingInput } from './sizing.js';

const finetune = { framework: 'torch' as const, family: 'torch-text-encoder', trainSecondsPerSample: 0.1, approxParameters: 22_566_146 };
/** Rows for which one GPU needs `hours` hours at 3 epochs (0.1 s per sample on the CPU, 25× faster on a GPU). */
const rowsFor = (hours: number) => Math.round((hours * 3600 * GPU_SPEEDUP) / (0.1 * 3));

const base = (over: Partial<SizingInput> = {}): SizingInput => ({
  entry: finetune,
  hyperparameters: { mode: 'finetune', epochs: 3, batchSize: 32 },
  rows: 3000,
  fits: 1,
  gpu: true,
  overrides: {},
  limits: { maxGpusPerNode: 8, maxNodes: 4 },
  ...over,
});

describe('sizeTraining', () => {
  it.each([
    { name: 'a job one GPU finishes within the hour gets one GPU', input: base(), placement: { nodes: 1, gpusPerNode: 1, processesPerNode: 1 } },
    { name: 'four GPU-hours of work: five GPUs on one node bring it under the hour at 90% scaling', input: base({ rows: rowsFor(4) }), placement: { nodes: 1, gpusPerNode: 5, processesPerNode: 5 } },
    { name: 'twenty GPU-hours: more than a node holds, spread evenly over three nodes', input: base({ rows: rowsFor(20), hyperparameters: { mode: 'finetune', epochs: 3, batchSize: 256 } }), placement: { nodes: 3, gpusPerNode: 8, processesPerNode: 8 } },
    { name: 'the deadline in 20 minutes asks for more GPUs than the hour would', input: base({ rows: rowsFor(1), secondsLeft: 1200 }), placement: { nodes: 1, gpusPerNode: 4, processesPerNode: 4 } },
    { name: 'the GPU-hour budget pays for fewer GPUs: more GPUs finish sooner but cost more', input: base({ rows: rowsFor(4), gpuHoursLeft: 4.2 }), placement: { nodes: 1, gpusPerNode: 1, processesPerNode: 1 } },
    { name: 'spec.resources wins: 2 nodes × 1 GPU for a small job', input: base({ overrides: { nodes: 2, gpusPerNode: 1 } }), placement: { nodes: 2, gpusPerNode: 1, processesPerNode: 1 } },
    { name: 'only nodes given: GPUs per node follow the work', input: base({ rows: rowsFor(4), overrides: { nodes: 2 } }), placement: { nodes: 2, gpusPerNode: 3, processesPerNode: 3 } },
    { name: 'only GPUs per node given: nodes follow the work', input: base({ rows: rowsFor(20), hyperparameters: { mode: 'finetune', epochs: 3, batchSize: 256 }, overrides: { gpusPerNode: 4 } }), placement: { nodes: 4, gpusPerNode: 4, processesPerNode: 4 } },
    { name: 'the backend caps nodes and GPUs per node', input: base({ rows: rowsFor(100), hyperparameters: { mode: 'finetune', epochs: 3, batchSize: 512 }, limits: { maxGpusPerNode: 4, maxNodes: 2 } }), placement: { nodes: 2, gpusPerNode: 4, processesPerNode: 4 } },
    { name: 'spec.resources is not cut down to the backend\'s limits: 16 GPUs per node on 8-GPU nodes (the scheduler then says why it waits)', input: base({ overrides: { gpusPerNode: 16 } }), placement: { nodes: 1, gpusPerNode: 16, processesPerNode: 16 } },
    { name: 'no GPUs: one process on one CPU node', input: base({ gpu: false, rows: rowsFor(20) }), placement: { nodes: 1, gpusPerNode: 0, processesPerNode: 1 } },
    { name: 'no GPUs but two nodes asked for: one gloo process per CPU node', input: base({ gpu: false, overrides: { nodes: 2 } }), placement: { nodes: 2, gpusPerNode: 0, processesPerNode: 1 } },
    { name: 'gpu.count 0 trains on CPUs', input: base({ overrides: { gpusPerNode: 0 } }), placement: { nodes: 1, gpusPerNode: 0, processesPerNode: 1 } },
    { name: 'a frozen encoder trains its head in one process, nodes asked or not', input: base({ hyperparameters: { mode: 'frozen' }, overrides: { nodes: 4 } }), placement: { nodes: 1, gpusPerNode: 1, processesPerNode: 1 } },
    { name: 'scikit-learn trains in one process on no GPU', input: base({ entry: { framework: 'sklearn', family: 'sklearn-linear', approxParameters: 1000 } }), placement: { nodes: 1, gpusPerNode: 0, processesPerNode: 1 } },
    { name: 'a box model trains in one process on one GPU however long it takes', input: base({ entry: { ...finetune, family: 'torch-detection-fcos' }, rows: rowsFor(8), gpu: true }), placement: { nodes: 1, gpusPerNode: 1, processesPerNode: 1 } },
  ])('$name', ({ input, placement }) => {
    expect(sizeTraining(input).placement).toEqual(placement);
  });

  it('explains itself: the estimate on one GPU, the scaling assumption and the result', () => {
    const sizing = sizeTraining(base({ rows: rowsFor(4) }));
    expect(sizing.notes.join(' ')).toMatch(/5 GPUs \(1 node\(s\) × 5\): ~4\.0 h on one GPU is over 60\.0 min; at 90% scaling on one node and 80% across nodes \(assumed\) it takes ~53\.3 min/);
    expect(sizing.estimatedSeconds).toBeCloseTo((4 * 3600) / (5 * 0.9), 0);
    expect(sizing.gpuHours).toBeCloseTo(4 / 0.9, 2);
  });

  it('raises the global batch so every process gets rows of it', () => {
    const sizing = sizeTraining(base({ rows: rowsFor(20) }));
    expect(totalGpus(sizing.placement)).toBe(24);
    expect(sizing.batchSize).toBe(24 * 8);
    expect(sizing.notes.join(' ')).toMatch(/A global batch of 32 would give each of 24 processes 1 rows: raised to 192/);
  });

  it('warns when the budget cannot pay for even one GPU, and says what happens then', () => {
    const sizing = sizeTraining(base({ rows: rowsFor(4), gpuHoursLeft: 1 }));
    expect(sizing.placement.gpusPerNode).toBe(1);
    expect(sizing.notes.join(' ')).toMatch(/budget has 1\.00 GPU-hours left, less than the ~4\.00 GPU-hours this needs: the Job stops when it runs out, and the best attempt so far is kept/);
  });

  it('warns when the model may not fit one GPU (DDP keeps a whole copy on each)', () => {
    expect(sizeTraining(base({ entry: { ...finetune, approxParameters: 7e9 } })).notes.join(' ')).toMatch(/may not fit one GPU/);
  });

  it('tells a distributed placement from one process', () => {
    expect(isDistributed({ nodes: 1, gpusPerNode: 1, processesPerNode: 1 })).toBe(false);
    expect(isDistributed({ nodes: 1, gpusPerNode: 4, processesPerNode: 4 })).toBe(true);
    expect(isDistributed({ nodes: 2, gpusPerNode: 0, processesPerNode: 1 })).toBe(true);
  });
});
