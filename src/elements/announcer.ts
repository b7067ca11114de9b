import { css, html, type ReactiveControllerHost } from 'lit';
import { repeat } from 'lit/directives/repeat.js';

/** Out of sight, still read by screen readers. */
export const visuallyHidden = css`
  .visually-hidden {
    position: absolute;
    width: 1px;
    height: 1px;
    margin: -1px;
    padding: 0;
    border: 0;
    overflow: hidden;
    clip-path: inset(50%);
    white-space: nowrap;
  }
`;

/**
 * A polite live region for an element's shadow root: `announce(text)` adds a line, which screen
 * readers read out. The last few lines stay, each its own node, so two announcements in a row
 * (two people joining) are both read, and the same text twice is read twice.
 */
export class Announcer {
  private lines: Array<{ id: number; text: string }> = [];
  private next = 0;

  constructor(private readonly host: ReactiveControllerHost) {}

  announce(text: string): void {
    this.lines = [...this.lines.slice(-2), { id: this.next++, text }];
    this.host.requestUpdate();
  }

  /** The region itself: render it always, so it exists before anything is said into it. */
  render() {
    return html`<div class="visually-hidden" role="status" aria-live="polite">
      ${repeat(
        this.lines,
        (line) => line.id,
        (line) => html`<div>${line.text}</div>`,
      )}
    </div>`;
  }
}
