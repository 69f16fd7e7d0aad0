/**
 * Spanish requirement vocabulary mapped onto the English words the parser reads, as chinese.ts
 * does for Chinese, so numbers, metrics and limits written in Spanish become the same targets.
 * Longer phrases first.
 */
const ES_TERMS: [RegExp, string][] = [
  [/\b(?:consultas|peticiones|solicitudes|llamadas|inferencias|predicciones)\s+(?:por|cada|al|x)\s+segundo\b/g, ' requests per second '],
  [/\b(?:consultas|peticiones|solicitudes)\s+(?:por|al)\s+minuto\b/g, ' requests per minute '],
  [/\bpor segundo\b/g, ' per second '],
  [/\bpor minuto\b/g, ' per minute '],
  [/\btasa de error de palabras?\b/g, ' word error rate '],
  [/\btasa de error de caracteres\b/g, ' character error rate '],
  [/\bra[ií]z del error cuadr[aá]tico medio\b/g, ' rmse '],
  [/\berror absoluto medio\b/g, ' mean absolute error '],
  [/\bprecisi[oó]n media\b/g, ' map '],
  [/\b(?:exactitud|precisi[oó]n|acierto|tasa de acierto|porcentaje de acierto)\b/g, ' accuracy '],
  [/\b(?:exhaustividad|sensibilidad|cobertura)\b/g, ' recall '],
  [/\b(?:puntuaci[oó]n|valor|medida)\s+f1\b/g, ' f1 '],
  [/\b(?:al menos|como m[ií]nimo|por lo menos|no menos de|m[ií]nimo de|superior a|superiores a|mayor que|mayor de|m[aá]s de|por encima de|a partir de)\b/g, ' at least '],
  [/\b(?:como m[aá]ximo|no m[aá]s de|m[aá]ximo de|menos de|inferior a|inferiores a|por debajo de|menor que|menor de|hasta)\b/g, ' under '],
  [/\b(?:latencia|tiempo de respuesta|tiempo de inferencia)\b/g, ' latency '],
  [/\bmilisegundos?\b/g, ' ms '],
  [/\bsegundos?\b/g, ' seconds '],
  [/\bpar[aá]metros\b/g, ' parameters '],
  [/\bmil millones\b/g, ' billion '],
  [/\bmillones(?: de)?\b/g, ' million '],
  [/\bmemoria\b/g, ' memory '],
  [/\bcontenedores?\b/g, ' containers '],
  [/\br[eé]plicas?\b/g, ' replica '],
  [/\btama[nñ]o del modelo\b/g, ' model size '],
  [/\bmodelo\b/g, ' model '],
];

const SPANISH_WORDS = /\b(el|la|los|las|del|que|para|con|una?|por|según|cada|sin|datos|modelo|quiero|necesito)\b/g;

/** True when the text reads as Spanish (accents or several Spanish function words). */
export function looksSpanish(text: string): boolean {
  return /[áéíóúñ¿¡]/i.test(text) || (text.toLowerCase().match(SPANISH_WORDS)?.length ?? 0) >= 3;
}

/**
 * Rewrite Spanish requirement text into the English vocabulary the parser reads. Spanish writes
 * decimals with a comma and thousands with a dot ("0,9", "1.000"): those become "0.9" and "1000".
 */
export function normaliseSpanish(text: string): string {
  if (!looksSpanish(text)) return text;
  let out = text
    .toLowerCase()
    .replace(/(\d)\.(\d{3})(?!\d)/g, '$1$2')
    .replace(/(\d),(\d)/g, '$1.$2');
  for (const [pattern, replacement] of ES_TERMS) out = out.replace(pattern, replacement);
  return out.replace(/\s+/g, ' ').trim();
}
