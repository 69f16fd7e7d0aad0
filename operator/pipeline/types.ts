import type { Framework } from '../../agents/model/catalog.js';
import type { Placement } from '../../agents/model/sizing.js';
import type { Estimate } from '../../agents/server/estimate.js';

/** The stages that run as jobs. */
/** The image generation jobs are modules of trainer_agent_jobs.generation. */
export type JobKind = 'data' | 'train' | 'convert' | 'generation.data' | 'generation.train' | 'generation.convert';

/** A job the pipeline wants to exist. Its name carries a hash of `spec`, so it is idempotent. */
export interface JobRequest {
  name: string;
  kind: JobKind;
  /** Where the job writes result.json and its artifacts. */
  outDir: string;
  /** The job spec, validated by the job against the generated JSON Schema. */
  spec: Record<string, unknown>;
  /** 1-based training attempt, for train jobs. */
  attempt?: number;
  /** Whether the job wants a GPU when the backend has one (torch training). */
  gpu?: boolean;
  /** The Python environment the job needs: the core one (scikit-learn) or the PyTorch one. */
  runtime: Framework;
  /** How a torch training job spreads over nodes and processes (absent: one process). */
  placement?: Placement;
  /** Most seconds the job may run (what is left of the GPU-hour budget); the backend stops it then. */
  deadlineSeconds?: number;
  /** A multi-node group started again after it failed: 1 for the first retry (absent: the first run). */
  retry?: number;
}

/** What a backend saw of one job. */
export interface JobObservation {
  state: 'Pending' | 'Running' | 'Succeeded' | 'Failed';
  /** Parsed result.json (or the termination-message summary in a cluster). */
  result?: unknown;
  /** Failure message (from the job's error or termination message). */
  message?: string;
  /** Latest progress line the job printed. */
  progress?: { stage?: string; step?: number; total?: number; metric?: Record<string, number | string> };
  /** Why a Pending job does not run yet: a queue (Kueue) holds it, or the scheduler cannot place its pods. */
  waiting?: { reason: 'Queued' | 'Unschedulable'; message: string };
  /** Why it failed, in one CamelCase word when the backend knows (`DeadlineExceeded`: its deadline stopped it). */
  failureReason?: string;
  /** Wall-clock seconds it has run so far, every retry of a group included (GPU-hour accounting). */
  runSeconds?: number;
  /** The retry of a multi-node group this observation is of (absent or 0: the first run). */
  retry?: number;
}

/** One data source as the backend resolved it. */
export interface ObservedSource {
  name: string;
  role: 'train' | 'eval' | 'test' | 'unlabelled';
  /** sha256 of the content; absent when it could not be read. */
  digest?: string;
  /** Why it could not be read. */
  error?: string;
  /** Set while the backend is still fetching or hashing it (say what); the pipeline waits. */
  pending?: string;
  /** The resolved location a job can read (absolute path locally, mount path in a cluster). */
  location?: string;
}

/** What the serving side looks like now. */
export interface ObservedServing {
  ready: boolean;
  url?: string;
  model?: string;
  replicas?: number;
  message?: string;
}

/** Everything the pipeline reads besides the request itself. */
export interface Observed {
  /** Where this request's artifacts live, as jobs see it. */
  artifactRoot: string;
  sources: ObservedSource[];
  jobs: Record<string, JobObservation>;
  serving?: ObservedServing;
  /** Whether the backend can run GPU jobs. */
  gpuAvailable: boolean;
  /** Frameworks training jobs can use here (torch when the trainer image or local environment has it). */
  frameworks: Framework[];
  /** Most serving replicas the backend's configuration allows one request (absent: the default cap). */
  maxReplicas?: number;
  /** What the backend can give one distributed training job (absent: one process on one node). */
  distributed?: { maxGpusPerNode: number; maxNodes: number; groupRetries: number };
}

/** What the pipeline wants done; backends know how. */
export type Action =
  | { kind: 'runJob'; job: JobRequest }
  | { kind: 'serve'; model: string; repositoryDir: string; estimate: Estimate; apiDocPath: string }
  | { kind: 'event'; type: 'Normal' | 'Warning'; reason: string; message: string }
  | { kind: 'writeFile'; path: string; content: string };
