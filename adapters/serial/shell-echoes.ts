// Lines we wrote come back when the device's shell echoes input; such echoes are not telemetry. Zephyr's shell
// wraps its echo at the terminal width (CONFIG_SHELL_DEFAULT_TERMINAL_WIDTH, 80 columns, prompt included) with a
// newline, so a long `/set` line comes back as several lines: the prompt and the line's start, then the rest in
// pieces.
const WINDOW_MS = 2000;
const MAX_PENDING = 8;
/** A wrapped echo's first piece is at least this long: a shorter line is more likely the device's own output. */
const MIN_FIRST_PIECE = 16;

interface Echo {
  text: string;
  until: number;
  /** What is still to come of a wrapped echo, once its first piece was seen. */
  rest?: string;
}

export class ShellEchoes {
  #echoes: Echo[] = [];

  /** `text` was just written to the device (without its newline). */
  expect(text: string, now: number): void {
    this.#echoes.push({ text, until: now + WINDOW_MS });
    if (this.#echoes.length > MAX_PENDING) this.#echoes.shift();
  }

  get pending(): boolean {
    return this.#echoes.length > 0;
  }

  /** True when `line` is (the tail of) a line we wrote moments ago, or a piece of its wrapped echo. */
  isEcho(line: string, now: number): boolean {
    if (this.#echoes.length === 0) return false;
    this.#echoes = this.#echoes.filter((e) => e.until > now);
    const whole = this.#echoes.findIndex(
      (e) => e.rest === undefined && (line === e.text || line.endsWith(` ${e.text}`) || line.endsWith(`$ ${e.text}`)),
    );
    if (whole >= 0) {
      this.#echoes.splice(whole, 1);
      return true;
    }
    return this.#continued(line) || this.#wrapStart(line);
  }

  /** The next piece of a wrapped echo. */
  #continued(line: string): boolean {
    const i = this.#echoes.findIndex((e) => e.rest !== undefined && line.length > 0 && e.rest.startsWith(line));
    const echo = this.#echoes[i];
    if (!echo?.rest) return false;
    echo.rest = echo.rest.slice(line.length);
    if (echo.rest.length === 0) this.#echoes.splice(i, 1);
    return true;
  }

  /** The first piece of a wrapped echo: the prompt (if any), then the start of a line we wrote. */
  #wrapStart(line: string): boolean {
    for (const echo of this.#echoes) {
      if (echo.rest !== undefined) continue;
      for (let at = 0; at >= 0 && line.length - at >= MIN_FIRST_PIECE; at = line.indexOf(' ', at) + 1 || -1) {
        const piece = line.slice(at);
        if (piece.length < echo.text.length && echo.text.startsWith(piece)) {
          echo.rest = echo.text.slice(piece.length);
          return true;
        }
      }
    }
    return false;
  }
}
