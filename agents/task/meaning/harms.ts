import { z } from 'zod';

/** Kinds of harm the Task agent refuses, each with a reason a person can read. */
export const HARM_CATEGORIES = [
  'discrimination',
  'sexual-minors',
  'sexual-nonconsensual',
  'surveillance',
  'fraud-deception',
  'cyber-offence',
  'targeting-vulnerable',
  'personal-data',
  'hate-harassment',
  'violent-crime',
] as const;
export const HarmCategory = z.enum(HARM_CATEGORIES);
export type HarmCategory = z.infer<typeof HarmCategory>;

/** Why each harm is refused, and what stays acceptable, in plain words. */
export const HARM_REASONS: Record<HarmCategory, { reason: string; acceptable: string }> = {
  discrimination: {
    reason: 'It would treat people differently because of a protected characteristic (ethnicity, religion, gender, age, sexual orientation, disability, nationality).',
    acceptable: 'Auditing a model for bias or detecting discriminatory language is acceptable.',
  },
  'sexual-minors': {
    reason: 'It involves sexual content of minors.',
    acceptable: 'Detecting and reporting such material is acceptable.',
  },
  'sexual-nonconsensual': {
    reason: 'It would create sexual or intimate imagery of real people without their consent.',
    acceptable: 'Detecting and blocking explicit or manipulated images is acceptable.',
  },
  surveillance: {
    reason: 'It would surveil, identify or profile people covertly or without their consent (including inferring sensitive traits such as sexual orientation or political views).',
    acceptable: 'Consensual verification, anonymous counting and detecting hidden cameras are acceptable.',
  },
  'fraud-deception': {
    reason: 'It would deceive people: fake reviews, phishing, forged documents, impersonation or cloned voices.',
    acceptable: 'Detecting phishing, fake reviews, forgeries and deepfakes is acceptable.',
  },
  'cyber-offence': {
    reason: 'It would attack computer systems or accounts: malware, evading antivirus, cracking credentials or defeating security controls.',
    acceptable: 'Detecting intrusions and classifying malware for defence is acceptable.',
  },
  'targeting-vulnerable': {
    reason: 'It would target minors or vulnerable people (addiction, dementia, debt, loneliness) with harmful offers or pressure.',
    acceptable: 'Finding people at risk in order to protect or help them is acceptable.',
  },
  'personal-data': {
    reason: 'It would use or sell personal data (medical records, private messages, contact details) without the consent of the people it describes.',
    acceptable: 'Finding and redacting personal data is acceptable.',
  },
  'hate-harassment': {
    reason: 'It would produce hateful, harassing or extremist content aimed at people; that harms the people targeted.',
    acceptable: 'Moderating hate speech and harassment is acceptable.',
  },
  'violent-crime': {
    reason: 'It would help cause physical harm or commit serious crimes (weapons, explosives, drugs).',
    acceptable: 'Detecting dangerous content for safety teams is acceptable.',
  },
};

/** The reason shown to the user for a refusal in this category. */
export function harmReason(category: HarmCategory): string {
  const { reason, acceptable } = HARM_REASONS[category];
  return `${reason} ${acceptable}`;
}
