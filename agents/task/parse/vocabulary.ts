import type { Modality, Task } from '../task-spec.js';

/** Evidence for one task: a pattern and how much it counts. */
interface Cue {
  pattern: RegExp;
  weight: number;
}

/** What each task sounds like, and which modality it implies. */
interface TaskVocabulary {
  task: Task;
  modality: Modality;
  cues: Cue[];
}

const cue = (pattern: RegExp, weight = 1): Cue => ({ pattern, weight });

// Words that name a kind of input. They make a generic verb ("classify", "detect") specific.
export const IMAGE_WORDS = /\b(images?|photos?|pictures?|pics?|scans?|x-?rays?|ct|mri|frames?|camera|cameras|dashcam|cctv|satellite|aerial|drone|screenshots?|thumbnails?|png|jpe?g|pixels?|visual|grayscale|rgb|handwritten|digits?|faces?|selfies?|posters?|logos?)\b/;
export const TEXT_WORDS = /\b(texts?|emails?|e-mails?|messages?|sms|reviews?|comments?|tweets?|posts?|headlines?|sentences?|documents?|docs|articles?|tickets?|queries|query|promotions?|captions?|transcripts?|chats?|utterances?|descriptions?|titles?|paragraphs?|spam|sentiment|intents?|toxic(ity)?|hate speech|language|words?|news|feedback|complaints?|notes?|contracts?|resumes?|cvs?|abstracts?|prompts?)\b/;
export const AUDIO_WORDS = /\b(audio|speech|voice|voices|sounds?|spoken|acoustic|recordings?|calls?|podcasts?|music|songs?|microphone|wav|mp3|utterances?)\b/;
export const VIDEO_WORDS = /\b(videos?|livestreams?|live[- ]?stream(ing)?|clips?|footage|movies?|films?)\b/;
export const TABLE_WORDS = /\b(tables?|tabular|csv|spreadsheets?|columns?|rows|features|records|applicants?|customers?|transactions?|churn|loans?|credit|claims?|patients?|sensor readings|census|house prices?|prices?)\b/;

const CLASSIFY = /\b(classif(y|ies|ier|ication|ying)|categori[sz](e|es|er|ers|ing|ation)|sort(s|ing)?|label(s|ling|ing)?|tag(s|ging)?|decides? whether|tell (whether|if|apart)|distinguish|identif(y|ies|ication)|recogni[sz](e|es|ing|er|ition)|filter(s|ing)?|flag(s|ging)?|moderat(e|ion)|spot(s|ting)?|detect(s|ing|or|ion)?|whether|is it)\b/;
const GENERATE = /\b(generat(e|es|ing|ion|or|ive)|produc(e|es|ing)|creat(e|es|ing)|synthesi[sz](e|es|ing)|draw(s|ing)?|render(s|ing)?|writ(e|es|ing)|compos(e|es|ing)|text-to-image|diffusion)\b/;

/** The vocabulary, most specific tasks first (ties go to the earlier entry). */
export const TASK_VOCABULARY: TaskVocabulary[] = [
  {
    task: 'video-question-answering',
    modality: 'video',
    cues: [cue(/\b(answer(s|ing)? questions?|question[- ]answering|\bqa\b|ask questions?)\b[^.]*\b(videos?|livestreams?|live[- ]?stream|clips?|footage)\b/, 4), cue(/\b(video|livestream)\w*\b[^.]*\b(answer(s|ing)? questions?|question[- ]answering)\b/, 4), cue(/\bvideo ?qa\b/, 4)],
  },
  {
    task: 'video-classification',
    modality: 'video',
    cues: [cue(/\baction recognition\b/, 3), cue(/\b(classif\w*|categori\w*|recogni\w*|tag\w*|label\w*)\b[^.]*\b(videos?|clips?|footage)\b/, 2.5), cue(/\b(detect\w*|flag\w*|moderat\w*)\b[^.]*\b(videos?|clips?|footage)\b/, 2), cue(/\b(videos?|clips?|footage)\b[^.]*\b(classif\w*|categori\w*)\b/, 2.5)],
  },
  {
    task: 'visual-grounding',
    modality: 'multimodal',
    cues: [cue(/\bgrounding\b/, 3), cue(/\breferring expressions?\b/, 3), cue(/\blocate\b[^.]*\b(mentioned|described|referred|said|spoken|named)\b/, 3), cue(/\b(mentioned|described)\b[^.]*\bin the (video )?(frame|image|picture)\b/, 2)],
  },
  {
    task: 'image-captioning',
    modality: 'multimodal',
    cues: [cue(/\bcaption(s|ing)?\b[^.]*\b(images?|photos?|pictures?)\b/, 3), cue(/\b(images?|photos?|pictures?)\b[^.]*\bcaption(s|ing)?\b/, 3), cue(/\b(describe|description of)\b[^.]*\b(images?|photos?|pictures?)\b/, 2), cue(/\balt[- ]text\b/, 3), cue(/\bcider\b/, 2)],
  },
  {
    task: 'ocr',
    modality: 'image',
    cues: [cue(/\bocr\b/, 4), cue(/\boptical character\b/, 4), cue(/\b(read|extract|transcrib\w*|digiti[sz]\w*)\b[^.]*\b(text|characters?|numbers?|digits|plates?)\b[^.]*\b(from|in|on)\b[^.]*\b(images?|photos?|scans?|receipts?|invoices?|documents?|pdfs?|screenshots?|licen[cs]e plates?|forms?)\b/, 3), cue(/\b(handwriting|handwritten text) recognition\b/, 3), cue(/\blicen[cs]e plate (recognition|reading)\b/, 3), cue(/\bcer\b/, 1)],
  },
  {
    task: 'speech-recognition',
    modality: 'audio',
    cues: [cue(/\bspeech[- ]recogni\w*/, 4), cue(/\basr\b/, 4), cue(/\bspeech[- ]to[- ]text\b/, 4), cue(/\btranscri(be|bes|bing|ption)\b[^.]*\b(audio|speech|calls?|voice|meetings?|recordings?|podcasts?|interviews?|dictation)\b/, 3), cue(/\bvoice (picking|commands?|dictation|input)\b/, 2), cue(/\b(recogni\w*)\b[^.]*\b(speech|spoken|voice)\b/, 2), cue(/\bwer\b|\bword error rate\b/, 2), cue(/\bdictation\b/, 2)],
  },
  {
    task: 'audio-classification',
    modality: 'audio',
    cues: [cue(/\b(classif\w*|categori\w*|detect\w*|recogni\w*|identif\w*|tag\w*)\b[^.]*\b(audio|sounds?|acoustic|music|songs?|noises?|bird ?songs?|gunshots?|coughs?)\b/, 2.5), cue(/\b(audio|sound|acoustic)\b[^.]*\b(classif\w*|event detection|tagging)\b/, 3), cue(/\bkeyword spotting\b|\bwake[- ]word\b/, 3), cue(/\bspeaker (identification|verification|recognition)\b/, 3), cue(/\bmusic genre\b/, 3)],
  },
  {
    task: 'image-generation',
    modality: 'image',
    cues: [cue(/\btext[- ]to[- ]image\b/, 4), cue(/\b(stable )?diffusion\b/, 2), cue(/\bgenerat\w*\b[^.]*\b(images?|pictures?|photos?|posters?|artwork|art|illustrations?|logos?|banners?|avatars?|renders?|textures?|icons?)\b/, 3), cue(/\b(create|draw|design|render|synthesi[sz]e)\b[^.]*\b(images?|pictures?|posters?|illustrations?|artwork|logos?|avatars?)\b/, 2), cue(/\bfid\b/, 2)],
  },
  {
    task: 'image-segmentation',
    modality: 'image',
    cues: [cue(/\bsegment(s|ing|ation)?\b/, 3), cue(/\b(pixel[- ]wise|per[- ]pixel|masks?|matting)\b/, 2), cue(/\bm?iou\b|\bdice\b/, 1.5)],
  },
  {
    task: 'object-detection',
    modality: 'image',
    cues: [cue(/\bobject detect\w*/, 4), cue(/\bbounding[- ]box(es)?\b/, 3), cue(/\bdetect\w*\b[^.]*\b(in|on|from)\b[^.]*\b(images?|photos?|pictures?|camera|cameras|frames?|footage|video|dashcam|cctv|scans?|x-?rays?)\b/, 2.5), cue(/\b(locat\w*|count\w*|find)\b[^.]*\b(objects?|cars?|people|pedestrians?|vehicles?|defects?|products?|animals?|faces?)\b[^.]*\b(images?|photos?|camera|frames?|footage|shelves?)\b/, 2), cue(/\bmap\b|\bmean average precision\b/, 2), cue(/\byolo\b|\bdetr\b/, 2)],
  },
  {
    task: 'image-classification',
    modality: 'image',
    cues: [cue(/\bimage classif\w*/, 4), cue(/\b(classif\w*|categori\w*|recogni[sz]\w*|identif\w*|sort\w*|tell\b|distinguish\w*|grade|grading|label\w*|tag\w*|detect\w* whether|spot\w*)\b[^.]*\b(images?|photos?|pictures?|scans?|x-?rays?|digits?|handwritten|frames?|screenshots?|thumbnails?|faces?|selfies?|leaf|leaves|skin lesions?|mri|ct)\b/, 2.5), cue(/\b(images?|photos?|pictures?|scans?)\b[^.]*\b(classif\w*|categori\w*|as (cats?|dogs?|defective|ok|normal))\b/, 2.5), cue(/\b\d+ ?x ?\d+\b[^.]*\b(grayscale|images?|scans?|pixels?)\b/, 1)],
  },
  {
    task: 'translation',
    modality: 'text',
    cues: [cue(/\btranslat\w*/, 4), cue(/\bfrom (english|chinese|french|german|spanish|japanese|korean|arabic|russian|portuguese|italian) (in)?to (english|chinese|french|german|spanish|japanese|korean|arabic|russian|portuguese|italian)\b/, 3), cue(/\bbleu\b/, 2), cue(/\bmachine translation\b|\bmt\b/, 2)],
  },
  {
    task: 'summarization',
    modality: 'text',
    cues: [cue(/\bsummar(y|ies|i[sz]e|i[sz]es|i[sz]ing|i[sz]ation|i[sz]er)\b/, 4), cue(/\btl;?dr\b/, 3), cue(/\brouge\w*/, 2), cue(/\b(condense|digest|shorten)\b[^.]*\b(articles?|documents?|reports?|texts?|meetings?|complaints?|emails?)\b/, 2)],
  },
  {
    task: 'question-answering',
    modality: 'text',
    cues: [cue(/\bquestion[- ]answering\b/, 4), cue(/\banswer(s|ing)?\s+([\w-]+\s+){0,3}questions?\b/, 3), cue(/\b(faq|reading comprehension|extractive qa|\bqa\b)\b/, 2.5), cue(/\bexact[- ]match\b|\bem\b/, 1.5)],
  },
  {
    task: 'token-classification',
    modality: 'text',
    cues: [cue(/\bner\b/, 4), cue(/\bnamed[- ]entit\w*/, 4), cue(/\btoken classif\w*/, 4), cue(/\b(part[- ]of[- ]speech|pos tagg\w*|slot filling|chunking)\b/, 3), cue(/\b(tag|extract|highlight|mark|find|recogni[sz]e|identif\w*)\b[^.]*\b(entit\w*|brand names?|product names?|person names?|names of|dates?|addresses?|amounts?|skills?|medications?|dosages?|spans?|pii|keywords?)\b[^.]*\b(in|from)\b/, 2.5)],
  },
  {
    task: 'time-series-forecasting',
    modality: 'tabular',
    cues: [cue(/\bforecast\w*/, 4), cue(/\btime[- ]series\b/, 3), cue(/\bpredict\w*\b[^.]*\b(next|coming|following|future|upcoming)\s+(\d+\s+)?(hours?|days?|weeks?|months?|quarters?|years?|minutes?)\b/, 3), cue(/\b(hourly|daily|weekly|monthly) (demand|sales|traffic|load|usage|visits|revenue|consumption)\b/, 2), cue(/\bmape\b/, 1)],
  },
  {
    task: 'tabular-regression',
    modality: 'tabular',
    cues: [cue(/\bregression\b/, 2), cue(/\b(predict|estimat)\w*\b[^.]*\b(prices?|values?|amounts?|salar(y|ies)|revenue|costs?|durations?|age|scores?|yields?|consumption|time to|length of stay|ratings?|temperatures?)\b/, 2), cue(/\b(rmse|mae|r2|r-squared|mean (absolute|squared) error)\b/, 2), cue(/\b(table|tabular|features|columns|csv|spreadsheet)\b/, 0.5)],
  },
  {
    task: 'tabular-classification',
    modality: 'tabular',
    cues: [cue(/\b(predict|classif|identif|flag|score|detect)\w*\b[^.]*\b(churn|default|defaults|fraud(ulent)?|applicants?|customers?|patients?|loans?|credit|transactions?|claims?|rows|tabular|table|csv|spreadsheet|diagnos\w*|readmission|conversion|purchases?)\b/, 2), cue(/\bwhich (loan |credit )?(applicants?|customers?|patients?|users?|transactions?|accounts?)\b/, 2), cue(/\b(tabular|structured) (data )?classif\w*/, 4), cue(/\bauc\b|\broc\b/, 1), cue(/\b(table|tabular|features|columns|csv|spreadsheet)\b/, 0.5)],
  },
  {
    task: 'text-generation',
    modality: 'text',
    cues: [cue(/\b(chat ?bot|assistant|copywriting|copywriter|autocomplete|auto-complete|language model|llm)\b/, 2), cue(/\b(generat\w*|writ(e|es|ing)|produc\w*|compos\w*|draft\w*|creat\w*)\b[^.]*\b(texts?|descriptions?|copy|messages?|emails?|posts?|stories|story|poems?|articles?|slogans?|replies|responses?|reviews?|tweets?|ads?|headlines?|code)\b/, 2.5), cue(/\btext generation\b/, 4)],
  },
  {
    task: 'text-classification',
    modality: 'text',
    cues: [cue(/\btext classif\w*/, 4), cue(/\b(spam|ham|sentiment|intent|toxic\w*|hate speech|topic|phishing|fake news|clickbait|stance|emotion|polarity|language identification)\b/, 1.5), cue(new RegExp(`${CLASSIFY.source}[^.]*${TEXT_WORDS.source}`), 2.5), cue(new RegExp(`${TEXT_WORDS.source}[^.]*${CLASSIFY.source}`), 2), cue(/\bclassifier\b/, 1)],
  },
];

/** How strongly the vocabulary supports each task in `text` (lower-cased, normalised); zero scores omitted. */
export function taskCueScores(text: string): Map<Task, number> {
  const out = new Map<Task, number>();
  for (const entry of TASK_VOCABULARY) {
    const score = entry.cues.reduce((sum, c) => sum + (c.pattern.test(text) ? c.weight : 0), 0);
    if (score > 0) out.set(entry.task, score);
  }
  return out;
}

/** The modality a task implies. */
export function modalityOf(task: Task): Modality {
  return TASK_VOCABULARY.find((e) => e.task === task)!.modality;
}

/** The best-supported task for `text` (lower-cased, normalised), or undefined when nothing fits. */
export function detectTask(text: string): { task: Task; modality: Modality; score: number } | undefined {
  let best: { task: Task; modality: Modality; score: number } | undefined;
  for (const entry of TASK_VOCABULARY) {
    const score = entry.cues.reduce((sum, c) => sum + (c.pattern.test(text) ? c.weight : 0), 0);
    if (score >= 1.5 && (!best || score > best.score)) best = { task: entry.task, modality: entry.modality, score };
  }
  return best;
}

/** Modality from input words alone, for requests whose task is unclear. */
export function detectModality(text: string): Modality | undefined {
  const hits: [Modality, boolean][] = [
    ['video', VIDEO_WORDS.test(text)],
    ['audio', AUDIO_WORDS.test(text)],
    ['image', IMAGE_WORDS.test(text)],
    ['tabular', TABLE_WORDS.test(text)],
    ['text', TEXT_WORDS.test(text)],
  ];
  const found = hits.filter(([, hit]) => hit).map(([m]) => m);
  if (found.length === 0) return undefined;
  return found.length > 1 && found.includes('image') && found.includes('text') ? 'multimodal' : found[0];
}

/** Generic generation/classification verbs, exported for the judge. */
export const VERBS = { CLASSIFY, GENERATE };
