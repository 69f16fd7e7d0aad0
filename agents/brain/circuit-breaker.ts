/**
 * Stops calling a failing dependency: after `threshold` consecutive failures the circuit opens for
 * `cooldownMs`, then one trial call is let through (half-open): its success closes the circuit, its
 * failure opens it for another cooldown. Callers report every call `allows()` let through with
 * `succeeded()` or `failed()`.
 */
export class CircuitBreaker {
  private failures = 0;
  private openedAt: number | undefined;
  private trialInFlight = false;

  constructor(
    private readonly threshold = 3,
    private readonly cooldownMs = 60_000,
    private readonly now: () => number = Date.now,
  ) {}

  /** True when a call may go through now; in half-open state only the first caller gets true. */
  allows(): boolean {
    if (this.openedAt === undefined) return true;
    if (this.open) return false;
    this.trialInFlight = true;
    return true;
  }

  /** Record a success: the circuit closes. */
  succeeded(): void {
    this.failures = 0;
    this.openedAt = undefined;
    this.trialInFlight = false;
  }

  /** Record a failure: the circuit opens after enough in a row (at once after a failed trial). */
  failed(): void {
    this.failures += 1;
    this.trialInFlight = false;
    if (this.failures >= this.threshold) this.openedAt = this.now();
  }

  /** Whether the circuit is open (calls are being refused); no side effect. */
  get open(): boolean {
    if (this.openedAt === undefined) return false;
    return this.trialInFlight || this.now() - this.openedAt < this.cooldownMs;
  }
}
