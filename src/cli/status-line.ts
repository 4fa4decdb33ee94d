/**
 * One line of status redrawn in place on a terminal. Cut to the terminal's width: a line that
 * wrapped could no longer be erased with a carriage return.
 */
export class StatusLine {
  private drawn = false;

  constructor(private readonly stream: NodeJS.WriteStream) {}

  show(text: string): void {
    const width = this.stream.columns ?? 100;
    this.stream.write(`\r\x1b[2K${text.slice(0, Math.max(20, width - 1))}`);
    this.drawn = true;
  }

  /** Leaves the current line on screen and moves below it. */
  keep(): void {
    if (this.drawn) this.stream.write('\n');
    this.drawn = false;
  }

  /** Erases the current line. */
  clear(): void {
    if (this.drawn) this.stream.write('\r\x1b[2K');
    this.drawn = false;
  }
}
