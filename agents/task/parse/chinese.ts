import { normaliseChineseNumbers } from './numbers.js';

/**
 * Chinese requirement vocabulary mapped onto the English words the parser already reads, so one
 * grammar serves both languages. Order matters: longer phrases first.
 */
const ZH_TERMS: [RegExp, string][] = [
  [/每秒(?:钟)?(?:处理|支持|承载|响应)?\s*(\d[\d.]*)\s*(?:个|次|条)?(?:请求|查询|调用)?/g, ' $1 qps '],
  [/(\d[\d.]*)\s*(?:个|次)?(?:请求|查询)\s*\/\s*秒/g, ' $1 qps '],
  [/每分钟(?:处理)?\s*(\d[\d.]*)\s*(?:个|次|条)?(?:请求|查询)?/g, ' $1 requests per minute '],
  [/准确率|正确率|准确度|精确度|精度|识别率/g, ' accuracy '],
  [/召回率/g, ' recall '],
  [/精确率|查准率/g, ' precision '],
  [/f1\s*(?:值|分数)/gi, ' f1 '],
  [/平均精度均值/g, ' map '],
  [/交并比/g, ' iou '],
  [/词错误率|字错误率/g, ' wer '],
  [/均方根误差/g, ' rmse '],
  [/平均绝对误差/g, ' mae '],
  [/不低于|不少于|不小于|至少|最少|大于等于|高于|大于|超过|以上/g, ' at least '],
  [/不超过|不高于|不大于|小于等于|低于|小于|少于|最多|以内|以下|之内/g, ' under '],
  [/延迟|时延|响应时间|推理时间/g, ' latency '],
  [/毫秒/g, ' ms '],
  [/参数量|参数数量|参数/g, ' parameters '],
  [/显存|内存/g, ' memory '],
  [/容器/g, ' containers '],
  [/副本|实例/g, ' replica '],
  [/模型大小|模型体积|模型文件/g, ' model size '],
  [/垃圾邮件/g, ' spam email '],
  [/邮件/g, ' email '],
  [/情感|情绪/g, ' sentiment '],
  [/评论/g, ' reviews '],
  [/文本|句子/g, ' text '],
  [/新闻标题|标题/g, ' headlines '],
  [/命名实体识别|实体识别|命名实体/g, ' named entity recognition '],
  [/分类器|分类模型|分类/g, ' classifier '],
  [/目标检测|物体检测|检测/g, ' detect '],
  [/语义分割|实例分割|分割/g, ' segmentation '],
  [/翻译/g, ' translate '],
  [/摘要|总结/g, ' summarize '],
  [/问答/g, ' question answering '],
  [/语音识别|语音转文字|语音转写/g, ' speech recognition '],
  [/声音|音频/g, ' audio '],
  [/文字识别|光学字符识别/g, ' ocr '],
  [/人脸识别/g, ' face recognition '],
  [/识别|辨认/g, ' recognize '],
  [/图片|图像|照片/g, ' images '],
  [/视频|直播/g, ' video '],
  [/表格/g, ' table '],
  [/时间序列|时序/g, ' time series '],
  [/预测/g, ' predict '],
  [/未来/g, ' next '],
  [/小时/g, ' hours '],
  [/销量|需求量/g, ' sales demand '],
  [/房价/g, ' house prices '],
  [/生成/g, ' generate '],
  [/海报/g, ' poster '],
  [/手写数字|数字/g, ' digits '],
  [/偷拍|偷窥/g, ' secretly photograph '],
  [/裸照|色情|脱衣/g, ' nude explicit '],
  [/诈骗|欺诈/g, ' fraud '],
  [/监控|跟踪/g, ' track '],
  [/员工/g, ' employees '],
  [/秘密|偷偷|暗中/g, ' secretly '],
  [/歧视/g, ' discriminate '],
  [/种族/g, ' race '],
  [/仇恨/g, ' hateful '],
  [/保证|确保百分之百/g, ' guarantee '],
  [/股票|股价/g, ' stock price '],
  [/没有标注|无标注|没有标签|无标签/g, ' no labelled data '],
  [/无人标注|没人标注|无法标注|不能标注/g, ' nobody can annotate '],
  [/个类别|类/g, ' classes '],
  [/，|、/g, ', '],
  [/。|；/g, '. '],
];

/** True when the text has any CJK ideographs. */
export function hasChinese(text: string): boolean {
  return /[\u4e00-\u9fff]/.test(text);
}

/** Rewrite Chinese requirement text into the English vocabulary the parser reads. */
export function normaliseChinese(text: string): string {
  if (!hasChinese(text)) return text;
  let out = normaliseChineseNumbers(text);
  for (const [pattern, replacement] of ZH_TERMS) out = out.replace(pattern, replacement);
  return out.replace(/[\u4e00-\u9fff]+/g, ' ').replace(/\s+/g, ' ').trim();
}
