// An ETA that is honest early on: nothing ("estimating…") until a few batches have been timed,
// then the rate of the most recent batches (a moving window). The first batch is never timed (it
// carries one-off costs: pipeline compilation, autotuning, cold caches), and a change of pace
// (longer rows later in a file) shows within a few batches.
export interface EtaOptions {
  /** Batches timed after the first before estimating at all. */
  warmup: number;
  /** The most recent batches the rate is taken over. */
  window: number;
}

export class EtaEstimator {
  /** (time, units done) at the end of recent batches; the oldest is where the window's timing starts. */
  private readonly marks: { at: number; done: number }[] = [];
  private readonly opts: EtaOptions;

  constructor(
    private readonly total: number,
    opts: Partial<EtaOptions> = {},
  ) {
    this.opts = { warmup: 2, window: 8, ...opts };
  }

  /** Records that `done` of `total` units are finished at `now` (ms); returns the seconds left, or null while estimating. */
  update(done: number, now: number = Date.now()): number | null {
    this.marks.push({ at: now, done });
    if (this.marks.length > this.opts.window + 1) this.marks.shift();
    if (done >= this.total) return 0;
    if (this.marks.length < this.opts.warmup + 1) return null;
    const first = this.marks[0];
    const last = this.marks[this.marks.length - 1];
    const units = last.done - first.done;
    const ms = last.at - first.at;
    return units > 0 && ms > 0 ? ((this.total - done) * ms) / 1000 / units : null;
  }
}
