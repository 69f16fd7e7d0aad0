/**
 * Stops calling a failing dependency: after `threshold` consecutive failures the circuit opens for
 * `cooldownMs`, then one trial call is let through (half-open).
 */
export class CircuitBreaker {
  private failures = 0;
  private openedAt: number | undefined;

  constructor(
    private readonly threshold = 3,
    private readonly cooldownMs = 60_000,
    private readonly now: () => number = Date.now,
  ) {}

  /** True when a call may go through now. */
  allows(): boolean {
    if (this.openedAt === undefined) return true;
    return this.now() - this.openedAt >= this.cooldownMs;
  }

  /** Record a success: the circuit closes. */
  succeeded(): void {
    this.failures = 0;
    this.openedAt = undefined;
  }

  /** Record a failure: the circuit opens after enough in a row. */
  failed(): void {
    this.failures += 1;
    if (this.failures >= this.threshold) this.openedAt = this.now();
  }

  /** Whether the circuit is open (calls are being refused). */
  get open(): boolean {
    return !this.allows();
  }
}
