import { css } from 'lit';
import { videoStyles } from '../video.styles.js';

export const styles = [
  videoStyles,
  css`
  :host {
    display: block;
    position: relative;
    --wd-video-background: #000;
    --wd-video-radius: 8px;
    --wd-video-fit: cover;
    --wd-control-background: rgb(0 0 0 / 60%);
    --wd-control-color: #fff;
    --wd-control-active-background: #c62828;
  }
  :host([hidden]) {
    display: none;
  }
  video {
    transform: var(--wd-local-transform, scaleX(-1));
  }
  :host([screen-sharing]) video {
    transform: none;
  }
  .controls {
    position: absolute;
    inset: auto 0 8px 0;
    display: flex;
    flex-wrap: wrap;
    justify-content: center;
    gap: 6px;
    padding: 0 6px;
  }
  button,
  select {
    font: 12px/1.2 system-ui, sans-serif;
    padding: 4px 8px;
    border: 0;
    border-radius: 12px;
    color: var(--wd-control-color);
    background: var(--wd-control-background);
    cursor: pointer;
    max-width: 10em;
  }
  button[aria-pressed='true'] {
    background: var(--wd-control-active-background);
  }
  .state {
    position: absolute;
    inset: 50% 8px auto;
    transform: translateY(-50%);
    margin: 0;
    text-align: center;
    font: 14px/1.4 system-ui, sans-serif;
    color: var(--wd-control-color);
  }
  .level {
    position: absolute;
    inset: 8px 8px auto;
    height: 4px;
    border-radius: 2px;
    background: var(--wd-control-background);
    overflow: hidden;
  }
  .level i {
    display: block;
    height: 100%;
    width: var(--level, 0%);
    background: var(--wd-level-color, #4caf50);
    transition: width 0.1s;
  }
  button:focus-visible,
  select:focus-visible {
    outline: 2px solid var(--wd-control-color);
    outline-offset: 1px;
  }
`,
];
