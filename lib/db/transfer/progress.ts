/** What a transfer reports as it goes: rows so far of all it will move, its speed and the time left at that speed. */
export interface TransferProgress {
  /** copy and verify count rows; index counts the indexes and foreign keys built after the copy */
  phase: "copy" | "index" | "verify";
  table: string;
  done: number;
  total: number;
  rowsPerSecond: number;
  /** null until there is a speed to go by */
  etaSeconds: number | null;
}

export type ProgressListener = (progress: TransferProgress) => void;

/** Counts rows of one phase and hands the listener a rate and an ETA, at most every `everyMs`. */
export class ProgressMeter {
  private done = 0;
  private readonly started = performance.now();
  private last = 0;

  constructor(
    private readonly phase: TransferProgress["phase"],
    private readonly total: number,
    private readonly listener: ProgressListener | undefined,
    private readonly everyMs = 250,
  ) {}

  add(table: string, rows: number, force = false): void {
    this.done += rows;
    if (!this.listener) return;
    const now = performance.now();
    if (!force && now - this.last < this.everyMs) return;
    this.last = now;
    const seconds = (now - this.started) / 1000;
    const rowsPerSecond = seconds > 0 ? this.done / seconds : 0;
    const etaSeconds = rowsPerSecond > 0 ? Math.max(0, (this.total - this.done) / rowsPerSecond) : null;
    this.listener({ phase: this.phase, table, done: this.done, total: this.total, rowsPerSecond, etaSeconds });
  }
}
