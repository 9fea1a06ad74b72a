import type http from "node:http";

/**
 * Buffers for large answers (a 1000-record history is ~800 KB), taken back once
 * the answer is sent and lent again. A fresh buffer per answer is memory outside
 * the JavaScript heap, and each few dozen megabytes of it make V8 run a full
 * collection: a pause of several milliseconds in the middle of some request.
 */
export class ReusableBuffers {
  private readonly free: Buffer[] = [];
  private releaseTimer: NodeJS.Timeout | null = null;
  /** Each lent view and the whole buffer it is part of. */
  private readonly lent = new WeakMap<Buffer, Buffer>();

  constructor(
    private readonly options: {
      /** Buffers kept for reuse (about the number of such answers in flight at once). */
      keep: number;
      /** Larger answers get a buffer of their own, not kept: at most keep x maxBytes are held. */
      maxBytes: number;
      /**
       * Kept buffers are let go once none was taken for this long: after a burst
       * of large answers, megabytes outside the heap are not held for good.
       */
      idleReleaseMs: number;
    },
  ) {}

  /** Bytes of the buffers kept for reuse, not counting those lent now. */
  get bytes(): number {
    return this.free.reduce((sum, buffer) => sum + buffer.length, 0);
  }

  /** A buffer of exactly `length` bytes, contents undefined. */
  take(length: number): Buffer {
    this.releaseWhenIdle();
    const index = this.free.findIndex((whole) => whole.length >= length);
    // A quarter to spare: the next answer of the same query is a few bytes longer or shorter.
    const whole = index >= 0 ? this.free.splice(index, 1)[0] : Buffer.allocUnsafe(Math.ceil(length * 1.25));
    const view = whole.subarray(0, length);
    this.lent.set(view, whole);
    return view;
  }

  /**
   * Takes the buffer back once `res` finishes: every byte accepted by the
   * socket, or the socket gone, so nothing reads it any more. A compressed
   * answer whose client left never finishes (its compressor may still be
   * reading), and its buffer is left to the garbage collector.
   */
  returnWhenSent(res: http.ServerResponse, view: Buffer) {
    const whole = this.lent.get(view);
    if (!whole) return;
    this.lent.delete(view);
    res.once("finish", () => this.keep(whole));
  }

  /** (Re)starts the wait after which the kept buffers are dropped; it never keeps the process alive. */
  private releaseWhenIdle() {
    if (this.releaseTimer) this.releaseTimer.refresh();
    else {
      this.releaseTimer = setTimeout(() => {
        this.releaseTimer = null;
        this.free.length = 0;
      }, this.options.idleReleaseMs);
      this.releaseTimer.unref();
    }
  }

  /** Keeps the largest buffers within the limits. */
  private keep(whole: Buffer) {
    if (whole.length > this.options.maxBytes) return;
    if (this.free.length < this.options.keep) {
      this.free.push(whole);
      return;
    }
    const smallest = this.free.reduce((min, buffer, i) => (buffer.length < this.free[min].length ? i : min), 0);
    if (this.free[smallest].length < whole.length) this.free[smallest] = whole;
  }
}
