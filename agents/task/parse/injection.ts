/**
 * Requirement text is untrusted. Sentences that try to instruct the system rather than describe the
 * model ("ignore previous instructions", "use 64 GPUs", "run image X", "in namespace kube-system")
 * are set aside before parsing, so they cannot become targets, and the user is told.
 */
const INSTRUCTION_PATTERNS: RegExp[] = [
  /\b(ignore|disregard|forget|override|bypass)\b[^.]{0,40}\b(previous|prior|above|earlier|all|your|the)\b[^.]{0,20}\b(instructions?|prompts?|rules?|guidelines?|polic(y|ies)|limits?|constraints?)\b/i,
  /\b(system prompt|developer mode|jailbreak|you are now|act as (an? )?(admin|root|system))\b/i,
  /\b(use|allocate|request|give (me|it)|run (it )?on|with)\s+\d+\s*(gpus?|nodes?|cpus?|cores?|replicas?|a100s?|h100s?)\b/i,
  /\b(use|run|pull|deploy|with)\b[^.]{0,20}\b(image|container image|docker image)\s*[:=]?\s*[\w./-]+(:[\w.-]+)?/i,
  /\b(namespace|serviceaccount|service account|secret|secrets|kubeconfig|cluster-?admin|clusterrole|hostpath|privileged|api[_ -]?key|token|credentials?)\b[^.]{0,40}\b(use|set|mount|read|print|show|reveal|leak|send|exfiltrat\w*|grant|change|to)\b/i,
  /\b(print|show|reveal|leak|send|exfiltrat\w*|dump)\b[^.]{0,40}\b(secrets?|api[_ -]?keys?|tokens?|credentials?|passwords?|environment variables?)\b/i,
  /\b(no|unlimited|infinite|remove (the )?)\s*(budget|limits?|quota)\b/i,
];

/** A requirement with instruction-like sentences removed, and what was removed. */
export interface ScreenedRequirement {
  text: string;
  removed: string[];
}

/** Split into sentences (English and Chinese punctuation) and drop the ones that give orders to the system. */
export function screenInstructions(requirement: string): ScreenedRequirement {
  const sentences = requirement.split(/(?<=[.!?;])\s+|(?<=[。！？；])\s*|\n+/).filter((s) => s.trim());
  const removed: string[] = [];
  const kept: string[] = [];
  for (const sentence of sentences) {
    if (INSTRUCTION_PATTERNS.some((p) => p.test(sentence))) removed.push(sentence.trim());
    else kept.push(sentence.trim());
  }
  return { text: kept.join(' '), removed };
}

/** The reason shown to the user when sentences were set aside. */
export function instructionNotice(removed: string[]): string {
  const quoted = removed.map((s) => `"${s.length > 80 ? `${s.slice(0, 77)}...` : s}"`).join(', ');
  return `Set aside ${removed.length} sentence(s) that give orders to the system rather than describe the model (${quoted}); limits, images, namespaces and secrets come only from the cluster's configuration and spec fields.`;
}
