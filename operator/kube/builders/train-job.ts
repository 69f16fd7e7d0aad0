import type { KubernetesObject, V1Condition, V1ResourceRequirements } from '@kubernetes/client-node';
import { retryName } from './group-job.js';
import { GROUP_LABEL, QUEUE_LABEL, RETRY_LABEL, gpuCount, jobCommand, jobEnv, jobResources, queueName, type JobBuildInput } from './job.js';
import { JOB_KIND_LABEL, childMeta } from './meta.js';

/** Kubeflow Trainer's API group, version, kind and plural. */
export const TRAINER_GROUP = 'trainer.kubeflow.org';
export const TRAINER_VERSION = 'v1alpha1';
export const TRAINJOB_KIND = 'TrainJob';
export const TRAINJOB_PLURAL = 'trainjobs';

/**
 * A TrainJob, with only the fields that stayed put across Trainer's alpha releases: `runtimeRef`,
 * and `trainer.{image, command, args, env, numNodes, resourcesPerNode}`. Volumes, tolerations and node
 * selection belong to the referenced runtime (their per-job override fields changed names three
 * times), which must mount the artifacts volume at the operator's artifacts.mountPath.
 */
export interface TrainJob extends KubernetesObject {
  spec: {
    runtimeRef: { apiGroup: string; kind: string; name: string };
    /** Set by Kueue while the TrainJob waits in a queue. */
    suspend?: boolean;
    trainer: {
      image: string;
      command: string[];
      args: string[];
      env: { name: string; value: string }[];
      numNodes: number;
      resourcesPerNode: V1ResourceRequirements;
    };
  };
  status?: { conditions?: V1Condition[] };
}

/**
 * The TrainJob that runs a multi-node training job where the cluster has Kubeflow Trainer: torchrun on
 * every node (Trainer's torch runtime injects the PET_* variables), the artifacts volume from the
 * runtime, Kueue's queue label when there is a queue. A failed TrainJob is started again as a new
 * one named `<job>-r<k>`, like an Indexed Job group. Pure.
 */
export function buildTrainJob(input: JobBuildInput): TrainJob {
  const { owner, spec, job, config } = input;
  const placement = job.placement!;
  const name = retryName(job);
  const queue = queueName(spec, config);
  const labels = { [JOB_KIND_LABEL]: job.kind, [GROUP_LABEL]: job.name, [RETRY_LABEL]: String(job.retry ?? 0), ...(job.attempt ? { 'traineragent.io/attempt': String(job.attempt) } : {}) };
  const meta = childMeta(owner, name, 'job', labels, input.annotations);
  const { command, args } = jobCommand(job);
  return {
    apiVersion: `${TRAINER_GROUP}/${TRAINER_VERSION}`,
    kind: TRAINJOB_KIND,
    metadata: queue ? { ...meta, labels: { ...meta.labels, [QUEUE_LABEL]: queue } } : meta,
    spec: {
      runtimeRef: { apiGroup: TRAINER_GROUP, kind: config.jobs.distributed.runtimeRef.kind, name: config.jobs.distributed.runtimeRef.name },
      trainer: {
        image: config.images.trainer,
        command,
        args,
        env: jobEnv(job, config).map((e) => ({ name: e.name, value: e.value ?? '' })),
        numNodes: placement.nodes,
        resourcesPerNode: jobResources(config, gpuCount(spec, job)),
      },
    },
  };
}

/** The TrainJob's state from its conditions (Complete, Failed, Suspended), as the pipeline reads jobs. */
export function trainJobCondition(trainJob: Pick<TrainJob, 'status'>, type: 'Complete' | 'Failed' | 'Suspended'): V1Condition | undefined {
  return (trainJob.status?.conditions ?? []).find((c) => c.type === type && c.status === 'True');
}
