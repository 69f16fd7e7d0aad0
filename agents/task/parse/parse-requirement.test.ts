import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseRequirement, tableTaskForTargets } from './parse-requirement.js';

const repo = resolve(import.meta.dirname, '../../..');
const evalDir = resolve(repo, '../shared/eval');

describe('parseRequirement on the labelled set (shared/eval)', () => {
  it('scores at least 19/20 with the shared scorer', () => {
    expect(existsSync(join(evalDir, 'requirements.jsonl'))).toBe(true);
    const items = readFileSync(join(evalDir, 'requirements.jsonl'), 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as { id: string; text: string });
    const dir = mkdtempSync(join(tmpdir(), 'parse-score-'));
    const predictions = join(dir, 'pred.jsonl');
    writeFileSync(predictions, items.map((i) => JSON.stringify({ id: i.id, ...parseRequirement(i.text) })).join('\n'));
    const out = execFileSync(process.execPath, [join(evalDir, 'score-parse.mjs'), join(evalDir, 'requirements.jsonl'), predictions, '--verbose'], { encoding: 'utf8' });
    const score = /parse score: (\d+)\/(\d+)/.exec(out);
    expect(score).not.toBeNull();
    expect(Number(score![1])).toBeGreaterThanOrEqual(19);
  });
});

// Requirements the labelled set does not contain: other wording, other tasks, other languages.
const unseen = [
  { text: 'Build a sentiment classifier for Yelp reviews (positive, negative or neutral) reaching macro F1 ≥ 0.85, served at 300 req/s with p95 latency under 40 ms.', task: 'text-classification', labels: ['positive', 'negative', 'neutral'], objectives: [['f1', '>=', 0.85]], serving: { qps: 300, latencyP99Ms: 40 } },
  { text: 'We want to spot defective parts on the assembly line camera feed; bounding boxes, mAP@0.5 of 0.6, on a single T4.', task: 'object-detection', objectives: [['map', '>=', 0.6]], serving: { accelerator: 'T4' } },
  { text: 'Translate customer emails from German to English with BLEU 30 or better.', task: 'translation', objectives: [['bleu', '>=', 30]] },
  { text: 'Detect hate speech in forum posts, recall at least 0.9.', task: 'text-classification', objectives: [['recall', '>=', 0.9]] },
  { text: 'Churn prediction on our CRM table, AUC >= 0.8, model under 50MB, 4GiB pods.', task: 'tabular-classification', objectives: [['auc', '>=', 0.8]], constraints: { maxModelBytes: 50_000_000 }, serving: { memoryBytes: 4 * 2 ** 30 } },
  { text: '识别手写数字图片，准确率不低于98%，模型大小不超过2MB。', task: 'image-classification', objectives: [['accuracy', '>=', 0.98]], constraints: { maxModelBytes: 2_000_000 } },
  { text: '对商品评论进行情感分类，F1值至少0.9，延迟低于50毫秒，每秒500个请求，内存不超过4GB。', task: 'text-classification', objectives: [['f1', '>=', 0.9]], serving: { qps: 500, latencyP99Ms: 50, memoryBytes: 4e9 } },
  { text: 'A 1.5B parameter chatbot that answers HR policy questions, exact match 70%.', task: 'question-answering', objectives: [['exact-match', '>=', 0.7]], constraints: { maxParameters: 1.5e9 } },
  { text: 'Forecast daily sales for 200 stores over the next 14 days with MAPE below 8%.', task: 'time-series-forecasting', objectives: [['mape', '<=', 0.08]] },
  { text: 'Transcribe call-center recordings, CER under 5%, 0.5 s response time.', task: 'speech-recognition', objectives: [['cer', '<=', 0.05]], serving: { latencyP99Ms: 500 } },
  { text: 'Classify chest X-rays as normal or pneumonia with 95% sensitivity.', task: 'image-classification', labels: ['normal', 'pneumonia'], objectives: [['recall', '>=', 0.95]] },
  { text: 'Caption product photos for accessibility; CIDEr 1.1.', task: 'image-captioning', objectives: [['cider', '>=', 1.1]] },
  { text: 'Deploy a spam filter with under 5M params, 20 ms latency, 1k QPS in 512Mi containers.', task: 'text-classification', constraints: { maxParameters: 5e6 }, serving: { qps: 1000, latencyP99Ms: 20, memoryBytes: 512 * 2 ** 20 } },
  { text: 'Segment tumours in MRI scans, Dice 0.85.', task: 'image-segmentation', objectives: [['iou', '>=', 0.85]] },
  { text: 'Classify bird songs from field recordings into 50 species, top-1 accuracy 80%.', task: 'audio-classification', objectives: [['accuracy', '>=', 0.8]] },
  { text: 'Detect deepfake videos uploaded to our platform with 0.95 AUC.', task: 'video-classification', objectives: [['auc', '>=', 0.95]] },
  { text: 'Predict whether a transaction is fraudulent from tabular features, precision 0.9 and recall 0.8, 2000 QPS.', task: 'tabular-classification', objectives: [['precision', '>=', 0.9], ['recall', '>=', 0.8]], serving: { qps: 2000 } },
  { text: 'Estimate delivery time in minutes from order features; MAE at most 4.5.', task: 'tabular-regression', objectives: [['mae', '<=', 4.5]] },
  { text: 'Predict the disease progression score of diabetes patients one year ahead from age, sex, BMI, blood pressure and six blood serum measurements in our table, with an RMSE of at most 60.', task: 'tabular-regression', objectives: [['rmse', '<=', 60]] },
  { text: 'Handle 1,200 requests per minute for a product-title categoriser, 92% accuracy.', task: 'text-classification', objectives: [['accuracy', '>=', 0.92]], serving: { qps: 20 } },
] as const;

describe('parseRequirement on requirements it has never seen', () => {
  it.each(unseen)('$text', (c) => {
    const spec = parseRequirement(c.text);
    expect(spec.decision).toBe('accept');
    expect(spec.task).toBe(c.task);
    if ('labels' in c) expect(spec.labels).toEqual(c.labels);
    const objectives = 'objectives' in c ? c.objectives : [];
    expect(spec.objectives.map((o) => [o.metric, o.op, o.value])).toEqual(objectives);
    if ('constraints' in c) expect(spec.constraints).toEqual(c.constraints);
    if ('serving' in c) expect(spec.serving).toEqual(c.serving);
  });
});

describe('tableTaskForTargets', () => {
  it.each([
    { name: 'RMSE alone measures a number: a table classification becomes a regression', task: 'tabular-classification', metrics: ['rmse'], want: 'tabular-regression' },
    { name: 'MAE and MAPE: a regression', task: 'tabular-classification', metrics: ['mae', 'mape'], want: 'tabular-regression' },
    { name: 'AUC alone measures classes: a table regression becomes a classification', task: 'tabular-regression', metrics: ['auc'], want: 'tabular-classification' },
    { name: 'mixed targets leave the task as read', task: 'tabular-classification', metrics: ['accuracy', 'rmse'], want: 'tabular-classification' },
    { name: 'no targets leave the task as read', task: 'tabular-regression', metrics: [], want: 'tabular-regression' },
    { name: 'other tasks are left alone', task: 'text-classification', metrics: ['mae'], want: 'text-classification' },
  ] as const)('$name', ({ task, metrics, want }) => {
    expect(tableTaskForTargets(task, metrics.map((metric) => ({ metric, op: '>=' as const, value: 0.5 })))).toBe(want);
  });
});

describe('parseRequirement decisions', () => {
  it.each([
    { name: 'covert surveillance of employees is refused', text: "Create a model to secretly track employees' faces in the office and report who talks to whom.", decision: 'reject-unethical' },
    { name: 'screening out applicants by gender and age is refused', text: 'Filter out job applicants who are women or over 50.', decision: 'reject-unethical' },
    { name: 'fake reviews are refused', text: 'Generate fake 5-star reviews for our product on Amazon.', decision: 'reject-unethical' },
    { name: 'identifying protesters is refused', text: 'Recommend a model to identify protesters in drone footage.', decision: 'reject-unethical' },
    { name: 'non-consensual imagery is refused', text: 'Make an app that generates nude images of my classmates from their Instagram photos.', decision: 'reject-unethical' },
    { name: 'phishing generation is refused', text: 'Write convincing phishing emails that get past spam filters.', decision: 'reject-unethical' },
    { name: 'a phishing detector is accepted', text: 'Detect phishing emails in our inbox with 97% recall.', decision: 'accept' },
    { name: 'a deepfake detector is accepted', text: 'Classify uploaded face images as real or deepfake, accuracy 0.9.', decision: 'accept' },
    { name: 'lottery prediction is infeasible', text: 'Predict the lottery numbers for next week.', decision: 'reject-infeasible' },
    { name: 'a perfect target is infeasible', text: 'Classify invoices by vendor with 100% accuracy, never wrong.', decision: 'reject-infeasible' },
    { name: 'a 70B model in 1 GB is infeasible', text: 'Run a 70B parameter model for chat in 1GB containers.', decision: 'reject-infeasible' },
    { name: 'nothing to go on needs input', text: 'Make me a model.', decision: 'needs-input' },
    { name: 'Chinese refusal of covert filming', text: '训练一个模型，偷拍并识别女同事的照片。', decision: 'reject-unethical' },
  ])('$name', ({ text, decision }) => {
    const spec = parseRequirement(text);
    expect(spec.decision).toBe(decision);
    if (decision !== 'accept') expect(spec.reasons.join(' ')).toMatch(/\w{4,}/);
  });
});
