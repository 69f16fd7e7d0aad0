import { BOUNDS } from '../task/bounds.js';
import type { CatalogEntry } from './catalog.js';
import { GPU_SPEEDUP } from './hyperparameters.js';

/** How one training job spreads out: nodes (pods), GPUs per node, and processes per node (torchrun). */
export interface Placement {
  nodes: number;
  /** 0: the job trains on CPUs. */
  gpusPerNode: number;
  /** One per GPU; one on a CPU node. */
  processesPerNode: number;
}

/** A single process on one node: what every job was before distributed training. */
export const SINGLE: Placement = { nodes: 1, gpusPerNode: 0, processesPerNode: 1 };

/** Whether a placement runs more than one process (torchrun, DistributedDataParallel). */
export function isDistributed(p: Placement | undefined): boolean {
  return p !== undefined && p.nodes * p.processesPerNode > 1;
}

/** GPUs a placement holds in all. */
export function totalGpus(p: Placement | undefined): number {
  return p ? p.nodes * p.gpusPerNode : 0;
}

/** What the sizing reads. */
export interface SizingInput {
  entry: Pick<CatalogEntry, 'framework' | 'family' | 'trainSecondsPerSample' | 'approxParameters'>;
  /** The planned hyperparameters (epochs, batch size, mode). */
  hyperparameters: Record<string, unknown>;
  /** Rows one epoch trains on (pseudo-labelled rows included), and the number of fits (cross-validation). */
  rows: number;
  fits: number;
  /** The request asks for GPUs (`spec.resources.gpu`), and the backend has them. */
  gpu: boolean;
  /** `spec.resources`: fixed GPUs per node and nodes win over the sizing. */
  overrides: { gpusPerNode?: number | undefined; nodes?: number | undefined };
  /** What the backend can give one job. */
  limits: { maxGpusPerNode: number; maxNodes: number };
  /** Seconds this attempt may take before the deadline, when there is one. */
  secondsLeft?: number | undefined;
  /** GPU-hours left of `spec.budget.maxGpuHours`, when it is set. */
  gpuHoursLeft?: number | undefined;
  /** Memory of one GPU, for the note on whether the model fits one (default: 80 GB, an H100). */
  gpuMemoryBytes?: number;
}

/** The decision, with the reasons in plain words for the attempt's note and the plan. */
export interface Sizing {
  placement: Placement;
  notes: string[];
  /** Estimated wall-clock seconds with this placement, when the catalog has a measured speed. */
  estimatedSeconds?: number;
  /** Estimated GPU-hours with this placement. */
  gpuHours?: number;
  /** Global batch size raised so every process gets enough rows of a batch (absent: as planned). */
  batchSize?: number;
}

/** A job that trains this long on one GPU is worth spreading over more (one hour). */
export const TARGET_SECONDS = 3600;
/**
 * Throughput per GPU relative to one GPU: 0.9 on one node (NVLink/PCIe all-reduce), 0.8 across
 * nodes (network all-reduce). Stated assumptions in line with published DDP scaling on data-centre
 * GPUs, not measurements: no GPU is lent to this project.
 */
export const EFFICIENCY = { oneNode: 0.9, acrossNodes: 0.8 } as const;
/** Every process gets at least this many rows of a global batch; the batch is raised to keep it. */
export const MIN_ROWS_PER_PROCESS = 8;
/** Bytes per parameter DDP keeps on each GPU: FP32 weights, gradients and AdamW's two moments. */
const BYTES_PER_PARAMETER = 16;
/**
 * The families whose training loop shards batches over DistributedDataParallel processes
 * (train/torch_trainers.py); box models and image generation train in one process.
 */
export const DISTRIBUTED_FAMILIES: ReadonlySet<string> = new Set(['torch-text-encoder', 'torch-image-timm']);

const hours = (h: number) => (h < 0.1 ? `${(h * 60).toFixed(1)} GPU-minutes` : `${h.toFixed(2)} GPU-hours`);
const duration = (s: number) => (s < 90 ? `${Math.round(s)} s` : s < 5400 ? `${(s / 60).toFixed(1)} min` : `${(s / 3600).toFixed(1)} h`);

function efficiency(gpus: number, nodes: number): number {
  if (gpus <= 1) return 1;
  return nodes > 1 ? EFFICIENCY.acrossNodes : EFFICIENCY.oneNode;
}

/** Spread `gpus` over as few nodes as hold them. */
function spread(gpus: number, maxPerNode: number): { nodes: number; perNode: number } {
  const nodes = Math.ceil(gpus / maxPerNode);
  return { nodes, perNode: Math.ceil(gpus / nodes) };
}

/**
 * The Model agent's sizing of one torch training attempt: GPUs per node and nodes. A job that one GPU
 * finishes within the hour (or the deadline) gets one; a longer one gets as many more as bring it
 * there, on as few nodes as hold them, bounded by the backend's limits, by the batch (each process
 * needs rows of it) and by the GPU-hour budget (more GPUs finish sooner but cost more GPU-hours, each
 * doing a little less than one alone). Frozen encoders and scikit-learn models train in one process.
 * `spec.resources` (`gpu.count`, `nodes`) overrides what it decides. Pure.
 */
export function sizeTraining(input: SizingInput): Sizing {
  const { entry, overrides, limits } = input;
  const h = input.hyperparameters;
  // The backend's limits bound what the agent decides; what spec.resources asks for is bounded by the
  // schema only (a request for more GPUs than a node has then waits, saying why, and is not cut down).
  const gpusPerNodeCap = Math.min(limits.maxGpusPerNode, BOUNDS.gpusPerNode);
  const nodesCap = Math.min(limits.maxNodes, BOUNDS.nodes);
  const fixedNodes = overrides.nodes !== undefined ? Math.min(overrides.nodes, BOUNDS.nodes) : undefined;
  const fixedPerNode = overrides.gpusPerNode !== undefined ? Math.min(overrides.gpusPerNode, BOUNDS.gpusPerNode) : undefined;
  const notes: string[] = [];
  const trains = entry.framework === 'torch' && DISTRIBUTED_FAMILIES.has(entry.family) && h['mode'] !== 'frozen';
  const useGpu = input.gpu && overrides.gpusPerNode !== 0;
  if (!trains) {
    const gpus = entry.framework === 'torch' && input.gpu ? Math.min(overrides.gpusPerNode ?? 1, 1) : 0;
    if (overrides.nodes !== undefined && overrides.nodes > 1) notes.push(`Trains in one process: spec.resources.nodes (${overrides.nodes}) applies to fine-tuning torch text and image classifiers only.`);
    return { placement: { nodes: 1, gpusPerNode: gpus, processesPerNode: 1 }, notes };
  }

  const epochs = Number(h['epochs'] ?? 1);
  const batch = Number(h['batchSize'] ?? 32) * Number(h['gradientAccumulation'] ?? 1);
  // Seconds on one GPU (or on this project's 2-core CPU without GPUs), from the catalog's measured speed.
  const single = entry.trainSecondsPerSample !== undefined ? (entry.trainSecondsPerSample * input.rows * epochs * input.fits) / (useGpu ? GPU_SPEEDUP : 1) : undefined;
  const memory = entry.approxParameters * BYTES_PER_PARAMETER;
  if (useGpu && memory > (input.gpuMemoryBytes ?? 80e9) * 0.8) notes.push(`~${(memory / 1e9).toFixed(0)} GB of weights, gradients and optimizer state per GPU may not fit one GPU: DistributedDataParallel keeps a whole copy on each.`);

  let nodes: number;
  let perNode: number;
  if (!useGpu) {
    // CPUs: one process per node; several nodes only when asked (gloo across them).
    nodes = fixedNodes ?? 1;
    perNode = 0;
    if (nodes > 1) notes.push(`Training on ${nodes} CPU nodes (spec.resources.nodes), one process each, gradients averaged over gloo.`);
  } else if (fixedPerNode !== undefined && fixedNodes !== undefined) {
    nodes = fixedNodes;
    perNode = fixedPerNode;
    notes.push(`Placement from spec.resources: ${nodes} node(s) × ${perNode} GPU(s).`);
  } else {
    const target = Math.max(60, Math.min(TARGET_SECONDS, input.secondsLeft ?? TARGET_SECONDS));
    let wanted = 1;
    if (single !== undefined && single > target) wanted = Math.ceil(single / (target * EFFICIENCY.oneNode));
    const most = (fixedPerNode ?? gpusPerNodeCap) * (fixedNodes ?? nodesCap);
    wanted = Math.min(wanted, most);
    const cost = (g: number) => (single === undefined ? 0 : (single / (g * efficiency(g, spread(g, fixedPerNode ?? gpusPerNodeCap).nodes))) * g / 3600);
    if (input.gpuHoursLeft !== undefined && single !== undefined) {
      while (wanted > 1 && cost(wanted) > input.gpuHoursLeft) wanted -= 1;
    }
    if (fixedNodes !== undefined) {
      nodes = fixedNodes;
      perNode = Math.max(1, Math.min(gpusPerNodeCap, Math.ceil(wanted / nodes)));
    } else if (fixedPerNode !== undefined) {
      perNode = fixedPerNode;
      nodes = Math.max(1, Math.min(nodesCap, Math.ceil(wanted / Math.max(1, perNode))));
    } else {
      ({ nodes, perNode } = spread(wanted, gpusPerNodeCap));
    }
    if (single === undefined) notes.push(`No measured training speed for this model: ${nodes} node(s) × ${perNode} GPU(s).`);
    else if (nodes * perNode === 1) notes.push(`One GPU: training takes ~${duration(single)}, within ${duration(target)}.`);
    else notes.push(`${nodes * perNode} GPUs (${nodes} node(s) × ${perNode}): ~${duration(single)} on one GPU is over ${duration(target)}; at ${EFFICIENCY.oneNode * 100}% scaling on one node and ${EFFICIENCY.acrossNodes * 100}% across nodes (assumed) it takes ~${duration(single / (nodes * perNode * efficiency(nodes * perNode, nodes)))}.`);
  }
  const gpus = nodes * perNode;
  const placement: Placement = { nodes, gpusPerNode: perNode, processesPerNode: Math.max(1, perNode) };
  const processes = nodes * placement.processesPerNode;
  const sizing: Sizing = { placement, notes };
  if (single !== undefined) {
    sizing.estimatedSeconds = single / (gpus > 1 ? gpus * efficiency(gpus, nodes) : processes > 1 ? processes * EFFICIENCY.acrossNodes : 1);
    if (gpus > 0) sizing.gpuHours = (sizing.estimatedSeconds * gpus) / 3600;
  }
  if (processes > 1 && batch < processes * MIN_ROWS_PER_PROCESS) {
    // Each process needs rows of every batch: more processes than the batch feeds means a bigger batch.
    sizing.batchSize = Math.ceil((processes * MIN_ROWS_PER_PROCESS) / Number(h['gradientAccumulation'] ?? 1));
    notes.push(`A global batch of ${batch} would give each of ${processes} processes ${Math.floor(batch / processes)} rows: raised to ${sizing.batchSize}.`);
  }
  if (input.gpuHoursLeft !== undefined && gpus > 0) {
    const needed = sizing.gpuHours;
    notes.push(needed !== undefined && needed > input.gpuHoursLeft
      ? `The GPU-hour budget has ${hours(input.gpuHoursLeft)} left, less than the ~${hours(needed)} this needs: the Job stops when it runs out, and the best attempt so far is kept.`
      : `GPU-hour budget: ${hours(input.gpuHoursLeft)} left${needed !== undefined ? `, this needs ~${hours(needed)}` : ''}; the Job stops when it runs out.`);
  }
  return sizing;
}
