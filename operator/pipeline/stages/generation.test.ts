import { OfflineBrain } from '../../../agents/brain/offline.js';
import type { TrainingRequest } from '../../api/training-request.js';
import { reconcile, type ReconcileResult } from '../reconcile.js';
import { generationConvertFixture, generationObservedFixture, generationRequestFixture, generationTrainFixture, styleDataFixture } from '../testing/generation-fixtures.js';
import type { Action, JobRequest, Observed } from '../types.js';

const brain = new OfflineBrain();
const now = new Date('2026-12-03T12:00:00Z');
const jobs = (r: ReconcileResult): JobRequest[] => r.actions.filter((a): a is Extract<Action, { kind: 'runJob' }> => a.kind === 'runJob').map((a) => a.job);
const condition = (r: ReconcileResult, type: string) => r.status.conditions?.find((c) => c.type === type);

type Outcome = (job: JobRequest) => Observed['jobs'][string];
const succeed = (train: (job: JobRequest) => ReturnType<typeof generationTrainFixture> = (job) => generationTrainFixture(`${job.outDir}/model`)): Outcome => (job) => {
  if (job.kind === 'generation.data') return { state: 'Succeeded', result: styleDataFixture() };
  if (job.kind === 'generation.train') return { state: 'Succeeded', result: train(job) };
  return { state: 'Succeeded', result: generationConvertFixture(`${job.outDir}/model-repository`) };
};

/** Run the pipeline as a backend would, every requested job ending with `outcome`, until it settles. */
async function drive(request: TrainingRequest, outcome: Outcome, observed = generationObservedFixture()) {
  let current = request;
  const ran: JobRequest[] = [];
  for (let i = 0; i < 20; i += 1) {
    const result = await reconcile(current, observed, { brain, now });
    current = { ...current, status: result.status };
    for (const job of jobs(result)) {
      ran.push(job);
      observed = { ...observed, jobs: { ...observed.jobs, [job.name]: outcome(job) } };
    }
    if (result.actions.some((a) => a.kind === 'serve') && !observed.serving) {
      observed = { ...observed, serving: { ready: true, url: 'http://127.0.0.1:8000', model: 'posters' } };
      continue;
    }
    if (jobs(result).length === 0 && !result.requeue) return { result, ran };
  }
  throw new Error('pipeline did not settle');
}

describe('image generation through the pipeline', () => {
  it('style set → LoRA on the tiny model → Triton Python model → Ready, with the proxy labelled and no FID invented', async () => {
    const { result, ran } = await drive(generationRequestFixture(), succeed());
    expect(ran.map((j) => [j.kind, j.runtime])).toEqual([['generation.data', 'sklearn'], ['generation.train', 'torch'], ['generation.convert', 'torch']]);
    expect(ran[0]!.spec).toMatchObject({ task: 'image-generation', resolution: 32, sources: [{ uri: '/data/style', format: 'imagefolder' }] });
    expect(ran[1]!.spec).toMatchObject({ model: { id: 'diffusion-tiny-lora', hyperparameters: { pretrained: 'tiny', steps: 40 } }, dataDir: '/artifacts/default/posters/jobs/' + ran[0]!.name });
    expect(result.status.phase).toBe('Ready');
    expect(condition(result, 'TargetMet')).toMatchObject({ status: 'True', reason: 'NoTargetStated' });
    expect(result.status.metric).toMatch(/^fid-proxy-efficientnet-lite0 388\.9 \(base 390\.0\): a proxy, not FID; FID and CLIP score not measured/);
    expect(result.status.model).toMatchObject({ format: 'triton-python', sizeBytes: 107_232, parameters: 2_139_541,
      metrics: { 'fid-proxy-efficientnet-lite0': 388.9, 'fid-proxy-efficientnet-lite0-base': 390 } });
    expect(result.status.model!.metrics.fid).toBeUndefined();
    expect(result.status.attempts![0]!.note).toMatch(/FID was not computed: no weights were given\. CLIP score was not computed/);
    expect(condition(result, 'Converted')!.message).toMatch(/reproduced the reference image for seed 1000/);
    expect(result.status.estimate!.reasoning[0]).toMatch(/one request is one image at 10 denoising steps and 32×32 px/);
    expect(result.status.data!.counts).toMatchObject({ train: 19, heldOut: 5, captionsFromNames: 24 });
    expect(result.status.plan!.steps.map((s) => s.id)).toEqual(['profile-style-set', 'caption-hold-out', 'select-base', 'fine-tune-lora', 'evaluate', 'package', 'benchmark-estimate', 'deploy', 'report']);
    const doc = result.actions.find((a): a is Extract<Action, { kind: 'writeFile' }> => a.kind === 'writeFile' && a.path.endsWith('openapi.json'))!;
    expect(JSON.parse(doc.content).paths['/v2/models/posters/infer'].post.responses['200'].content['application/json'].example.outputs[0].data).toEqual(['iVBORw0KGgo=']);
  });

  it('an FID target without Inception weights waits for the weights or a decision, saying why', async () => {
    const request = generationRequestFixture({ requirement: 'Fine-tune an image generator to make product posters in the style of our spring campaign with FID below 60.' });
    const objectives = [{ metric: 'fid' as const, op: '<=' as const, value: 60, measured: null, met: false }];
    const { result, ran } = await drive(request, succeed((job) => generationTrainFixture(`${job.outDir}/model`, {}, objectives)));
    expect(ran.filter((j) => j.kind === 'generation.train')).toHaveLength(1);
    expect(result.status.phase).toBe('AwaitingInput');
    expect(condition(result, 'TargetMet')).toMatchObject({ status: 'False', reason: 'MetricUnavailable' });
    expect(result.status.question).toMatch(/Give the weights in spec\.generation\.evaluation \(inceptionWeights for FID/);
  });

  it('a measured FID that misses trains twice as long, then keeps the better attempt', async () => {
    const request = generationRequestFixture({ requirement: 'Make posters in our spring campaign style, FID below 60.', budget: { maxAttempts: 2 },
      generation: { baseModel: 'tiny', evaluation: { inceptionWeights: 'weights/pt_inception.pth' } }, overrides: { deployBestAttempt: true } });
    const { result, ran } = await drive(request, succeed((job) => {
      const steps = (job.spec.model as { hyperparameters: { steps: number } }).hyperparameters.steps;
      const fid = steps === 40 ? 90 : 70;
      return generationTrainFixture(`${job.outDir}/model`, { fid }, [{ metric: 'fid', op: '<=', value: 60, measured: fid, met: false }]);
    }));
    const trains = ran.filter((j) => j.kind === 'generation.train');
    expect(trains.map((j) => (j.spec.model as { hyperparameters: { steps: number } }).hyperparameters.steps)).toEqual([40, 80]);
    expect(trains[0]!.spec).toMatchObject({ evaluation: { inceptionWeights: 'weights/pt_inception.pth' } });
    expect(result.status.model!.attempt).toBe(2);
    expect(result.status.metric).toBe('fid 70.00 (target <= 60) on 5 held-out style images');
    expect(condition(result, 'TargetMet')).toMatchObject({ status: 'False', reason: 'EvaluationBelowTarget' });
    expect(result.status.phase).toBe('Ready');
  });

  it.each([
    { name: 'Stable Diffusion on a CPU: stalled with the hours it would take', spec: { generation: {} }, reason: 'NoModelFits', message: /it needs a GPU/ },
    { name: 'a csv instead of images: asks for an image folder', spec: { data: [{ name: 'style', uri: 'file:x.csv', format: 'csv' as const, role: 'train' as const, textColumn: 'text', labelColumn: 'label' }] }, reason: 'NoStyleImages', message: /give an image folder instead/ },
  ])('$name', async ({ spec, reason, message }) => {
    const { result } = await drive(generationRequestFixture(spec), succeed());
    const c = result.status.conditions!.find((x) => x.reason === reason && x.message !== '');
    expect(c?.message).toMatch(message);
  });

  it('a packaging job that could not reproduce the reference stalls with its message', async () => {
    const { result } = await drive(generationRequestFixture(), (job) => job.kind === 'generation.convert'
      ? { state: 'Failed', message: "the reloaded LoRA does not reproduce the training job's reference image for seed 1000" }
      : succeed()(job));
    expect(result.status.phase).toBe('Failed');
    expect(condition(result, 'Converted')).toMatchObject({ status: 'False', reason: 'ConversionFailed', message: expect.stringMatching(/does not reproduce/) });
  });

  it('an image slower than the per-image limit is refused after measuring it', async () => {
    const { result } = await drive(generationRequestFixture({ requirement: 'Make posters in our spring campaign style, at most 1 second per image.' }), succeed());
    expect(result.status.phase).toBe('Failed');
    expect(condition(result, 'Deployed')).toMatchObject({ reason: 'EstimateInfeasible', message: expect.stringMatching(/Infeasible: a single request already takes 1,498 ms/) });
  });
});
